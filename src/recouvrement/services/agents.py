"""Reading agents and the audit trail, each within the reader's rights.

Creating an agent lives in `authentication.create_agent` (administrator). Here: who may see
which agents (the administrator all; managers, directors and auditors those of the organisations
they reach), and who may read the audit trail (auditors and directors, for their organisations).
"""

from __future__ import annotations

from sqlalchemy import Engine, or_, select

from recouvrement.adapters.db.tables import agent, audit_event, organisation
from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.errors import Forbidden, NotFound, Problem

AGENT_READERS = frozenset({Role.MANAGER, Role.DIRECTOR, Role.AUDITOR})
AUDIT_READERS = frozenset({Role.AUDITOR, Role.DIRECTOR})
MAX_EVENTS = 1000


def _sees_everything(actor: Actor) -> bool:
    return actor.is_system or Role.ADMINISTRATOR in actor.roles


def _agent_query():
    return select(
        agent.c.id,
        agent.c.login,
        agent.c.name,
        agent.c.organisation_id,
        organisation.c.code.label("organisation"),
        agent.c.roles,
        agent.c.contributor_id,
        agent.c.active,
        agent.c.password_hash.is_not(None).label("has_password"),
    ).join(organisation, organisation.c.id == agent.c.organisation_id)


def _as_dict(row) -> dict:
    out = dict(row._mapping)
    out.pop("organisation_id")
    out["roles"] = sorted(out["roles"])
    out["has_password"] = bool(out["has_password"])
    return out


def list_agents(engine: Engine, actor: Actor, organisation_code: str | None = None) -> list[dict]:
    if not (_sees_everything(actor) or actor.roles & AGENT_READERS):
        raise Forbidden(Problem("", "liste des agents réservée à l'encadrement", "forbidden"))
    q = _agent_query().order_by(agent.c.login)
    if not _sees_everything(actor):
        q = q.where(agent.c.organisation_id.in_(sorted(actor.reachable_organisation_ids)))
    if organisation_code:
        q = q.where(organisation.c.code == organisation_code)
    with engine.connect() as conn:
        return [_as_dict(r) for r in conn.execute(q)]


def get_agent(engine: Engine, actor: Actor, login: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(_agent_query().where(agent.c.login == login)).first()
    if row is None:
        raise NotFound.single("login", f"agent inconnu : {login}", "not_found")
    if actor.login == login or _sees_everything(actor):
        return _as_dict(row)
    if actor.roles & AGENT_READERS and row.organisation_id in actor.reachable_organisation_ids:
        return _as_dict(row)
    raise Forbidden(Problem("login", "fiche de cet agent non consultable", "forbidden"))


def audit_events(
    engine: Engine,
    actor: Actor,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    author: str | None = None,
    outcome: str | None = None,
    limit: int = 100,
) -> list[dict]:
    """Latest events first. Auditors and directors see their organisations' events; auditors also
    see those with no organisation (refused anonymous attempts, operator commands)."""
    if not (actor.is_system or actor.roles & AUDIT_READERS):
        raise Forbidden(
            Problem("", "piste d'audit réservée aux auditeurs et aux directeurs", "forbidden")
        )
    q = select(audit_event).order_by(audit_event.c.id.desc()).limit(min(limit, MAX_EVENTS))
    if not actor.is_system:
        with engine.connect() as conn:
            codes = (
                conn.execute(
                    select(organisation.c.code).where(
                        organisation.c.id.in_(sorted(actor.reachable_organisation_ids))
                    )
                )
                .scalars()
                .all()
            )
        visible = audit_event.c.organisation_code.in_(codes)
        if Role.AUDITOR in actor.roles:
            visible = or_(visible, audit_event.c.organisation_code.is_(None))
        q = q.where(visible)
    for column, value in (
        (audit_event.c.object_type, object_type),
        (audit_event.c.object_id, object_id),
        (audit_event.c.actor, author),
        (audit_event.c.outcome, outcome),
    ):
        if value:
            q = q.where(column == value)
    with engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    return [{**dict(r), "occurred_at": r["occurred_at"].isoformat()} for r in rows]
