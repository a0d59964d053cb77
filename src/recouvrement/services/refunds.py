"""Refunds of a credit: request, check, approval and disbursement, each a step of a `refund` case.

The joint organisation prepares (ISU agreement art. 4, activity `credits_refunds`): the contributor
asks on their portal, or an agent on their own initiative, with the account to pay; an agent
authorized on the activity checks it. The check hands the case to the collector's accounting
officer (activity `refund_disbursement`, outside the joint organisation, with its own service
commitment counted from the check, art. 4 and 5), who approves — never the checker nor the agent
who asked (four eyes) — and disburses by a SEPA credit transfer file.

Every step re-reads the credit: the amount must still be free in it and within the three years
of CSS art. L243-6 measured on the request date (the request interrupts the limitation). The
approval posts receivable credit key → `refund_payable` (`refund:<case>:approval`), the
disbursement `refund_payable` → `bank` (`refund:<case>:disbursement`); the keys are the case's, so
nothing can be posted twice. A refusal changes nothing and is audited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, insert, select, update

from recouvrement.adapters.db.refund_tables import refund_file
from recouvrement.adapters.db.tables import agent, case_event, case_table, organisation
from recouvrement.adapters.documents.refund_transfers import RefundPayment, refund_transfer_file
from recouvrement.adapters.documents.sepa import bank_account
from recouvrement.domain import cases as case_rules
from recouvrement.domain import refunds as rules
from recouvrement.domain.actors import (
    Actor,
    Permission,
    require,
    require_contributor,
    system_actor,
)
from recouvrement.domain.calendars import calendar_for
from recouvrement.domain.errors import Conflict, DomainError, Forbidden, NotFound, Problem
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.domain.workload import Candidate, pick
from recouvrement.services import audit, cases, ledger
from recouvrement.services import refund_credits as credits
from recouvrement.services.refund_steps import refunds_step
from recouvrement.services.unit_of_work import UnitOfWork

__all__ = [
    "approve_refund",
    "check_refund",
    "disburse_refunds",
    "get_refund",
    "list_refunds",
    "refund_file_content",
    "refunds_step",
    "request_refund",
]

DISBURSEMENT = "refund_disbursement"


# ---------------------------------------------------------------------------------------------
# Request


def request_refund(
    engine: Engine,
    actor: Actor,
    contributor_id: int,
    amount: int,
    *,
    iban: str,
    on: date,
    bic: str | None = None,
    holder: str | None = None,
    reason: str = "",
) -> dict:
    """Open a refund case for `amount` cents of the contributor's credit, received on `on`."""
    with cases.refusals_audited(engine, actor, "refund.request", contributor_id):
        require(actor, Permission.REFUNDS_REQUEST)
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            who = credits.contributor_row(conn, contributor_id)
            require_contributor(actor, contributor_id, who.organisation_id)
            account = rules.beneficiary_account(iban, bic, holder or who.name)
            figures = credits.check_amount(conn, contributor_id, who.territory, amount, on)
            by_agent = not actor.is_contributor
            # The portal's request is opened by the collection system on the contributor's
            # behalf: a contributor holds no authorization on the joint organisation's activity.
            opener = actor if by_agent else system_actor(f"portail:{actor.login}")
            payload = {
                "amount": amount,
                "iban": account.iban,
                "bic": account.bic,
                "holder": account.holder,
                "reason": reason.strip()[:500],
                "requested_by": actor.login,
                "requested_by_agent": by_agent,
                "requested_on": on.isoformat(),
                "credit_at_request": figures["credit"],
                "refundable_at_request": figures["refundable"],
            }
            case_id = cases.open_case_in(
                conn, opener, "refund", on=on, payload=payload, contributor_id=contributor_id
            )
            audit.record(
                conn,
                actor,
                "refund.request",
                "case",
                case_id,
                {"contributor_id": contributor_id, "amount": amount, **figures},
            )
            uow.commit()
    return get_refund(engine, actor, case_id, on=on)


# ---------------------------------------------------------------------------------------------
# Loading and acting on a refund case


def _load(conn: Connection, case_id: int, for_update: bool = False) -> dict:
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


_STATE_LABEL = {
    "requested": "demandé",
    "waiting_for_contributor": "en attente du cotisant",
    "checked": "vérifié",
    "approved": "approuvé",
    "disbursed": "décaissé",
    "rejected": "rejeté",
}


def _require_state(row: Mapping, wanted: str, action: str) -> None:
    if row["state"] == wanted:
        return
    payload = row["payload"] or {}
    if row["state"] == "disbursed":
        raise Conflict.single(
            "case_id",
            f"remboursement {row['id']} déjà décaissé (fichier {payload.get('message_id')})",
            "already_disbursed",
        )
    state = _STATE_LABEL.get(row["state"], row["state"])
    raise Conflict.single(
        "case_id",
        f"impossible de {action} le remboursement {row['id']} : il est {state}",
        "wrong_state",
    )


def _prepare(
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
    row = _load(conn, case_id, for_update=True)
    who = credits.contributor_row(conn, row["contributor_id"])
    require_contributor(actor, who.id, who.organisation_id)
    _require_state(row, state, action)
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


def _record(
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


def _requested_on(row: Mapping) -> date:
    return date.fromisoformat(row["payload"].get("requested_on") or row["opened_on"].isoformat())


def _recheck(conn: Connection, row: Mapping, who, amount: object) -> dict:
    return credits.check_amount(
        conn, who.id, who.territory, amount, _requested_on(row), except_case=row["id"]
    )


# ---------------------------------------------------------------------------------------------
# Check


def check_refund(engine: Engine, actor: Actor, case_id: int, *, on: date, note: str = "") -> dict:
    """An agent of the joint organisation checks the request; the case passes to the accounting
    officer, whose commitment clock starts that day (`refund_checked`)."""
    with cases.refusals_audited(engine, actor, "refund.check", case_id):
        require(actor, Permission.REFUNDS_CHECK)
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            row, who, agreement = _prepare(conn, actor, case_id, "requested", "vérifier", on)
            payload = dict(row["payload"])
            account = rules.beneficiary_account(
                payload.get("iban", ""), payload.get("bic"), payload.get("holder") or who.name
            )
            figures = _recheck(conn, row, who, payload.get("amount"))
            assignee = _accounting_officer(conn, agreement, on)
            owners = case_rules.activity_organisations(agreement, DISBURSEMENT)
            owner_code = assignee["organisation_code"] if assignee else owners[0]
            owner = conn.execute(
                select(organisation.c.id, organisation.c.territory).where(
                    organisation.c.code == owner_code
                )
            ).one()
            territory = owner.territory or "FR"
            due_on = case_rules.due_date(
                calendar_for(territory), on, case_rules.commitment_days(agreement, DISBURSEMENT)
            )
            payload.update(
                iban=account.iban,
                bic=account.bic,
                holder=account.holder,
                checked_by=actor.login,
                checked_on=on.isoformat(),
                # The joint organisation's commitment, kept as it ended.
                request_commitment={
                    "due_on": _iso(row["due_on"]),
                    "breached_on": _iso(row["breached_on"]),
                    "paused_business_days": row["paused_business_days"],
                },
            )
            detail = {
                "amount": payload["amount"],
                "activity": DISBURSEMENT,
                "assignee": assignee["login"] if assignee else None,
                "due_on": _iso(due_on),
                **figures,
            }
            values = {
                "activity": DISBURSEMENT,
                "owner_organisation_id": owner.id,
                "assignee_id": assignee["id"] if assignee else None,
                "calendar": territory,
                "due_on": due_on,
                "paused_since": None,
                "paused_business_days": 0,
                "breached_on": None,
                "payload": payload,
            }
            _record(conn, actor, row, "check", "checked", on, values, detail, note)
            uow.commit()
    return get_refund(engine, actor, case_id, on=on)


def _accounting_officer(conn: Connection, agreement, on: date) -> dict | None:
    """The accounting officer the balanced queue gives the disbursement to (docs/cases.md)."""
    team = cases.assignable_agents(conn, agreement, DISBURSEMENT, on)
    per_agent, per_org = cases.queue_loads(conn, DISBURSEMENT)
    chosen = pick(
        [Candidate(a["id"], a["organisation_code"], per_agent.get(a["id"], 0)) for a in team],
        per_org,
    )
    return None if chosen is None else next(a for a in team if a["id"] == chosen.agent_id)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


# ---------------------------------------------------------------------------------------------
# Approval


def approve_refund(engine: Engine, actor: Actor, case_id: int, *, on: date, note: str = "") -> dict:
    """The accounting officer approves: the credit is cancelled into `refund_payable`."""
    with cases.refusals_audited(engine, actor, "refund.approve", case_id):
        require(actor, Permission.REFUNDS_APPROVE)
        rules.require_accounting_officer(actor)
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            row, who, _agreement = _prepare(conn, actor, case_id, "checked", "approuver", on)
            payload = dict(row["payload"])
            requester = payload.get("requested_by") if payload.get("requested_by_agent") else None
            rules.require_four_eyes(actor, payload.get("checked_by", ""), requester)
            amount = payload.get("amount")
            figures = _recheck(conn, row, who, amount)
            entry = Entry(
                f"refund:{case_id}:approval",
                on,
                Cause.REFUND,
                (
                    Posting(LedgerAccount.RECEIVABLE, who.id, "", rules.CREDIT_ITEM, "", amount),
                    Posting(LedgerAccount.REFUND_PAYABLE, who.id, "", "", "", -amount),
                ),
                f"Remboursement {case_id} approuvé",
            )
            ledger.post_entries(conn, system_actor(f"refunds:{actor.login}"), [entry])
            payload.update(approved_by=actor.login, approved_on=on.isoformat())
            detail = {"amount": amount, "entry": entry.idempotency_key, **figures}
            _record(conn, actor, row, "approve", "approved", on, {"payload": payload}, detail, note)
            uow.commit()
    return get_refund(engine, actor, case_id, on=on)


# ---------------------------------------------------------------------------------------------
# Disbursement


def disburse_refunds(
    engine: Engine,
    actor: Actor,
    case_ids: Sequence[int],
    *,
    on: date,
    execution_date: date | None = None,
) -> dict:
    """One SEPA credit transfer file paying the approved refunds; each is posted
    `refund_payable` → `bank` and closed. Returns the file's reference."""
    ids = sorted({int(i) for i in case_ids})
    execution_date = execution_date or on
    with cases.refusals_audited(engine, actor, "refund.disburse", ",".join(map(str, ids))[:100]):
        require(actor, Permission.REFUNDS_APPROVE)
        rules.require_accounting_officer(actor)
        if not ids:
            raise DomainError.single("case_ids", "au moins un remboursement attendu", "required")
        if execution_date < on:
            raise DomainError.single(
                "execution_date", "date d'exécution antérieure à la date d'émission", "in_the_past"
            )
        with UnitOfWork(engine) as uow:
            result = _disburse_in(uow.conn, actor, ids, on, execution_date)
            uow.commit()
    return result


def _disburse_in(
    conn: Connection, actor: Actor, ids: list[int], on: date, execution_date: date
) -> dict:
    rows, payments, entries, owed = [], [], [], {}
    territories = set()
    for case_id in ids:
        row, who, _agreement = _prepare(
            conn, actor, case_id, "approved", "décaisser", on, assignee_only=False
        )
        amount = row["payload"]["amount"]
        owed[who.id] = owed.get(who.id, 0) + amount
        payable = -credits.cached_balance(conn, who.id, credits.REFUND_PAYABLE)
        if owed[who.id] > payable:
            raise Conflict.single(
                "case_ids",
                f"remboursement {case_id} : le montant approuvé n'est plus dû au cotisant "
                f"({payable} centimes restent à rembourser)",
                "not_payable",
            )
        territories.add(row["calendar"])
        rows.append(row)
        p = row["payload"]
        payments.append(
            RefundPayment(
                f"RMB-{case_id}",
                p["holder"],
                p["iban"],
                p["bic"],
                amount,
                f"Remboursement de cotisations - dossier {case_id}",
            )
        )
        entries.append(
            Entry(
                f"refund:{case_id}:disbursement",
                on,
                Cause.REFUND,
                (
                    Posting(LedgerAccount.REFUND_PAYABLE, who.id, "", "", "", amount),
                    Posting(LedgerAccount.BANK, None, "", "", "", -amount),
                ),
                f"Remboursement {case_id} décaissé",
            )
        )
    if len(territories) > 1:
        raise DomainError.single(
            "case_ids",
            "remboursements de plusieurs agences comptables : un fichier par compte de départ",
            "mixed_accounts",
        )
    territory = territories.pop()
    debtor = bank_account(
        "refunds.disbursement_account",
        {
            name: credits.parameter(f"refunds.disbursement_account.{name}", on, territory)
            for name in ("holder", "iban", "bic")
        },
    )
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:10].upper()
    message_id = f"RMB-{on:%Y%m%d}-{digest}"
    content = refund_transfer_file(
        debtor=debtor, payments=payments, execution_date=execution_date, message_id=message_id
    )
    total = sum(p.amount for p in payments)
    file_id = conn.execute(
        insert(refund_file).values(
            message_id=message_id,
            territory=territory,
            issued_on=on,
            execution_date=execution_date,
            issued_by=actor.login,
            issued_at=datetime.now(UTC),
            payment_count=len(payments),
            total=total,
            case_ids=ids,
            content=content,
        )
    ).inserted_primary_key[0]
    ledger.post_entries(conn, system_actor(f"refunds:{actor.login}"), entries)
    now = datetime.now(UTC)
    for row, entry in zip(rows, entries, strict=True):
        payload = dict(row["payload"]) | {
            "disbursed_by": actor.login,
            "disbursed_on": on.isoformat(),
            "file_id": file_id,
            "message_id": message_id,
        }
        values = {"payload": payload, "closed_on": on, "closed_at": now}
        detail = {"amount": payload["amount"], "file_id": file_id, "message_id": message_id}
        detail["entry"] = entry.idempotency_key
        _record(conn, actor, row, "disburse", "disbursed", on, values, detail)
    audit.record(
        conn,
        actor,
        "refund.file.issue",
        "refund_file",
        file_id,
        {"message_id": message_id, "payments": len(payments), "total": total, "case_ids": ids},
    )
    return {
        "file_id": file_id,
        "message_id": message_id,
        "payment_count": len(payments),
        "total": total,
        "execution_date": execution_date.isoformat(),
        "case_ids": ids,
    }


def refund_file_content(engine: Engine, actor: Actor, file_id: int) -> dict:
    """A disbursement file as issued (the XML), for the accounting officer's bank channel."""
    require(actor, Permission.REFUNDS_APPROVE)
    with engine.connect() as conn:
        row = (
            conn.execute(select(refund_file).where(refund_file.c.id == file_id)).mappings().first()
        )
    if row is None:
        raise NotFound.single("file_id", f"fichier de remboursement {file_id} inconnu", "not_found")
    return dict(row)


# ---------------------------------------------------------------------------------------------
# Reading


def _view(row: Mapping, on: date, with_history: bool, conn: Connection) -> dict:
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
        "due_on": _iso(row["due_on"]),
        "breached_on": _iso(row["breached_on"]),
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


def _require_reader(conn: Connection, actor: Actor, row: Mapping) -> None:
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
        row = _load(conn, case_id)
        _require_reader(conn, actor, row)
        return _view(row, on, with_history=True, conn=conn)


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
                _require_reader(conn, actor, row)
            except Forbidden:
                continue
            out.append(_view(row, on, with_history=False, conn=conn))
    return out
