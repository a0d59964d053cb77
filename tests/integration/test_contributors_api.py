"""The contributors API: authentication, the reach of each actor, errors as JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from recouvrement.adapters.api import create_app
from recouvrement.adapters.db.tables import audit_event, contributor
from recouvrement.services import authentication

from .conftest import SYSTEM

CRAFTSMAN = {
    "kind": "self_employed",
    "name": "Jeanne Martin",
    "organisation": "URSSAF-REG",
    "territory": "69",
    "nir": "180017512345660",
    "activity": "craft",
    "activity_start": "2015-03-01",
}
EMPLOYER = {
    "kind": "employer",
    "name": "Boulangerie de Mamoudzou",
    "organisation": "CSSM",
    "territory": "976",
    "siren": "732829320",
    "establishments": [{"siret": "73282932000074", "territory": "976"}],
}


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


def refusals(engine):
    with engine.connect() as conn:
        return conn.scalar(
            select(func.count()).select_from(audit_event).where(audit_event.c.outcome == "refused")
        )


def test_health_needs_no_token(api):
    client, _ = api
    assert client.get("/health").json()["status"] == "ok"


@pytest.mark.parametrize("header", [None, "Bearer forged-token", "Basic abc"])
def test_missing_or_forged_tokens_are_refused_and_audited(api, world, header):
    client, _ = api
    headers = {"Authorization": header} if header else {}
    r = client.get("/api/v1/contributors", headers=headers)
    assert r.status_code in (401, 403)
    assert r.json()["errors"][0]["field"] == "authorization" or r.status_code == 403
    assert refusals(world.engine) == 1


def test_expired_token_is_refused(api, world):
    client, _ = api
    old = authentication.issue_token(
        world.engine, SYSTEM, "agent.urssaf", now=datetime.now(UTC) - timedelta(days=100), days=30
    )
    r = client.get("/api/v1/contributors", headers=auth(old))
    assert r.status_code == 401
    assert "expiré" in r.json()["errors"][0]["reason"]


def test_create_list_and_get(api):
    client, tokens = api
    r = client.post("/api/v1/contributors", json=CRAFTSMAN, headers=auth(tokens["agent.urssaf"]))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["account"]["id"]
    r = client.post("/api/v1/contributors", json=EMPLOYER, headers=auth(tokens["agent.cssm"]))
    assert r.status_code == 201, r.text
    page = client.get("/api/v1/contributors?limit=1", headers=auth(tokens["agent.rsi"])).json()
    assert set(page) == {"items", "total", "next"}
    assert page["total"] == 1 and page["items"][0]["id"] == cid and page["next"] is None
    assert (
        client.get(f"/api/v1/contributors/{cid}", headers=auth(tokens["agent.rsi"])).json()["nir"]
        == CRAFTSMAN["nir"]
    )


def test_invalid_input_is_a_json_error_naming_the_field_and_changes_nothing(api, world):
    client, tokens = api
    bad = {**CRAFTSMAN, "nir": "180017512345661", "territory": "977"}
    r = client.post("/api/v1/contributors", json=bad, headers=auth(tokens["agent.urssaf"]))
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"nir", "territory"} <= fields
    r = client.post(
        "/api/v1/contributors",
        json={**CRAFTSMAN, "kind": "robot"},
        headers=auth(tokens["agent.urssaf"]),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"
    with world.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(contributor)) == 0


def test_an_outsider_cannot_read_nor_register_for_another_organisation(api, world):
    client, tokens = api
    cid = client.post(
        "/api/v1/contributors", json=CRAFTSMAN, headers=auth(tokens["agent.urssaf"])
    ).json()["id"]
    r = client.get(f"/api/v1/contributors/{cid}", headers=auth(tokens["agent.autre"]))
    assert r.status_code == 403
    assert refusals(world.engine) == 1
    r = client.post(
        "/api/v1/contributors",
        json={**CRAFTSMAN, "nir": "280017512345610"},
        headers=auth(tokens["agent.autre"]),
    )
    assert r.status_code in (403, 422)


def test_a_contributor_sees_only_their_own_account(api, world):
    client, tokens = api
    mine = client.post(
        "/api/v1/contributors", json=CRAFTSMAN, headers=auth(tokens["agent.urssaf"])
    ).json()["id"]
    other = client.post(
        "/api/v1/contributors",
        json={**CRAFTSMAN, "nir": "280017512345610", "name": "Paul Durand"},
        headers=auth(tokens["agent.urssaf"]),
    ).json()["id"]
    authentication.create_agent(
        world.engine, SYSTEM, "cotisant.1", "Jeanne Martin", "URSSAF-REG", ["contributor"], mine
    )
    token = authentication.issue_token(world.engine, SYSTEM, "cotisant.1")
    assert client.get(f"/api/v1/contributors/{mine}", headers=auth(token)).status_code == 200
    assert client.get(f"/api/v1/contributors/{other}", headers=auth(token)).status_code == 403
    listing = client.get("/api/v1/contributors", headers=auth(token)).json()
    assert [c["id"] for c in listing["items"]] == [mine]
    r = client.post("/api/v1/contributors", json=EMPLOYER, headers=auth(token))
    assert r.status_code == 403


def test_validation_errors_speak_french(api):
    client, tokens = api
    r = client.post(
        "/api/v1/contributors",
        json={"kind": "robot", "activity_start": "hier"},
        headers=auth(tokens["agent.urssaf"]),
    )
    assert r.status_code == 422
    reasons = {e["field"]: e["reason"] for e in r.json()["errors"]}
    assert reasons["name"] == "champ obligatoire"
    assert reasons["kind"].startswith("valeur non admise")
    assert reasons["activity_start"].startswith("date invalide")
    r = client.get("/api/v1/contributors?limit=0", headers=auth(tokens["agent.urssaf"]))
    assert r.json()["errors"][0]["reason"] == "valeur trop petite (minimum 1)"
