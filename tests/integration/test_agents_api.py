"""Agents, authorizations and trainings over the API, and the activity check other services use."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from recouvrement.adapters.api import create_app
from recouvrement.adapters.db.tables import audit_event, authorization, training
from recouvrement.domain.actors import Actor
from recouvrement.domain.errors import DomainError, Forbidden
from recouvrement.services import authentication, organisations
from recouvrement.services import authorizations as rights

from .conftest import SYSTEM

DAY = date(2015, 6, 1)
PEOPLE = (
    ("admin", "URSSAF-REG", ["administrator"]),
    ("chef.urssaf", "URSSAF-REG", ["manager"]),
    ("chef.rsi", "RSI-REG", ["manager"]),
    ("dir.urssaf", "URSSAF-REG", ["director"]),
    ("auditeur", "URSSAF-REG", ["auditor"]),
)


@pytest.fixture
def api(world):
    for login, org, roles in PEOPLE:
        authentication.create_agent(world.engine, SYSTEM, login, login, org, roles)
    logins = [p[0] for p in PEOPLE] + ["agent.urssaf", "agent.rsi", "agent.cssm", "agent.autre"]
    tokens = {lo: authentication.issue_token(world.engine, SYSTEM, lo) for lo in logins}
    return TestClient(create_app(world.engine)), tokens


def h(tokens, login):
    return {"Authorization": f"Bearer {tokens[login]}"}


def count(engine, table, *where):
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table).where(*where))


def refused(engine):
    return count(engine, audit_event, audit_event.c.outcome == "refused")


def actor(engine, login) -> Actor:
    return authentication.actor_for_login(engine, login)


# --- agents --------------------------------------------------------------------------------


def test_the_administrator_creates_an_agent(api, world):
    client, tokens = api
    body = {"login": "n.ali", "name": "N. Ali", "organisation": "RSI-REG", "roles": ["agent"]}
    r = client.post("/api/v1/agents", json=body, headers=h(tokens, "admin"))
    assert r.status_code == 201, r.text
    assert r.json() | {"id": 0} == {
        "id": 0,
        "login": "n.ali",
        "name": "N. Ali",
        "organisation": "RSI-REG",
        "roles": ["agent"],
        "contributor_id": None,
        "active": True,
        "has_password": False,
    }
    assert count(world.engine, audit_event, audit_event.c.action == "agent.create") == 1 + 4 + len(
        PEOPLE
    )


def test_a_manager_cannot_create_agents_and_the_attempt_is_audited(api, world):
    client, tokens = api
    body = {"login": "n.ali", "name": "N. Ali", "organisation": "URSSAF-REG", "roles": ["manager"]}
    r = client.post("/api/v1/agents", json=body, headers=h(tokens, "chef.urssaf"))
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "forbidden"
    assert refused(world.engine) == 1


def test_an_unknown_role_is_named(api):
    client, tokens = api
    body = {"login": "n.ali", "name": "N. Ali", "organisation": "URSSAF-REG", "roles": ["boss"]}
    r = client.post("/api/v1/agents", json=body, headers=h(tokens, "admin"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "roles"


def test_managers_see_the_agents_of_the_organisations_they_reach(api):
    client, tokens = api
    r = client.get("/api/v1/agents", headers=h(tokens, "chef.rsi"))
    logins = {a["login"] for a in r.json()}
    assert {"agent.urssaf", "agent.rsi", "chef.urssaf"} <= logins
    assert "agent.cssm" not in logins and "agent.autre" not in logins
    everyone = client.get("/api/v1/agents", headers=h(tokens, "admin")).json()
    assert len(everyone) == 4 + len(PEOPLE)
    assert client.get("/api/v1/agents", headers=h(tokens, "agent.urssaf")).status_code == 403


def test_an_agent_reads_their_own_record_but_not_a_colleagues(api):
    client, tokens = api
    assert (
        client.get("/api/v1/agents/agent.cssm", headers=h(tokens, "agent.cssm")).status_code == 200
    )
    r = client.get("/api/v1/agents/agent.urssaf", headers=h(tokens, "agent.cssm"))
    assert r.status_code == 403
    r = client.get("/api/v1/agents/personne", headers=h(tokens, "admin"))
    assert r.status_code == 404


# --- authorizations ------------------------------------------------------------------------


def grant_body(**over):
    return {"activity": "phone_reminders", "valid_from": "2015-01-01"} | over


def test_the_hierarchy_grants_lists_and_revokes_with_audit(api, world):
    client, tokens = api
    r = client.post(
        "/api/v1/agents/agent.urssaf/authorizations",
        json=grant_body(training="isu-1", valid_to="2015-12-31"),
        headers=h(tokens, "chef.urssaf"),
    )
    assert r.status_code == 201, r.text
    grant = r.json()
    assert grant["granted_by"] == "chef.urssaf" and grant["training"] == "isu-1"
    listed = client.get(
        "/api/v1/agents/agent.urssaf/authorizations", headers=h(tokens, "agent.urssaf")
    ).json()
    assert [g["id"] for g in listed] == [grant["id"]]
    r = client.delete(f"/api/v1/authorizations/{grant['id']}", headers=h(tokens, "dir.urssaf"))
    assert r.status_code == 200 and r.json()["revoked"] is True
    assert (
        client.get(
            "/api/v1/agents/agent.urssaf/authorizations", headers=h(tokens, "agent.urssaf")
        ).json()
        == []
    )
    history = client.get(
        "/api/v1/agents/agent.urssaf/authorizations?include_revoked=true",
        headers=h(tokens, "auditeur"),
    ).json()
    assert [g["revoked_by"] for g in history] == ["dir.urssaf"]
    actions = [
        e["action"]
        for e in client.get(
            "/api/v1/audit/events?object_id=agent.urssaf", headers=h(tokens, "auditeur")
        ).json()
    ]
    assert actions[:2] == ["authorization.revoke", "authorization.grant"]
    r = client.delete(f"/api/v1/authorizations/{grant['id']}", headers=h(tokens, "dir.urssaf"))
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "already_revoked"


def test_a_manager_of_the_partner_organisation_cannot_grant(api, world):
    client, tokens = api
    r = client.post(
        "/api/v1/agents/agent.urssaf/authorizations",
        json=grant_body(),
        headers=h(tokens, "chef.rsi"),
    )
    assert r.status_code == 403
    assert count(world.engine, authorization) == 0
    assert refused(world.engine) == 1


def test_nobody_grants_themselves_a_right(api, world):
    client, tokens = api
    r = client.post(
        "/api/v1/agents/chef.urssaf/authorizations",
        json=grant_body(),
        headers=h(tokens, "chef.urssaf"),
    )
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "self_approval"
    assert count(world.engine, authorization) == 0
    assert refused(world.engine) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (grant_body(valid_to="2014-01-01"), "valid_to"),
        (grant_body(activity="relances téléphoniques"), "activity"),
        (grant_body(valid_from="2015-02-30"), "valid_from"),
        ({"valid_from": "2015-01-01"}, "activity"),
    ],
)
def test_bad_grants_name_the_field_and_change_nothing(api, world, body, field):
    client, tokens = api
    r = client.post(
        "/api/v1/agents/agent.urssaf/authorizations", json=body, headers=h(tokens, "chef.urssaf")
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == field
    assert count(world.engine, authorization) == 0


def test_granting_to_an_unknown_agent_is_404(api):
    client, tokens = api
    r = client.post(
        "/api/v1/agents/personne/authorizations", json=grant_body(), headers=h(tokens, "admin")
    )
    assert r.status_code == 404


# --- trainings -----------------------------------------------------------------------------


def test_trainings_are_recorded_by_the_hierarchy_and_listed(api, world):
    client, tokens = api
    body = {"training": "isu-1", "completed_on": "2014-12-01", "expires_on": "2016-12-01"}
    r = client.post("/api/v1/agents/agent.rsi/trainings", json=body, headers=h(tokens, "chef.rsi"))
    assert r.status_code == 201, r.text
    again = client.post(
        "/api/v1/agents/agent.rsi/trainings", json=body, headers=h(tokens, "chef.rsi")
    )
    assert again.status_code == 422 and again.json()["errors"][0]["code"] == "duplicate"
    own = client.post(
        "/api/v1/agents/agent.rsi/trainings", json=body, headers=h(tokens, "agent.rsi")
    )
    assert own.status_code == 403
    listed = client.get("/api/v1/agents/agent.rsi/trainings", headers=h(tokens, "agent.rsi"))
    assert [t["training"] for t in listed.json()] == ["isu-1"]
    assert count(world.engine, training) == 1


# --- the activity check --------------------------------------------------------------------


def _grant(engine, login, **kw):
    args = {"activity": "phone_reminders", "valid_from": date(2015, 1, 1)} | kw
    return rights.grant(
        engine,
        SYSTEM,
        login,
        args["activity"],
        args["valid_from"],
        args.get("valid_to"),
        args.get("training"),
    )


def _refusal_codes(engine):
    with engine.connect() as conn:
        return [
            d["reason"].split(" : ")[0]
            for d in conn.execute(
                select(audit_event.c.detail).where(
                    audit_event.c.action == "activity.check", audit_event.c.outcome == "refused"
                )
            ).scalars()
        ]


def test_check_activity_allows_within_the_grant_and_refuses_outside(world):
    engine = world.engine
    _grant(engine, "agent.urssaf", valid_to=date(2015, 12, 31))
    urssaf = world.urssaf_agent
    assert rights.check_activity(engine, urssaf, "phone_reminders", DAY).allowed
    with pytest.raises(Forbidden) as exc:
        rights.check_activity(engine, urssaf, "phone_reminders", date(2016, 1, 1))
    assert exc.value.problems[0].code == "authorization_expired"
    with pytest.raises(Forbidden) as exc:
        rights.check_activity(engine, urssaf, "complaints", DAY)
    assert exc.value.problems[0].code == "no_authorization"
    assert _refusal_codes(engine) == ["authorization_expired", "no_authorization"]


def test_an_expired_training_refuses_the_activity(world):
    engine = world.engine
    _grant(engine, "agent.urssaf", training="isu-1")
    with pytest.raises(Forbidden) as exc:
        rights.check_activity(engine, world.urssaf_agent, "phone_reminders", DAY)
    assert exc.value.problems[0].code == "training_missing"
    rights.record_training(
        engine, SYSTEM, "agent.urssaf", "isu-1", date(2014, 1, 1), date(2015, 5, 31)
    )
    with pytest.raises(Forbidden) as exc:
        rights.check_activity(engine, world.urssaf_agent, "phone_reminders", DAY)
    assert exc.value.problems[0].code == "training_expired"
    rights.record_training(engine, SYSTEM, "agent.urssaf", "isu-1", date(2015, 5, 31))
    assert rights.check_activity(engine, world.urssaf_agent, "phone_reminders", DAY).allowed


def test_a_revoked_grant_stops_counting(world):
    engine = world.engine
    g = _grant(engine, "agent.urssaf")
    rights.revoke(engine, SYSTEM, g["id"])
    with pytest.raises(Forbidden):
        rights.check_activity(engine, world.urssaf_agent, "phone_reminders", DAY)


def test_reciprocal_access_reaches_the_partner_not_others(world):
    engine = world.engine
    with engine.connect() as conn:
        rsi = organisations.organisation_id(conn, "RSI-REG")
        cssm = organisations.organisation_id(conn, "CSSM")
    _grant(engine, "agent.urssaf")
    assert rights.check_activity(
        engine, world.urssaf_agent, "phone_reminders", DAY, owner_organisation_id=rsi
    ).allowed
    with pytest.raises(Forbidden) as exc:
        rights.check_activity(
            engine, world.urssaf_agent, "phone_reminders", DAY, owner_organisation_id=cssm
        )
    assert exc.value.problems[0].code == "not_reachable"


def test_contributors_and_the_system(world):
    assert rights.check_activity(world.engine, SYSTEM, "phone_reminders", DAY).allowed
    contributor = Actor("c", None, None, frozenset({"contributor"}), contributor_id=1)
    with pytest.raises(Forbidden):
        rights.check_activity(world.engine, contributor, "phone_reminders", DAY)


@pytest.fixture
def isu(engine):
    """The organisations of the shipped regional ISU agreement, with one agent of each."""
    for code, kind in (("URSSAF-RA", "collector"), ("RSI-RA", "self_employed_fund")):
        organisations.create_organisation(engine, SYSTEM, code, code, kind, "69")
    organisations.create_organisation(engine, SYSTEM, "CSSM", "CSSM", "collector", "976")
    organisations.link_partners(engine, SYSTEM, "URSSAF-RA", "RSI-RA")
    for login, org, roles in (
        ("u", "URSSAF-RA", ["joint_unit_agent"]),
        ("r", "RSI-RA", ["joint_unit_agent"]),
        ("ac", "URSSAF-RA", ["accounting_officer"]),
        ("m", "CSSM", ["agent"]),
    ):
        authentication.create_agent(engine, SYSTEM, login, login, org, roles)
    with engine.connect() as conn:
        ids = {c: organisations.organisation_id(conn, c) for c in ("URSSAF-RA", "RSI-RA")}
    return engine, ids


def test_the_agreement_requires_training_for_operations_for_the_other_party(isu):
    engine, ids = isu
    _grant(engine, "u", activity="phone_reminders")
    u = actor(engine, "u")
    kw = {"agreement": "isu-region"}
    # On its own organisation's files, the grant suffices.
    assert rights.check_activity(
        engine, u, "phone_reminders", DAY, owner_organisation_id=ids["URSSAF-RA"], **kw
    ).allowed
    # For the partner (art. 3), the steering committee's training is required.
    with pytest.raises(Forbidden) as exc:
        rights.check_activity(
            engine, u, "phone_reminders", DAY, owner_organisation_id=ids["RSI-RA"], **kw
        )
    assert exc.value.problems[0].code == "training_missing"
    _grant(engine, "u", activity="phone_reminders", training="isu-materiel")
    rights.record_training(engine, SYSTEM, "u", "isu-materiel", date(2015, 1, 10))
    assert rights.check_activity(
        engine, u, "phone_reminders", DAY, owner_organisation_id=ids["RSI-RA"], **kw
    ).allowed


def test_the_agreement_says_who_runs_what(isu):
    engine, _ids = isu
    for login in ("u", "r", "ac", "m"):
        _grant(engine, login, activity="refund_disbursement")
        _grant(engine, login, activity="phone_reminders")
    kw = {"agreement": "isu-region"}
    assert rights.check_activity(engine, actor(engine, "ac"), "refund_disbursement", DAY, **kw)
    for login, code in (("u", "wrong_role"), ("r", "not_party")):
        with pytest.raises(Forbidden) as exc:
            rights.check_activity(engine, actor(engine, login), "refund_disbursement", DAY, **kw)
        assert exc.value.problems[0].code == code
    with pytest.raises(Forbidden) as exc:
        rights.check_activity(engine, actor(engine, "m"), "phone_reminders", DAY, **kw)
    assert exc.value.problems[0].code == "not_party"
    with pytest.raises(DomainError) as exc:
        rights.check_activity(engine, actor(engine, "u"), "gardening", DAY, **kw)
    assert exc.value.problems[0].code == "unknown_activity"
    with pytest.raises(DomainError) as exc:
        rights.check_activity(engine, actor(engine, "u"), "phone_reminders", date(2019, 1, 1), **kw)
    assert exc.value.problems[0].code == "unknown_agreement"


# --- audit trail and agreements ------------------------------------------------------------


def test_the_audit_trail_is_for_auditors_and_directors_of_their_organisations(api, world):
    client, tokens = api
    client.get("/api/v1/agents", headers={"Authorization": "Bearer forged"})
    auditor = client.get("/api/v1/audit/events?limit=1000", headers=h(tokens, "auditeur")).json()
    director = client.get("/api/v1/audit/events?limit=1000", headers=h(tokens, "dir.urssaf")).json()
    assert any(e["actor"] == "anonyme" and e["outcome"] == "refused" for e in auditor)
    assert all(e["organisation_code"] in ("URSSAF-REG", "RSI-REG") for e in director)
    for login in ("agent.urssaf", "chef.urssaf", "admin"):
        assert client.get("/api/v1/audit/events", headers=h(tokens, login)).status_code == 403
    refusals = client.get(
        "/api/v1/audit/events?outcome=refused", headers=h(tokens, "auditeur")
    ).json()
    assert {e["action"] for e in refusals} >= {"api.authenticate", "GET /api/v1/audit/events"}


def test_agents_read_the_agreements_with_the_origin_of_each_setting(api):
    client, tokens = api
    listed = client.get("/api/v1/agreements", headers=h(tokens, "agent.cssm")).json()
    assert {a["code"] for a in listed} >= {"isu-region", "unedic-2010", "unedic-mayotte"}
    r = client.get("/api/v1/agreements/unedic-mayotte", headers=h(tokens, "agent.cssm"))
    assert r.status_code == 200
    body = r.json()
    assert body["chain"] == ["unedic-mayotte", "unedic-2010"]
    assert {s["origin"] for s in body["settings"].values()} <= {"unedic-mayotte", "unedic-2010"}
    isu = client.get(
        "/api/v1/agreements/isu-region?on=2016-01-01", headers=h(tokens, "agent.cssm")
    ).json()
    assert isu["settings"]["operations.training_required"]["value"] is True
    r = client.get("/api/v1/agreements/isu-region?on=2020-01-01", headers=h(tokens, "agent.cssm"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "on"
    assert client.get("/api/v1/agreements/none", headers=h(tokens, "agent.cssm")).status_code == 404
