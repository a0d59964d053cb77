"""Exemption requests: entered by one agent, checked by another, applied by re-assessment.

The business creator's exemption (ACCRE, then ACRE: CSS L161-1-1, then L131-6-4) waives part of a
self-employed person's contributions for the 12 months after the creation or takeover. The request
is entered by one agent and approved or refused by a different one (four-eyes,
`domain/four_eyes.py`); on approval every year the platform has called for the contributor is
re-assessed with the exemption (services/self_employed_calls.reassess), which posts only the
difference: the instalments not yet due are reduced, and what was already called beyond the new
amount becomes a credit on the account.

A small table of its own rather than a collection case: the request has no service-commitment
clock, no queue and two states to reach, and the re-assessment must run in the same transaction as
the approval.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from recouvrement.adapters.db.call_tables import exemption
from recouvrement.adapters.db.tables import contributor
from recouvrement.domain.actors import Actor, Permission, require, require_contributor
from recouvrement.domain.errors import Conflict, DomainError, Forbidden, NotFound, Problem
from recouvrement.domain.four_eyes import require_different_people
from recouvrement.services import audit
from recouvrement.services.self_employed_calls import reassess
from recouvrement.services.unit_of_work import UnitOfWork

KINDS = ("business_creator",)


def _as_dict(row) -> dict:
    return {
        "id": row.id,
        "contributor_id": row.contributor_id,
        "kind": row.kind,
        "start_date": row.start_date.isoformat(),
        "status": row.status,
        "note": row.note,
        "entered_by": row.entered_by,
        "checked_by": row.checked_by,
        "decision_note": row.decision_note,
    }


def _reach(conn, actor: Actor, contributor_id: int):
    row = conn.execute(
        select(contributor.c.organisation_id, contributor.c.kind).where(
            contributor.c.id == contributor_id
        )
    ).first()
    if row is None:
        raise NotFound.single("contributor_id", f"cotisant {contributor_id} inconnu", "not_found")
    require_contributor(actor, contributor_id, row.organisation_id)
    return row


def enter_exemption(
    engine: Engine,
    actor: Actor,
    contributor_id: int,
    start_date: date,
    *,
    kind: str = "business_creator",
    note: str = "",
    today: date,
) -> dict:
    """Record a request; it changes nothing on the account until another agent approves it."""
    require(actor, Permission.EXEMPTIONS_ENTER)
    if kind not in KINDS:
        raise DomainError.single("kind", f"exonération inconnue : {kind!r}", "unknown_kind")
    if start_date > today:
        raise DomainError.single(
            "start_date", "date de création ou de reprise dans le futur", "future"
        )
    with UnitOfWork(engine) as uow:
        row = _reach(uow.conn, actor, contributor_id)
        if row.kind != "self_employed":
            raise DomainError.single(
                "contributor_id",
                "l'exonération de créateur d'entreprise concerne un travailleur indépendant",
                "not_self_employed",
            )
        try:
            new_id = uow.conn.execute(
                insert(exemption)
                .values(
                    contributor_id=contributor_id,
                    kind=kind,
                    start_date=start_date,
                    status="entered",
                    note=note,
                    entered_by=actor.login,
                    entered_at=datetime.now(UTC),
                )
                .returning(exemption.c.id)
            ).scalar_one()
        except IntegrityError:
            raise Conflict(
                Problem("start_date", "demande déjà saisie pour cette date", "already_entered")
            ) from None
        audit.record(
            uow.conn,
            actor,
            "exemptions.enter",
            "exemption",
            new_id,
            {"contributor_id": contributor_id, "kind": kind, "start_date": start_date.isoformat()},
        )
        uow.commit()
    return get_exemption(engine, actor, new_id)


def check_exemption(
    engine: Engine,
    actor: Actor,
    exemption_id: int,
    *,
    approve: bool,
    note: str = "",
    today: date,
) -> dict:
    """Approve or refuse a request entered by someone else; approval re-assesses the years called."""
    require(actor, Permission.EXEMPTIONS_CHECK)
    action = "exemptions.approve" if approve else "exemptions.refuse"
    with UnitOfWork(engine) as uow:
        row = uow.conn.execute(select(exemption).where(exemption.c.id == exemption_id)).first()
        if row is None:
            raise NotFound.single("exemption_id", f"demande {exemption_id} inconnue", "not_found")
        _reach(uow.conn, actor, row.contributor_id)
        if row.status != "entered":
            raise Conflict(
                Problem("status", f"demande déjà instruite ({row.status})", "already_checked")
            )
        try:
            require_different_people(row.entered_by, actor)
        except Forbidden as err:
            audit.record_refusal(
                engine, actor, action, "exemption", exemption_id, err.problems[0].reason
            )
            audit.mark_recorded(err)
            raise
        uow.conn.execute(
            update(exemption)
            .where(exemption.c.id == exemption_id)
            .values(
                status="approved" if approve else "refused",
                checked_by=actor.login,
                checked_at=datetime.now(UTC),
                decision_note=note,
            )
        )
        applied = reassess(uow.conn, actor, row.contributor_id, today) if approve else []
        audit.record(
            uow.conn,
            actor,
            action,
            "exemption",
            exemption_id,
            {"contributor_id": row.contributor_id, "note": note, "reassessed": applied},
        )
        uow.commit()
    result = get_exemption(engine, actor, exemption_id)
    result["reassessed"] = applied
    return result


def get_exemption(engine: Engine, actor: Actor, exemption_id: int) -> dict:
    require(actor, Permission.CONTRIBUTORS_READ)
    with engine.connect() as conn:
        row = conn.execute(select(exemption).where(exemption.c.id == exemption_id)).first()
        if row is None:
            raise NotFound.single("exemption_id", f"demande {exemption_id} inconnue", "not_found")
        _reach(conn, actor, row.contributor_id)
        return _as_dict(row)


def list_exemptions(engine: Engine, actor: Actor, contributor_id: int) -> list[dict]:
    require(actor, Permission.CONTRIBUTORS_READ)
    with engine.connect() as conn:
        _reach(conn, actor, contributor_id)
        rows = conn.execute(
            select(exemption)
            .where(exemption.c.contributor_id == contributor_id)
            .order_by(exemption.c.start_date, exemption.c.id)
        ).all()
        return [_as_dict(r) for r in rows]
