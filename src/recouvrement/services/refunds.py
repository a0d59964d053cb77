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

from datetime import date

from sqlalchemy import Connection, Engine, select

from recouvrement.adapters.db.tables import organisation
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
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.domain.workload import Candidate, pick
from recouvrement.services import audit, cases, ledger
from recouvrement.services import refund_credits as credits
from recouvrement.services.refund_cases import (
    get_refund,
    iso,
    list_refunds,
    prepare,
    recheck,
    record_step,
)
from recouvrement.services.refund_disbursement import disburse_refunds, refund_file_content
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
# Check


def check_refund(engine: Engine, actor: Actor, case_id: int, *, on: date, note: str = "") -> dict:
    """An agent of the joint organisation checks the request; the case passes to the accounting
    officer, whose commitment clock starts that day (`refund_checked`)."""
    with cases.refusals_audited(engine, actor, "refund.check", case_id):
        require(actor, Permission.REFUNDS_CHECK)
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            row, who, agreement = prepare(conn, actor, case_id, "requested", "vérifier", on)
            payload = dict(row["payload"])
            account = rules.beneficiary_account(
                payload.get("iban", ""), payload.get("bic"), payload.get("holder") or who.name
            )
            figures = recheck(conn, row, who, payload.get("amount"))
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
                    "due_on": iso(row["due_on"]),
                    "breached_on": iso(row["breached_on"]),
                    "paused_business_days": row["paused_business_days"],
                },
            )
            detail = {
                "amount": payload["amount"],
                "activity": DISBURSEMENT,
                "assignee": assignee["login"] if assignee else None,
                "due_on": iso(due_on),
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
            record_step(conn, actor, row, "check", "checked", on, values, detail, note)
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


# ---------------------------------------------------------------------------------------------
# Approval


def approve_refund(engine: Engine, actor: Actor, case_id: int, *, on: date, note: str = "") -> dict:
    """The accounting officer approves: the credit is cancelled into `refund_payable`."""
    with cases.refusals_audited(engine, actor, "refund.approve", case_id):
        require(actor, Permission.REFUNDS_APPROVE)
        rules.require_accounting_officer(actor)
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            row, who, _agreement = prepare(conn, actor, case_id, "checked", "approuver", on)
            payload = dict(row["payload"])
            # A case opened through the generic case API has no `requested_by`: its opener asked.
            requester = (
                payload.get("requested_by", row["opened_by"])
                if payload.get("requested_by_agent", True)
                else None
            )
            rules.require_four_eyes(actor, payload.get("checked_by", ""), requester)
            amount = payload.get("amount")
            figures = recheck(conn, row, who, amount)
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
            record_step(
                conn, actor, row, "approve", "approved", on, {"payload": payload}, detail, note
            )
            uow.commit()
    return get_refund(engine, actor, case_id, on=on)
