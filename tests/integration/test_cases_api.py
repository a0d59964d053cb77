"""The cases and queues API: French errors naming the field, refusals audited, a case's life."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from recouvrement.adapters.api import create_app
from recouvrement.adapters.db.tables import audit_event
from recouvrement.services import authentication

from .case_region import TEAM, Region
from .conftest import SYSTEM

ON = "2015-03-02"


@pytest.fixture
def api(engine):
    Region(engine).grant_case_work()
    client = TestClient(create_app(engine))
    tokens = {login: authentication.issue_token(engine, SYSTEM, login) for login, _, _ in TEAM}
    return client, tokens


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def open_complaint(client, token):
    r = client.post(
        "/api/v1/cases",
        json={
            "case_type": "complaint",
            "payload": {"channel": "mail", "subject": "double prélèvement"},
            "on": ON,
        },
        headers=auth(token),
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_a_complaint_through_the_api(api):
    client, tokens = api
    case = open_complaint(client, tokens["ura.1"])
    assert case["time_left"] == 15 and case["actions"] == ["qualify", "withdraw"]
    token = tokens[case["assignee"]]
    url = f"/api/v1/cases/{case['id']}"
    r = client.post(
        f"{url}/transitions",
        json={"action": "qualify", "data": {"qualification": "prélèvement"}, "on": ON},
        headers=auth(token),
    )
    assert r.status_code == 200 and r.json()["state"] == "qualified"
    r = client.post(
        f"{url}/comments", json={"text": "appel au cotisant", "on": ON}, headers=auth(token)
    )
    assert r.status_code == 201
    r = client.post(
        f"{url}/attachments",
        params={"on": ON},
        files={"file": ("releve.pdf", b"%PDF-1.4 test", "application/pdf")},
        headers=auth(token),
    )
    assert r.status_code == 201 and r.json()["size"] == 13
    got = client.get(f"{url}/attachments/{r.json()['id']}", headers=auth(token))
    assert got.content == b"%PDF-1.4 test"
    r = client.post(
        f"{url}/assignment", json={"agent": "rsi.2", "on": ON}, headers=auth(tokens["resp.rsi"])
    )
    assert r.status_code == 200 and r.json()["assignee"] == "rsi.2"
    view = client.get(url, params={"on": "2015-03-05"}, headers=auth(tokens["rsi.2"])).json()
    assert view["time_left"] == 12 and len(view["comments"]) == 1
    assert [h["action"] for h in view["history"]] == ["open", "qualify", "assign"]


def test_unknown_transition_is_a_422_in_french_and_audited(api, engine):
    client, tokens = api
    case = open_complaint(client, tokens["ura.1"])
    r = client.post(
        f"/api/v1/cases/{case['id']}/transitions",
        json={"action": "teleport", "on": ON},
        headers=auth(tokens[case["assignee"]]),
    )
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert error["field"] == "action" and error["code"] == "unknown_transition"
    assert "transition inconnue" in error["reason"]
    with engine.connect() as conn:
        outcome = conn.scalar(
            select(audit_event.c.outcome).where(audit_event.c.action == "case.teleport")
        )
    assert outcome == "refused"


def test_an_agent_outside_the_agreement_gets_403(api):
    client, tokens = api
    case = open_complaint(client, tokens["ura.1"])
    r = client.post(
        f"/api/v1/cases/{case['id']}/transitions",
        json={"action": "qualify", "data": {"qualification": "x"}, "on": ON},
        headers=auth(tokens["agent.cssm"]),
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/cases",
        json={"case_type": "complaint", "payload": {"channel": "mail", "subject": "x"}, "on": ON},
        headers=auth(tokens["agent.cssm"]),
    )
    assert r.status_code == 403


def test_bad_input_names_the_field(api):
    client, tokens = api
    r = client.post(
        "/api/v1/cases",
        json={"case_type": "complaint", "payload": {"channel": "pigeon"}, "on": ON},
        headers=auth(tokens["ura.1"]),
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"payload.subject", "payload.channel"}
    huge = {"channel": "mail", "subject": "x" * 20_000}
    r = client.post(
        "/api/v1/cases",
        json={"case_type": "complaint", "payload": huge, "on": ON},
        headers=auth(tokens["ura.1"]),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "too_long"
    r = client.post(
        "/api/v1/cases",
        json={"case_type": "x" * 500, "payload": {}, "on": ON},
        headers=auth(tokens["ura.1"]),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "case_type"


def test_list_report_and_breaches(api):
    client, tokens = api
    for _ in range(4):
        open_complaint(client, tokens["ura.1"])
    headers = auth(tokens["resp.urssaf"])
    page = client.get(
        "/api/v1/cases", params={"on": ON, "limit": 3, "case_type": "complaint"}, headers=headers
    ).json()
    assert page["total"] == 4 and len(page["items"]) == 3 and page["next"]
    report = client.get("/api/v1/queues/report", params={"on": ON}, headers=headers).json()
    [queue] = report["queues"]
    assert {o["organisation"]: o["open"] for o in queue["organisations"]} == {
        "RSI-RA": 2,
        "URSSAF-RA": 2,
    }
    later = client.get(
        "/api/v1/cases", params={"on": "2015-03-24", "overdue": "true"}, headers=headers
    ).json()
    assert later["total"] == 4 and later["items"][0]["time_left"] == -1
    breaches = client.get(
        "/api/v1/queues/breaches", params={"on": "2015-03-24"}, headers=headers
    ).json()
    assert breaches["total"] == 0  # the daily check has not run yet


def test_absences_through_the_api(api):
    client, tokens = api
    body = {"agent": "ura.1", "starts_on": ON, "ends_on": "2015-03-03"}
    r = client.post("/api/v1/queues/absences", json=body, headers=auth(tokens["resp.urssaf"]))
    assert r.status_code == 201
    r = client.post("/api/v1/queues/absences", json=body, headers=auth(tokens["ura.2"]))
    assert r.status_code == 403
