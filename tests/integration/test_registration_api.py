"""The registration-flow API: upload, replay, report, rejects, and errors as JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from recouvrement.adapters.api import create_app
from recouvrement.adapters.db.tables import audit_event, registration_import
from recouvrement.services import authentication

from .conftest import SYSTEM

DATA = Path(__file__).parent.parent / "data" / "registration"
URL = "/api/v1/registration/imports"


@pytest.fixture
def api(world):
    client = TestClient(create_app(world.engine))
    tokens = {
        login: authentication.issue_token(world.engine, SYSTEM, login)
        for login in ("agent.urssaf", "agent.rsi", "agent.cssm", "agent.autre")
    }
    return client, tokens


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def upload(client, token, name, content, **form):
    return client.post(URL, files={"file": (name, content)}, data=form, headers=auth(token))


def imports(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(registration_import))


def test_upload_gives_the_report_and_a_replay_gives_it_back(api, world):
    client, tokens = api
    content = (DATA / "mixed.csv").read_bytes()
    r = upload(client, tokens["agent.urssaf"], "mixed.csv", content)
    assert r.status_code == 201, r.text
    report = r.json()
    assert (report["applied"], report["rejected"], report["replay"]) == (3, 9, False)
    reject = next(x for x in report["rejects"] if x["line"] == 4)
    assert reject["field"] == "nir" and "clé de contrôle" in reject["reason"]
    assert reject["record_id"] == "A-003"
    again = upload(client, tokens["agent.rsi"], "encore.csv", content)
    assert again.status_code == 200
    assert again.json()["replay"] is True and again.json()["id"] == report["id"]
    assert imports(world.engine) == 1


def test_the_report_and_the_rejects_can_be_read_back(api):
    client, tokens = api
    report = upload(
        client, tokens["agent.urssaf"], "mixed.jsonl", (DATA / "mixed.jsonl").read_bytes()
    ).json()
    got = client.get(f"{URL}/{report['id']}", headers=auth(tokens["agent.rsi"]))
    assert got.status_code == 200 and got.json()["rejects"] == report["rejects"]
    page = client.get(
        "/api/v1/registration/rejects?limit=2", headers=auth(tokens["agent.rsi"])
    ).json()
    assert page["total"] == 6 and len(page["items"]) == 2 and page["next"]
    rest = client.get(
        f"/api/v1/registration/rejects?limit=10&after={page['next']}",
        headers=auth(tokens["agent.rsi"]),
    ).json()
    assert len(rest["items"]) == 4 and rest["next"] is None
    assert rest["items"][0]["file_name"] == "mixed.jsonl"
    outsider = auth(tokens["agent.autre"])
    assert client.get(f"{URL}/{report['id']}", headers=outsider).status_code == 404
    assert client.get("/api/v1/registration/rejects", headers=outsider).json()["total"] == 0
    assert client.get(f"{URL}/999", headers=auth(tokens["agent.rsi"])).status_code == 404


@pytest.mark.parametrize(
    "name, content, form, field, code",
    [
        ("vide.csv", b"", {}, "file", "empty_file"),
        ("latin1.csv", "record_id;action;effective_date;kind;name\nR;change;;;Léa\n".encode("latin-1"), {}, "file", "bad_encoding"),
        ("f.csv", b"record_id;action\nR;change\n", {}, "file", "bad_header"),
        ("f.csv", b"record_id;action;effective_date;kind\nR;change;;\n", {"format": "xml"}, "format", "unknown_format"),
        ("f.csv", b"record_id;action;effective_date;kind\nR;change;;\n", {"encoding": "x-y"}, "encoding", "unknown_encoding"),
    ],
)  # fmt: skip
def test_a_refused_file_is_a_json_error_naming_the_problem(
    api, world, name, content, form, field, code
):
    client, tokens = api
    r = upload(client, tokens["agent.urssaf"], name, content, **form)
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert (error["field"], error["code"]) == (field, code) and error["reason"]
    assert imports(world.engine) == 0


def test_the_encoding_may_be_given_with_the_upload(api):
    client, tokens = api
    content = (
        "record_id;action;effective_date;kind;organisation;name;territory;nir;activity;activity_start\n"
        "R-1;affiliation;2026-01-05;self_employed;URSSAF-REG;Léa Moreau;69;275011305507780;trade;2018-09-01\n"
    ).encode("cp1252")
    r = upload(client, tokens["agent.urssaf"], "r.csv", content, encoding="cp1252", format="csv")
    assert r.status_code == 201 and r.json()["applied"] == 1


def test_a_missing_file_field_names_the_field(api):
    client, tokens = api
    r = client.post(URL, data={"format": "csv"}, headers=auth(tokens["agent.urssaf"]))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "file"


def test_without_token_or_right_the_upload_is_refused_and_audited(api, world):
    client, tokens = api
    content = (DATA / "mixed.csv").read_bytes()
    assert client.post(URL, files={"file": ("m.csv", content)}).status_code == 401
    mine = upload(client, tokens["agent.urssaf"], "mixed.csv", content).json()
    assert mine["applied"] == 3
    authentication.create_agent(
        world.engine, SYSTEM, "cotisant.1", "Jeanne Martin", "URSSAF-REG", ["contributor"], 1
    )
    token = authentication.issue_token(world.engine, SYSTEM, "cotisant.1")
    r = upload(client, token, "autre.csv", content + b"\n")
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "forbidden"
    assert client.get("/api/v1/registration/rejects", headers=auth(token)).status_code == 403
    with world.engine.connect() as conn:
        refused = conn.scalar(
            select(func.count()).select_from(audit_event).where(audit_event.c.outcome == "refused")
        )
    assert refused == 3
    assert imports(world.engine) == 1
