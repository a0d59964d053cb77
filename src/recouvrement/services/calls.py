"""Calls of contributions: record them in the caller's transaction, and read them.

A call is the document that tells a contributor what is owed for a period and by when; the ledger
keeps the money. One call per contributor and period: a correction changes its amount, never its
due date (the date the law set for the period), and a call already paid goes back to `issued` when
its amount grows, so that the daily cycle looks at it again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, func, insert, select, update

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.payroll_tables import payroll_declaration, payroll_declaration_line
from recouvrement.adapters.db.tables import contributor
from recouvrement.domain.actors import Actor, Permission, Role, require, require_contributor
from recouvrement.domain.calendars import calendar_for
from recouvrement.domain.calls import CallKind, CallStatus, call_reference, employer_due
from recouvrement.domain.errors import DomainError, Forbidden, NotFound, Problem
from recouvrement.rules.parameters import ParameterError, load_parameters

MAX_LIMIT = 1000


def record_call(
    conn: Connection,
    *,
    contributor_id: int,
    period: str,
    kind: CallKind | str,
    issue_date: date,
    due_date: date,
    amount: int | None = None,
    delta: int = 0,
) -> int:
    """Create the call of (contributor, period), or change the amount of the one there.

    `amount` sets the total called; otherwise `delta` is added to it. Returns the call's id.
    """
    if (amount is not None and not isinstance(amount, int)) or not isinstance(delta, int):
        raise DomainError.single("amount", "montant en centimes entiers attendu", "not_cents")
    row = conn.execute(
        select(call.c.id, call.c.amount, call.c.status).where(
            call.c.contributor_id == contributor_id, call.c.period == period
        )
    ).first()
    if row is None:
        return conn.execute(
            insert(call)
            .values(
                contributor_id=contributor_id,
                period=period,
                kind=str(kind),
                reference=call_reference(contributor_id, period),
                issue_date=issue_date,
                due_date=due_date,
                amount=amount if amount is not None else delta,
                status=CallStatus.SCHEDULED,
                created_at=datetime.now(UTC),
            )
            .returning(call.c.id)
        ).scalar_one()
    new_amount = amount if amount is not None else row.amount + delta
    if new_amount != row.amount:
        status = row.status
        if status == CallStatus.PAID and new_amount > row.amount:
            status = CallStatus.ISSUED
        conn.execute(
            update(call).where(call.c.id == row.id).values(amount=new_amount, status=status)
        )
    return row.id


def employer_headcount(conn: Connection, contributor_id: int, period: str) -> int:
    """Employees on the latest version of each establishment's declaration for the period."""
    latest = (
        select(
            payroll_declaration.c.establishment_id,
            func.max(payroll_declaration.c.version).label("version"),
        )
        .where(
            payroll_declaration.c.contributor_id == contributor_id,
            payroll_declaration.c.period == period,
        )
        .group_by(payroll_declaration.c.establishment_id)
        .subquery()
    )
    ids = select(payroll_declaration.c.id).join(
        latest,
        (latest.c.establishment_id == payroll_declaration.c.establishment_id)
        & (latest.c.version == payroll_declaration.c.version),
    )
    return int(
        conn.scalar(
            select(func.count(func.distinct(payroll_declaration_line.c.nir))).where(
                payroll_declaration_line.c.declaration_id.in_(ids)
            )
        )
        or 0
    )


def record_employer_call(
    conn: Connection, contributor_id: int, period: str, delta: int, today: date
) -> int | None:
    """The call of an employer's month after a declaration posted `delta` cents (R243-6).

    Issued on the day the declaration is received; due by the headcount on the declarations.
    A month that owes nothing (an employer outside the scope) gets no call: nothing to pay, no
    notice; a later correction that makes it owe creates it.
    """
    if (
        delta == 0
        and conn.scalar(
            select(call.c.id).where(
                call.c.contributor_id == contributor_id, call.c.period == period
            )
        )
        is None
    ):
        return None
    territory = conn.scalar(
        select(contributor.c.territory).where(contributor.c.id == contributor_id)
    )
    headcount = employer_headcount(conn, contributor_id, period)
    try:
        due = employer_due(load_parameters(), period, headcount, calendar_for(territory))
    except ParameterError as err:
        raise DomainError.single("period", str(err), "parameter_gap") from None
    return record_call(
        conn,
        contributor_id=contributor_id,
        period=period,
        kind=due.kind,
        issue_date=today,
        due_date=due.due,
        delta=delta,
    )


def _as_dict(row) -> dict:
    return {
        "id": row.id,
        "contributor_id": row.contributor_id,
        "period": row.period,
        "kind": row.kind,
        "reference": row.reference,
        "issue_date": row.issue_date.isoformat(),
        "due_date": row.due_date.isoformat(),
        "amount": row.amount,
        "status": row.status,
        "issued_on": row.issued_on.isoformat() if row.issued_on else None,
    }


def _reach(conn: Connection, actor: Actor, contributor_id: int) -> None:
    org = conn.scalar(
        select(contributor.c.organisation_id).where(contributor.c.id == contributor_id)
    )
    if org is None:
        raise NotFound.single("contributor_id", f"cotisant {contributor_id} inconnu", "not_found")
    require_contributor(actor, contributor_id, org)


def list_calls(
    engine: Engine,
    actor: Actor,
    contributor_id: int | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[dict]:
    """Calls, latest due date first: a contributor sees only their own, an agent those of the
    contributors their organisation reaches."""
    require(actor, Permission.CALLS_READ)
    if status is not None and status not in {s.value for s in CallStatus}:
        raise DomainError.single("status", f"statut d'appel inconnu : {status!r}", "bad_status")
    if not 1 <= limit <= MAX_LIMIT:
        raise DomainError.single("limit", f"limite entre 1 et {MAX_LIMIT}", "bad_limit")
    if actor.is_contributor:
        if contributor_id is not None and contributor_id != actor.contributor_id:
            raise Forbidden(
                Problem("contributor_id", "ce compte cotisant n'est pas accessible", "forbidden")
            )
        contributor_id = actor.contributor_id
    query = select(call).order_by(call.c.due_date.desc(), call.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        if contributor_id is not None:
            _reach(conn, actor, contributor_id)
            query = query.where(call.c.contributor_id == contributor_id)
        elif not (actor.is_system or Role.ADMINISTRATOR in actor.roles):
            query = query.join(contributor, contributor.c.id == call.c.contributor_id).where(
                contributor.c.organisation_id.in_(sorted(actor.reachable_organisation_ids))
            )
        if status is not None:
            query = query.where(call.c.status == status)
        return [_as_dict(row) for row in conn.execute(query)]


def get_call(engine: Engine, actor: Actor, call_id: int) -> dict:
    require(actor, Permission.CALLS_READ)
    with engine.connect() as conn:
        row = conn.execute(select(call).where(call.c.id == call_id)).first()
        if row is None:
            raise NotFound.single("call_id", f"appel {call_id} inconnu", "not_found")
        _reach(conn, actor, row.contributor_id)
        return _as_dict(row)
