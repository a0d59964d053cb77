"""Holds on escalation: while one is active the daily cycle sends no further letter.

Escalation must pause while a payment plan is respected (CSS art. R243-21: the delays granted
suspend the pursuit), while a surcharge-remission request or a dispute is pending, while an audit is
running, and until the day a debtor promised on the phone to pay (issue #6). The services owning
those events place and lift the holds; escalation only reads them. A hold naming a period suspends
that debt file only; without a period, every file of the contributor.

These functions run inside the caller's transaction (they take its connection) and leave the
audit event to the caller, whose action — granting a plan, receiving a complaint — is the one
the trail must show; the hold's id and source are what the caller records.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import Connection, and_, insert, or_, select, update

from recouvrement.adapters.db.collection_tables import collection_hold

HOLD_KINDS = frozenset(
    {"payment_plan", "remission", "dispute", "complaint", "audit", "promise", "insolvency"}
)
_CHUNK = 5_000


def place_hold(
    conn: Connection,
    contributor_id: int,
    kind: str,
    source: str,
    on: date,
    period: str | None = None,
    until: date | None = None,
) -> int:
    """Place a hold from `on` (inclusive) until lifted, or until `until` (inclusive) when given.

    Idempotent on `source`: a hold of the same source still in force is returned, not doubled,
    so a replayed request places nothing new. Kinds are open (`HOLD_KINDS` lists the known ones)
    so that a later issue can add one without a migration."""
    existing = conn.execute(
        select(collection_hold.c.id).where(
            collection_hold.c.source == source,
            collection_hold.c.contributor_id == contributor_id,
            collection_hold.c.lifted_on.is_(None),
        )
    ).scalar()
    if existing is not None:
        if until is not None:
            conn.execute(
                update(collection_hold).where(collection_hold.c.id == existing).values(until=until)
            )
        return int(existing)
    return int(
        conn.execute(
            insert(collection_hold)
            .values(
                contributor_id=contributor_id,
                kind=kind,
                source=source,
                period=period,
                placed_on=on,
                until=until,
                created_at=datetime.now(UTC),
            )
            .returning(collection_hold.c.id)
        ).scalar_one()
    )


def lift_hold(conn: Connection, source: str, on: date) -> int:
    """Lift the holds of `source` still in force: from `on` escalation resumes from the step the
    file had reached. Returns how many were lifted (0 when none was in force: a replay)."""
    return conn.execute(
        update(collection_hold)
        .where(collection_hold.c.source == source, collection_hold.c.lifted_on.is_(None))
        .values(lifted_on=on)
    ).rowcount


def active_condition(on: date):
    """The SQL condition of a hold in force on `on`, for set-based readers (the daily step)."""
    return and_(
        collection_hold.c.placed_on <= on,
        or_(collection_hold.c.lifted_on.is_(None), collection_hold.c.lifted_on > on),
        or_(collection_hold.c.until.is_(None), collection_hold.c.until >= on),
    )


def active_holds(
    conn: Connection, contributor_ids: Iterable[int], on: date
) -> dict[int, list[dict]]:
    """The holds in force on `on`, by contributor (contributors without one are absent)."""
    ids = sorted(set(contributor_ids))
    out: dict[int, list[dict]] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = conn.execute(
            select(collection_hold)
            .where(
                collection_hold.c.contributor_id.in_(ids[start : start + _CHUNK]),
                active_condition(on),
            )
            .order_by(collection_hold.c.contributor_id, collection_hold.c.id)
        ).mappings()
        for row in rows:
            out.setdefault(int(row["contributor_id"]), []).append(dict(row))
    return out


def holds_of(conn: Connection, contributor_id: int) -> list[dict]:
    """Every hold of a contributor, lifted or not, oldest first (the account's history)."""
    rows = conn.execute(
        select(collection_hold)
        .where(collection_hold.c.contributor_id == contributor_id)
        .order_by(collection_hold.c.placed_on, collection_hold.c.id)
    ).mappings()
    return [dict(r) for r in rows]
