"""Agents and API bearer tokens. Only a token's SHA-256 is stored: a leaked table grants nothing."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, select

from recouvrement.adapters.db.tables import agent, api_token, contributor, organisation
from recouvrement.domain.actors import Actor, Permission, Role, require
from recouvrement.domain.errors import Conflict, DomainError, Forbidden, NotFound, Problem
from recouvrement.services import audit
from recouvrement.services.organisations import organisation_id, reachable_organisations
from recouvrement.services.unit_of_work import UnitOfWork

TOKEN_DAYS = 90


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_agent(
    engine: Engine,
    actor: Actor,
    login: str,
    name: str,
    organisation_code: str,
    roles: list[str],
    contributor_id: int | None = None,
) -> int:
    require(actor, Permission.ORGANISATIONS_WRITE)
    try:
        parsed = sorted({Role(r).value for r in roles})
    except ValueError as err:
        raise DomainError.single("roles", f"rôle inconnu : {err}", "unknown_role") from None
    if not parsed or Role.SYSTEM.value in parsed:
        raise DomainError.single("roles", "au moins un rôle, et jamais « system »", "bad_roles")
    if (Role.CONTRIBUTOR.value in parsed) != (contributor_id is not None):
        raise DomainError.single(
            "contributor_id",
            "un compte cotisant se rattache à exactement un cotisant",
            "bad_contributor",
        )
    with UnitOfWork(engine) as uow:
        org = organisation_id(uow.conn, organisation_code)
        if uow.conn.scalar(select(agent.c.id).where(agent.c.login == login)):
            raise Conflict.single("login", f"l'identifiant {login} existe déjà", "duplicate")
        if (
            contributor_id is not None
            and uow.conn.scalar(select(contributor.c.id).where(contributor.c.id == contributor_id))
            is None
        ):
            raise NotFound.single(
                "contributor_id", f"cotisant {contributor_id} inconnu", "not_found"
            )
        aid = uow.conn.execute(
            insert(agent).values(
                login=login,
                name=name,
                organisation_id=org,
                roles=parsed,
                contributor_id=contributor_id,
                active=True,
            )
        ).inserted_primary_key[0]
        audit.record(uow.conn, actor, "agent.create", "agent", login, {"roles": parsed})
        uow.commit()
    return aid


def issue_token(
    engine: Engine, actor: Actor, login: str, now: datetime | None = None, days: int = TOKEN_DAYS
) -> str:
    require(actor, Permission.ORGANISATIONS_WRITE)
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    with UnitOfWork(engine) as uow:
        aid = uow.conn.scalar(select(agent.c.id).where(agent.c.login == login))
        if aid is None:
            raise NotFound.single("login", f"agent inconnu : {login}", "not_found")
        uow.conn.execute(
            insert(api_token).values(
                token_sha256=_digest(token),
                agent_id=aid,
                created_at=now,
                expires_at=now + timedelta(days=days),
            )
        )
        audit.record(uow.conn, actor, "token.issue", "agent", login, {"days": days})
        uow.commit()
    return token


def actor_for_login(engine: Engine, login: str) -> Actor:
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(agent, organisation.c.code.label("org_code"))
                .join(organisation, organisation.c.id == agent.c.organisation_id)
                .where(agent.c.login == login, agent.c.active.is_(True))
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound.single("login", f"agent inconnu : {login}", "not_found")
        return Actor(
            login=row["login"],
            organisation_id=row["organisation_id"],
            organisation_code=row["org_code"],
            roles=frozenset(Role(r) for r in row["roles"]),
            contributor_id=row["contributor_id"],
            reachable_organisation_ids=reachable_organisations(conn, row["organisation_id"]),
        )


def actor_for_token(engine: Engine, token: str, now: datetime | None = None) -> Actor:
    """The actor behind a bearer token; forged, expired or revoked tokens are refused."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        row = conn.execute(
            select(api_token.c.expires_at, agent.c.login, agent.c.active)
            .join(agent, agent.c.id == api_token.c.agent_id)
            .where(api_token.c.token_sha256 == _digest(token or ""))
        ).first()
    if row is None:
        raise Forbidden(Problem("authorization", "jeton inconnu", "unauthenticated"))
    expires_at = row.expires_at
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    if expires_at <= now:
        raise Forbidden(Problem("authorization", "jeton expiré", "unauthenticated"))
    if not row.active:
        raise Forbidden(Problem("authorization", "compte désactivé", "unauthenticated"))
    return actor_for_login(engine, row.login)
