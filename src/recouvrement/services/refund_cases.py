"""A refund case as the refund services load, move and show it.

A refund is a case of type `refund` (domain/cases.py); its check, approval and disbursement are not
rows of the generic transition table, because each posts to the ledger or moves the case to the
accounting officer's activity: they go through services/refunds.py and
services/refund_disbursement.py, which use the helpers here. Reading follows the ledger's reach: a
contributor sees their own refunds, an agent those of the contributors they reach.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, insert, select, update

from recouvrement.adapters.db.tables import agent, case_event, case_table
from recouvrement.domain import cases as case_rules
from recouvrement.domain.actors import Actor, Permission, require, require_contributor
from recouvrement.domain.calendars import calendar_for
from recouvrement.domain.errors import Conflict, DomainError, Forbidden, NotFound, Problem
from recouvrement.services import audit, cases
from recouvrement.services import refund_credits as credits


def iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def load_refund(conn: Connection, case_id: int, for_update: bool = False) -> dict:
    query = (
        select(case_table, agent.c.login.label("assignee"))
        .outerjoin(agent, agent.c.id == case_table.c.assignee_id)
        .where(case_table.c.id == case_id, case_table.c.case_type == "refund")
    )
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update(of=case_table)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound.single("case_id", f"remboursement {case_id} inconnu", "not_found")
    return dict(row)


STATE_LABEL = {
    "requested": "demandé",
    "waiting_for_contributor": "en attente du cotisant",
    "checked": "vérifié",
    "approved": "approuvé",
    "disbursed": "décaissé",
    "rejected": "rejeté",
}


def require_state(row: Mapping, wanted: str, action: str) -> None:
    if row["state"] == wanted:
        return
    payload = row["payload"] or {}
    if row["state"] == "disbursed":
        raise Conflict.single(
            "case_id",
            f"remboursement {row['id']} déjà décaissé (fichier {payload.get('message_id')})",
            "already_disbursed",
        )
    state = STATE_LABEL.get(row["state"], row["state"])
    raise Conflict.single(
        "case_id",
        f"impossible de {action} le remboursement {row['id']} : il est {state}",
        "wrong_state",
    )


def prepare(
    conn: Connection,
    actor: Actor,
    case_id: int,
    state: str,
    action: str,
    on: date,
    assignee_only: bool = True,
):
    """The case locked, in the state the action needs, the actor reaching it and authorized on
    its current activity on `on` (and, unless `assignee_only` is off, its assignee or a manager
    once it is assigned: a disbursement file pays refunds assigned to several officers)."""
    row = load_refund(conn, case_id, for_update=True)
    who = credits.contributor_row(conn, row["contributor_id"])
    require_contributor(actor, who.id, who.organisation_id)
    require_state(row, state, action)
    if on < row["last_event_on"]:
        raise DomainError.single(
            "on",
            f"date antérieure au dernier événement du dossier ({row['last_event_on']})",
            "date_before_last_event",
        )
    agreement = cases.resolve_agreement(row["agreement"], row["opened_on"])
    refusal = cases.activity_refusal(
        conn, actor, row["activity"], on, agreement, row["owner_organisation_id"]
    )
    problem = case_rules.authority_problem(
        actor,
        case_rules.Authority.WORKER,
        agreement,
        row["assignee"] if assignee_only else None,
        refusal,
    )
    if problem is not None:
        raise Forbidden(problem)
    return row, who, agreement


def record_step(
    conn: Connection,
    actor: Actor,
    row: Mapping,
    action: str,
    to_state: str,
    on: date,
    values: dict,
    detail: dict,
    note: str = "",
) -> None:
    conn.execute(
        update(case_table)
        .where(case_table.c.id == row["id"])
        .values(state=to_state, last_event_on=on, **values)
    )
    conn.execute(
        insert(case_event).values(
            case_id=row["id"],
            action=action,
            actor=actor.login,
            from_state=row["state"],
            to_state=to_state,
            on=on,
            at=datetime.now(UTC),
            note=note[:10_000],
            detail=detail,
        )
    )
    audit.record(conn, actor, f"refund.{action}", "case", row["id"], detail)


def requested_on(row: Mapping) -> date:
    return date.fromisoformat(row["payload"].get("requested_on") or row["opened_on"].isoformat())


def recheck(conn: Connection, row: Mapping, who, amount: object) -> dict:
    return credits.check_amount(
        conn, who.id, who.territory, amount, requested_on(row), except_case=row["id"]
    )


# ---------------------------------------------------------------------------------------------
# Reading


def refund_view(row: Mapping, on: date, with_history: bool, conn: Connection) -> dict:
    payload = row["payload"] or {}
    closed = row["closed_on"] is not None
    calendar = calendar_for(row["calendar"])
    view = {
        "id": row["id"],
        "contributor_id": row["contributor_id"],
        "state": row["state"],
        "amount": payload.get("amount"),
        "unit": "cents",
        "iban": payload.get("iban"),
        "bic": payload.get("bic"),
        "holder": payload.get("holder"),
        "requested_on": payload.get("requested_on"),
        "requested_by": payload.get("requested_by"),
        "checked_by": payload.get("checked_by"),
        "approved_by": payload.get("approved_by"),
        "disbursed_on": payload.get("disbursed_on"),
        "file_id": payload.get("file_id"),
        "message_id": payload.get("message_id"),
        "activity": row["activity"],
        "assignee": row["assignee"],
        "due_on": iso(row["due_on"]),
        "breached_on": iso(row["breached_on"]),
        "time_left": case_rules.time_left(
            calendar, row["due_on"], on, row["paused_since"], closed=closed
        ),
        "overdue": case_rules.is_breached(row["due_on"], on, row["paused_since"], closed=closed),
    }
    if with_history:
        view["history"] = [
            {"action": e.action, "actor": e.actor, "to": e.to_state, "on": e.on.isoformat()}
            for e in conn.execute(
                select(
                    case_event.c.action, case_event.c.actor, case_event.c.to_state, case_event.c.on
                )
                .where(case_event.c.case_id == row["id"])
                .order_by(case_event.c.id)
            )
        ]
    return view


def require_reader(conn: Connection, actor: Actor, row: Mapping) -> None:
    require(actor, Permission.LEDGER_READ)
    who = credits.contributor_row(conn, row["contributor_id"])
    try:
        require_contributor(actor, who.id, who.organisation_id)
    except Forbidden:
        raise Forbidden(
            Problem("case_id", "ce remboursement n'est pas accessible", "forbidden")
        ) from None


def get_refund(engine: Engine, actor: Actor, case_id: int, *, on: date) -> dict:
    """A refund as its contributor or an agent in reach sees it on `on`."""
    with engine.connect() as conn:
        row = load_refund(conn, case_id)
        require_reader(conn, actor, row)
        return refund_view(row, on, with_history=True, conn=conn)


def list_refunds(
    engine: Engine,
    actor: Actor,
    *,
    on: date,
    state: str | None = None,
    contributor_id: int | None = None,
    limit: int = 200,
) -> list[dict]:
    """Refunds in the actor's reach, newest first; a contributor sees only their own."""
    require(actor, Permission.LEDGER_READ)
    if actor.is_contributor:
        contributor_id = actor.contributor_id
    query = (
        select(case_table, agent.c.login.label("assignee"))
        .outerjoin(agent, agent.c.id == case_table.c.assignee_id)
        .where(case_table.c.case_type == "refund")
        .order_by(case_table.c.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    if state:
        query = query.where(case_table.c.state == state)
    if contributor_id is not None:
        query = query.where(case_table.c.contributor_id == contributor_id)
    out = []
    with engine.connect() as conn:
        for row in conn.execute(query).mappings():
            try:
                require_reader(conn, actor, row)
            except Forbidden:
                continue
            out.append(refund_view(row, on, with_history=False, conn=conn))
    return out
