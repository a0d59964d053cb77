"""Web sessions: argon2 passwords, cookies, expiry, logout; the same Actor as with a token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from recouvrement.adapters.api import create_app
from recouvrement.adapters.db.tables import agent, audit_event, web_session
from recouvrement.domain.errors import DomainError, Forbidden
from recouvrement.services import authentication, sessions

from .conftest import SYSTEM

PASSWORD = "correct horse battery staple"


@pytest.fixture
def with_password(world):
    sessions.set_password(world.engine, SYSTEM, "agent.urssaf", PASSWORD)
    return world


def _events(engine, action):
    with engine.connect() as conn:
        return conn.execute(
            select(audit_event.c.outcome, audit_event.c.object_id, audit_event.c.detail)
            .where(audit_event.c.action == action)
            .order_by(audit_event.c.id)
        ).all()


def test_the_password_is_stored_as_an_argon2_hash(with_password):
    with with_password.engine.connect() as conn:
        stored = conn.scalar(select(agent.c.password_hash).where(agent.c.login == "agent.urssaf"))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


@pytest.mark.parametrize(
    ("password", "code"), [("court", "password_too_short"), ("xxagent.urssafxx", "weak_password")]
)
def test_weak_passwords_are_refused(world, password, code):
    with pytest.raises(DomainError) as exc:
        sessions.set_password(world.engine, SYSTEM, "agent.urssaf", password)
    assert code in [p.code for p in exc.value.problems]


def test_an_agent_cannot_set_someone_elses_password(world):
    with pytest.raises(Forbidden):
        sessions.set_password(world.engine, world.rsi_agent, "agent.urssaf", PASSWORD)
    with world.engine.connect() as conn:
        assert (
            conn.scalar(select(agent.c.password_hash).where(agent.c.login == "agent.urssaf"))
            is None
        )


def test_a_session_gives_the_same_actor_as_a_token(with_password):
    engine = with_password.engine
    value, expires = sessions.login(engine, "agent.urssaf", PASSWORD, "10.0.0.1")
    token = authentication.issue_token(engine, SYSTEM, "agent.urssaf")
    assert sessions.actor_for_session(engine, value) == authentication.actor_for_token(
        engine, token
    )
    assert expires - datetime.now(UTC) <= timedelta(hours=sessions.SESSION_HOURS)
    with engine.connect() as conn:
        stored = conn.execute(select(web_session)).one()
    assert stored.id_sha256 != value and len(stored.id_sha256) == 64
    assert stored.ip == "10.0.0.1"
    assert [e.outcome for e in _events(engine, "session.login")] == ["done"]


@pytest.mark.parametrize(
    ("login", "password"),
    [("agent.urssaf", "wrong password!!"), ("nobody", PASSWORD), ("agent.rsi", PASSWORD)],
)
def test_refused_logins_say_the_same_thing_and_are_audited(with_password, login, password):
    engine = with_password.engine
    with pytest.raises(Forbidden) as exc:
        sessions.login(engine, login, password)
    problem = exc.value.problems[0]
    assert (problem.code, problem.reason) == (
        "unauthenticated",
        "identifiant ou mot de passe incorrect",
    )
    events = _events(engine, "session.login")
    assert [(e.outcome, e.object_id) for e in events] == [("refused", login)]
    with engine.connect() as conn:
        assert conn.execute(select(web_session)).all() == []


def test_a_deactivated_agent_cannot_log_in(with_password):
    engine = with_password.engine
    with engine.begin() as conn:
        conn.execute(agent.update().where(agent.c.login == "agent.urssaf").values(active=False))
    with pytest.raises(Forbidden):
        sessions.login(engine, "agent.urssaf", PASSWORD)


def test_sessions_expire_in_all_and_after_idleness(with_password):
    engine = with_password.engine
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    value, _ = sessions.login(engine, "agent.urssaf", PASSWORD, now=start)
    # Active every 20 minutes: stays open until the absolute limit.
    moment = start
    while moment + timedelta(minutes=20) < start + timedelta(hours=sessions.SESSION_HOURS):
        moment += timedelta(minutes=20)
        sessions.actor_for_session(engine, value, now=moment)
    with pytest.raises(Forbidden, match="session expirée"):
        sessions.actor_for_session(engine, value, now=start + timedelta(hours=8, minutes=1))
    idle, _ = sessions.login(engine, "agent.urssaf", PASSWORD, now=start)
    with pytest.raises(Forbidden, match="inactivité"):
        sessions.actor_for_session(engine, idle, now=start + timedelta(minutes=31))


def test_logout_ends_the_session_and_a_new_password_ends_all(with_password):
    engine = with_password.engine
    actor = with_password.urssaf_agent
    one, _ = sessions.login(engine, "agent.urssaf", PASSWORD)
    two, _ = sessions.login(engine, "agent.urssaf", PASSWORD)
    sessions.logout(engine, actor, one)
    with pytest.raises(Forbidden, match="terminée"):
        sessions.actor_for_session(engine, one)
    sessions.actor_for_session(engine, two)
    sessions.set_password(engine, actor, "agent.urssaf", PASSWORD + " 2")
    with pytest.raises(Forbidden, match="terminée"):
        sessions.actor_for_session(engine, two)
    with pytest.raises(Forbidden):
        sessions.login(engine, "agent.urssaf", PASSWORD)


@pytest.fixture
def client(with_password, monkeypatch):
    monkeypatch.setenv("RECOUVREMENT_SECURE_COOKIES", "0")
    return TestClient(create_app(with_password.engine))


def test_login_over_the_api_sets_a_protected_cookie_that_authenticates(client):
    r = client.post("/api/v1/sessions", json={"login": "agent.urssaf", "password": PASSWORD})
    assert r.status_code == 201, r.text
    cookie = r.headers["set-cookie"]
    assert sessions.COOKIE_NAME in cookie
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()
    assert client.get("/api/v1/agents/agent.urssaf").json()["login"] == "agent.urssaf"
    r = client.delete("/api/v1/sessions")
    assert r.status_code == 204
    client.cookies.clear()
    client.cookies.set(sessions.COOKIE_NAME, "forged")
    r = client.get("/api/v1/agents/agent.urssaf")
    assert r.status_code == 401


def test_the_cookie_is_secure_by_default(with_password):
    client = TestClient(create_app(with_password.engine), base_url="https://testserver")
    r = client.post("/api/v1/sessions", json={"login": "agent.urssaf", "password": PASSWORD})
    assert "secure" in r.headers["set-cookie"].lower()


def test_a_logged_out_cookie_no_longer_works(client):
    client.post("/api/v1/sessions", json={"login": "agent.urssaf", "password": PASSWORD})
    value = client.cookies[sessions.COOKIE_NAME]
    client.delete("/api/v1/sessions")
    client.cookies.set(sessions.COOKIE_NAME, value)
    r = client.get("/api/v1/agents/agent.urssaf")
    assert r.status_code == 401
    assert r.json()["errors"][0]["field"] == "session"


def test_a_wrong_password_over_the_api_is_401_and_sets_no_cookie(client, with_password):
    r = client.post(
        "/api/v1/sessions", json={"login": "agent.urssaf", "password": "nope nope nope"}
    )
    assert r.status_code == 401
    assert "set-cookie" not in r.headers
    assert [e.outcome for e in _events(with_password.engine, "session.login")] == ["refused"]


def test_a_cross_site_write_with_the_cookie_is_refused(client, with_password):
    client.post("/api/v1/sessions", json={"login": "agent.urssaf", "password": PASSWORD})
    r = client.delete("/api/v1/sessions", headers={"Origin": "https://evil.example"})
    assert r.status_code == 401
    assert client.get("/api/v1/agents/agent.urssaf").status_code == 200


def test_repeated_failures_lock_the_login_for_a_while(with_password):
    engine = with_password.engine
    for _ in range(sessions.MAX_FAILURES):
        with pytest.raises(Forbidden):
            sessions.login(engine, "agent.urssaf", "wrong password!!")
    with pytest.raises(Forbidden) as exc:
        sessions.login(engine, "agent.urssaf", PASSWORD)
    assert exc.value.problems[0].code == "locked"
    assert len(_events(engine, "session.login")) == sessions.MAX_FAILURES + 1
    later = datetime.now(UTC) + timedelta(minutes=sessions.LOCK_MINUTES + 1)
    value, _ = sessions.login(engine, "agent.urssaf", PASSWORD, now=later)
    assert value
    # Another login is not locked by these failures.
    sessions.set_password(engine, SYSTEM, "agent.rsi", PASSWORD)
    assert sessions.login(engine, "agent.rsi", PASSWORD)[0]
