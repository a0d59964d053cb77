"""Every state change and every refused attempt leaves an audit event.

A refused attempt is recorded in a transaction of its own, because the request's own transaction
is rolled back.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert

from recouvrement.adapters.db.tables import audit_event
from recouvrement.domain.actors import Actor


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
    conn.execute(
        insert(audit_event).values(
            occurred_at=datetime.now(UTC),
            actor=actor.login,
            organisation_code=actor.organisation_code,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            outcome=outcome,
            detail=detail or {},
            source=source,
        )
    )


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
