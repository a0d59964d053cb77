"""Passwords and web sessions of agents.

Passwords are kept as argon2id hashes (argon2-cffi), so a copied table does not give them away.
A session is a random value sent as an HttpOnly cookie; like API tokens, only its SHA-256 is
stored. It ends at logout, after `SESSION_HOURS` in all, or after `IDLE_MINUTES` without a request.
A session gives exactly the Actor a token of the same agent gives (`actor_for_login`), so every
service check applies the same way to both.

Refused logins are audited under the login tried, with the same answer whether the login exists
or not, so the answer does not tell which logins exist.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, func, select, update
from sqlalchemy import insert as sql_insert

from recouvrement.adapters.db.tables import agent, audit_event, web_session
from recouvrement.domain.actors import Actor, Role, system_actor
from recouvrement.domain.errors import DomainError, Forbidden, NotFound, Problem
from recouvrement.services import audit
from recouvrement.services.authentication import actor_for_login
from recouvrement.services.unit_of_work import UnitOfWork

SESSION_HOURS = 8
IDLE_MINUTES = 30
# After this many refused logins on one login within the window, further tries are refused
# without checking the password, whoever the login belongs to (so it reveals no login).
MAX_FAILURES = 5
LOCK_MINUTES = 15
PASSWORD_MIN = 12
COOKIE_NAME = "recouvrement_session"

_hasher = PasswordHasher()
# Verified against when the login is unknown, so that both answers take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
_REFUSED = "identifiant ou mot de passe incorrect"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def password_problems(password: str, login: str) -> list[Problem]:
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(
            Problem("password", f"au moins {PASSWORD_MIN} caractères", "password_too_short")
        )
    if login and login.casefold() in password.casefold():
        problems.append(
            Problem(
                "password", "le mot de passe ne doit pas contenir l'identifiant", "weak_password"
            )
        )
    return problems


def set_password(engine: Engine, actor: Actor, login: str, password: str) -> None:
    """Set an agent's password: the agent themself, the administrator or the system operator."""
    if not (actor.is_system or Role.ADMINISTRATOR in actor.roles or actor.login == login):
        raise Forbidden(
            Problem("login", "seul l'agent ou l'administrateur change ce mot de passe", "forbidden")
        )
    problems = password_problems(password, login)
    if problems:
        raise DomainError(*problems)
    with UnitOfWork(engine) as uow:
        aid = uow.conn.scalar(select(agent.c.id).where(agent.c.login == login))
        if aid is None:
            raise NotFound.single("login", f"agent inconnu : {login}", "not_found")
        uow.conn.execute(
            update(agent).where(agent.c.id == aid).values(password_hash=_hasher.hash(password))
        )
        # A new password ends the sessions opened with the old one.
        uow.conn.execute(
            update(web_session)
            .where(web_session.c.agent_id == aid, web_session.c.ended_at.is_(None))
            .values(ended_at=datetime.now(UTC))
        )
        audit.record(uow.conn, actor, "agent.password", "agent", login)
        uow.commit()


def _refuse_login(engine: Engine, login: str, reason: str, ip: str) -> Forbidden:
    audit.record_refusal(
        engine, system_actor("anonyme"), "session.login", "agent", login, reason, ip
    )
    return Forbidden(Problem("login", _REFUSED, "unauthenticated"))


def _recent_failures(engine: Engine, login: str, now: datetime) -> int:
    with engine.connect() as conn:
        return conn.scalar(
            select(func.count())
            .select_from(audit_event)
            .where(
                audit_event.c.action == "session.login",
                audit_event.c.object_id == login,
                audit_event.c.outcome == "refused",
                audit_event.c.occurred_at >= now - timedelta(minutes=LOCK_MINUTES),
            )
        )


def login(
    engine: Engine, login: str, password: str, ip: str = "", now: datetime | None = None
) -> tuple[str, datetime]:
    """Open a session; returns the cookie value (shown once) and when the session expires."""
    now = now or datetime.now(UTC)
    if _recent_failures(engine, login, now) >= MAX_FAILURES:
        audit.record_refusal(
            engine, system_actor("anonyme"), "session.login", "agent", login, "bloqué", ip
        )
        raise Forbidden(
            Problem(
                "login",
                f"trop de tentatives échouées : réessayez dans {LOCK_MINUTES} minutes",
                "locked",
            )
        )
    with engine.connect() as conn:
        row = conn.execute(
            select(agent.c.id, agent.c.active, agent.c.password_hash).where(agent.c.login == login)
        ).first()
    stored = row.password_hash if row is not None else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
        matched = stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        matched = False
    if row is None:
        raise _refuse_login(engine, login, "identifiant inconnu", ip)
    if not matched:
        raise _refuse_login(engine, login, "mot de passe incorrect ou non défini", ip)
    if not row.active:
        raise _refuse_login(engine, login, "compte désactivé", ip)
    actor = actor_for_login(engine, login)
    value = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=SESSION_HOURS)
    with UnitOfWork(engine) as uow:
        if _hasher.check_needs_rehash(stored):
            uow.conn.execute(
                update(agent)
                .where(agent.c.id == row.id)
                .values(password_hash=_hasher.hash(password))
            )
        uow.conn.execute(
            sql_insert(web_session).values(
                id_sha256=_digest(value),
                agent_id=row.id,
                created_at=now,
                expires_at=expires,
                last_seen_at=now,
                ip=ip[:64],
            )
        )
        audit.record(uow.conn, actor, "session.login", "agent", login, source=ip[:64])
        uow.commit()
    return value, expires


def actor_for_session(engine: Engine, value: str, now: datetime | None = None) -> Actor:
    """The actor behind a session cookie; unknown, ended, expired or idle sessions are refused."""
    now = now or datetime.now(UTC)
    digest = _digest(value or "")
    with engine.connect() as conn:
        row = conn.execute(
            select(web_session, agent.c.login, agent.c.active)
            .join(agent, agent.c.id == web_session.c.agent_id)
            .where(web_session.c.id_sha256 == digest)
        ).first()
    if row is None:
        raise Forbidden(Problem("session", "session inconnue", "unauthenticated"))
    if row.ended_at is not None:
        raise Forbidden(Problem("session", "session terminée", "unauthenticated"))
    if _aware(row.expires_at) <= now:
        raise Forbidden(Problem("session", "session expirée", "unauthenticated"))
    if _aware(row.last_seen_at) + timedelta(minutes=IDLE_MINUTES) <= now:
        raise Forbidden(Problem("session", "session expirée après inactivité", "unauthenticated"))
    if not row.active:
        raise Forbidden(Problem("session", "compte désactivé", "unauthenticated"))
    with engine.begin() as conn:
        conn.execute(
            update(web_session).where(web_session.c.id_sha256 == digest).values(last_seen_at=now)
        )
    return actor_for_login(engine, row.login)


def logout(engine: Engine, actor: Actor, value: str, now: datetime | None = None) -> None:
    """End the session; ending one already ended changes nothing."""
    now = now or datetime.now(UTC)
    with UnitOfWork(engine) as uow:
        changed = uow.conn.execute(
            update(web_session)
            .where(
                web_session.c.id_sha256 == _digest(value or ""), web_session.c.ended_at.is_(None)
            )
            .values(ended_at=now)
        ).rowcount
        if changed:
            audit.record(uow.conn, actor, "session.logout", "agent", actor.login)
        uow.commit()
