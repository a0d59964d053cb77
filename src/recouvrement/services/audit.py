"""Every state change and every refused attempt leaves an audit event, hash-chained.

A refused attempt is recorded in a transaction of its own, because the request's own transaction
is rolled back. On PostgreSQL, appending takes a transaction-level advisory lock so that two
concurrent transactions cannot both chain onto the same predecessor.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert, select, text

from recouvrement.adapters.db.tables import audit_event
from recouvrement.domain.actors import Actor
from recouvrement.domain.audit_chain import GENESIS, ChainProblem, event_hash, verify_chain

AUDIT_LOCK = 727_001  # arbitrary advisory-lock key reserved for the audit chain


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    detail: dict | None = None,
    outcome: str = "done",
    source: str = "",
) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK})
    prev = conn.scalar(select(audit_event.c.hash).order_by(audit_event.c.id.desc()).limit(1))
    event = {
        "occurred_at": datetime.now(UTC),
        "actor": actor.login,
        "organisation_code": actor.organisation_code,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "outcome": outcome,
        "detail": detail or {},
        "source": source,
        "prev_hash": prev or GENESIS,
    }
    event["hash"] = event_hash(event["prev_hash"], event)
    conn.execute(insert(audit_event).values(**event))


def record_refusal(
    engine: Engine,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    reason: str,
    source: str = "",
) -> None:
    with engine.begin() as conn:
        record(conn, actor, action, object_type, object_id, {"reason": reason}, "refused", source)


def mark_recorded(err: BaseException) -> None:
    """Flag a refusal a service has already written to the trail, so that an adapter's generic
    error handler does not write the same refused attempt a second time."""
    err.refusal_recorded = True  # type: ignore[attr-defined]


def refusal_recorded(err: BaseException) -> bool:
    return getattr(err, "refusal_recorded", False) is True


def verify(engine: Engine) -> tuple[list[ChainProblem], str, int]:
    """Walk the whole trail in order; returns the problems, the head hash and the count."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_event).order_by(audit_event.c.id).execution_options(yield_per=10_000)
        ).mappings()
        return verify_chain(rows)


def events(
    engine: Engine,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    limit: int = 100,
) -> list[dict]:
    q = select(audit_event).order_by(audit_event.c.id.desc()).limit(limit)
    if object_type:
        q = q.where(audit_event.c.object_type == object_type)
    if object_id:
        q = q.where(audit_event.c.object_id == object_id)
    if actor:
        q = q.where(audit_event.c.actor == actor)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]
