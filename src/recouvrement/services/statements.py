"""Account statements (relevé de compte) and call notices (avis d'appel de cotisations) on demand.

Both read the ledger and the `call` table, never change them. A contributor may read only their
own account, an agent the accounts of the organisations they reach (ISU agreement art. 6); a
refused attempt is written to the audit trail here, so that every adapter (API, command line)
leaves the same trace.

The figures of a call notice are those of the day it was issued (the call's issue date), as the
daily cycle prints them (`services/call_issuing`): a notice downloaded again later says what the
contributor received.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import Connection, Engine, and_, case, func, select

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.tables import (
    contributor,
    journal_entry,
    journal_posting,
    organisation,
)
from recouvrement.domain.actors import Actor, Permission, require, require_contributor
from recouvrement.domain.allocation import CREDIT_ITEM, item_kind
from recouvrement.domain.errors import DomainError, Forbidden, NotFound
from recouvrement.domain.payment_reference import account_reference
from recouvrement.services import audit

CALLED_CAUSES = ("declaration", "assessment", "call")
"""Causes of the entries that make up what a call calls (and their reversals); payments,
allocations and surcharges are not part of it."""

DEFAULT_RANGE = timedelta(days=365)
"""Without a start date, a statement lists the movements of the year before its date."""


# ---------------------------------------------------------------------------------------------
# Reach


def _contributor(conn: Connection, actor: Actor, contributor_id: int, action: str):
    """The contributor and their organisation, once the actor's right and reach are checked."""
    require(actor, Permission.LEDGER_READ)
    row = conn.execute(
        select(
            contributor.c.id,
            contributor.c.kind,
            contributor.c.name,
            contributor.c.address,
            contributor.c.nir,
            contributor.c.siren,
            contributor.c.organisation_id,
            organisation.c.code.label("organisation_code"),
            organisation.c.name.label("organisation_name"),
        )
        .join(organisation, organisation.c.id == contributor.c.organisation_id)
        .where(contributor.c.id == contributor_id)
    ).first()
    if row is None:
        raise NotFound.single("contributor_id", f"cotisant {contributor_id} inconnu", "not_found")
    try:
        require_contributor(actor, contributor_id, row.organisation_id)
    except Forbidden as err:
        audit.record_refusal(
            conn.engine, actor, action, "contributor", contributor_id, str(err), "statements"
        )
        audit.mark_recorded(err)
        raise
    return row


def _identity(row) -> dict:
    employer = row.kind == "employer"
    return {
        "id": row.id,
        "name": row.name,
        "address_lines": _address_lines(row.address or ""),
        "identifier_label": "SIREN" if employer else "N° de sécurité sociale",
        "identifier": (row.siren if employer else row.nir) or "",
    }


def _address_lines(address: str) -> list[str]:
    """An address kept on one line ("12 rue X, 69003 Lyon") is printed on one line per part."""
    parts = address.splitlines() if "\n" in address else address.split(",")
    return [p.strip() for p in parts if p.strip()]


def _organisation(row) -> dict:
    return {"code": row.organisation_code, "name": row.organisation_name}


# ---------------------------------------------------------------------------------------------
# Account statement


def account_statement_data(
    engine: Engine,
    actor: Actor,
    contributor_id: int,
    as_of: date,
    since: date | None = None,
) -> dict:
    """What a statement shows at `as_of`: the open debts by period (with the due date of their
    call), the totals of principal, surcharges, penalties and credit, the calls due and the
    receivable movements from `since` (a year earlier by default) to `as_of`. Amounts in cents."""
    since = since or as_of - DEFAULT_RANGE
    if since > as_of:
        raise DomainError.single(
            "since", "la date de début est postérieure à la date du relevé", "bad_range"
        )
    with engine.connect() as conn:
        who = _contributor(conn, actor, contributor_id, "statements.account")
        balances = _receivable_balances(conn, contributor_id, as_of)
        due_dates = dict(
            conn.execute(
                select(call.c.period, call.c.due_date).where(
                    call.c.contributor_id == contributor_id
                )
            ).all()
        )
        entries = _movements(conn, contributor_id, since, as_of)
        calls = _calls(conn, contributor_id, since, as_of)
    periods: dict[str, list[dict]] = defaultdict(list)
    totals = {"principal": 0, "surcharge": 0, "penalty": 0, "credit": 0}
    for (fund, item, period), amount in sorted(balances.items(), key=_debt_order):
        kind = item_kind(item)
        if item == CREDIT_ITEM or amount < 0:
            totals["credit"] -= amount
            continue
        totals[kind] += amount
        periods[period].append({"fund": fund, "item": item, "kind": kind, "amount": amount})
    owed = totals["principal"] + totals["surcharge"] + totals["penalty"]
    totals["due"] = max(owed - totals["credit"], 0)
    totals["balance"] = owed - totals["credit"]
    return {
        "document_date": as_of.isoformat(),
        "as_of": as_of.isoformat(),
        "since": since.isoformat(),
        "unit": "cents",
        "organisation": _organisation(who),
        "contributor": _identity(who),
        "payment_reference": account_reference(contributor_id),
        "periods": [
            {
                "period": period,
                "due_date": due_dates[period].isoformat() if period in due_dates else None,
                "lines": lines,
                "total": sum(line["amount"] for line in lines),
            }
            for period, lines in periods.items()
        ],
        "totals": totals,
        "entries": entries,
        "calls": calls,
    }


def _debt_order(item: tuple[tuple[str, str, str], int]) -> tuple:
    """Oldest period first, principal before surcharges and penalties, as allocation pays them."""
    (fund, name, period), _ = item
    rank = {"principal": 0, "surcharge": 1, "penalty": 2}.get(item_kind(name), 3)
    return (period, rank, fund, name)


def _receivable_balances(
    conn: Connection, contributor_id: int, as_of: date
) -> dict[tuple[str, str, str], int]:
    p = journal_posting
    keys = (p.c.fund, p.c.item, p.c.period)
    total = func.sum(p.c.amount)
    rows = conn.execute(
        select(*keys, total.label("amount"))
        .where(
            p.c.contributor_id == contributor_id,
            p.c.ledger_account == "receivable",
            p.c.value_date <= as_of,
        )
        .group_by(*keys)
        .having(total != 0)
    )
    return {(r.fund, r.item, r.period): int(r.amount) for r in rows}


def _movements(conn: Connection, contributor_id: int, since: date, as_of: date) -> list[dict]:
    """The entries that moved the contributor's receivable, oldest first, netted per entry."""
    p, e = journal_posting, journal_entry
    rows = conn.execute(
        select(e.c.id, e.c.value_date, e.c.cause, e.c.description, p.c.amount)
        .join(e, e.c.id == p.c.entry_id)
        .where(
            p.c.contributor_id == contributor_id,
            p.c.ledger_account == "receivable",
            p.c.value_date >= since,
            p.c.value_date <= as_of,
        )
        .order_by(p.c.value_date, e.c.id)
    )
    out: dict[int, dict] = {}
    for r in rows:
        entry = out.setdefault(
            r.id,
            {
                "id": r.id,
                "value_date": r.value_date.isoformat(),
                "cause": r.cause,
                "description": r.description or "",
                "amount": 0,
            },
        )
        entry["amount"] += int(r.amount)
    items = [m for m in out.values() if m["amount"]]
    for m in items:
        m["debit"] = max(m["amount"], 0)
        m["credit"] = max(-m["amount"], 0)
    return items


def _calls(conn: Connection, contributor_id: int, since: date, as_of: date) -> list[dict]:
    rows = conn.execute(
        select(call)
        .where(
            call.c.contributor_id == contributor_id,
            call.c.due_date >= since,
            call.c.issue_date <= as_of,
        )
        .order_by(call.c.due_date, call.c.id)
    )
    return [
        {
            "id": r.id,
            "reference": r.reference,
            "period": r.period,
            "due_date": r.due_date.isoformat(),
            "amount": int(r.amount),
            "status": r.status,
        }
        for r in rows
    ]


def account_statement_pdf(
    engine: Engine,
    actor: Actor,
    contributor_id: int,
    as_of: date,
    since: date | None = None,
) -> tuple[str, bytes]:
    """The statement as a French PDF letter, with its file name."""
    from recouvrement.adapters.documents.pdf import render_pdf

    data = account_statement_data(engine, actor, contributor_id, as_of, since)
    name = f"releve-de-compte-{contributor_id}-{as_of.isoformat()}.pdf"
    return name, render_pdf("account_statement", data)


# ---------------------------------------------------------------------------------------------
# Call notice


def call_notice_data(engine: Engine, actor: Actor, call_id: int) -> dict:
    """The context of the `call_notice` template for one call (keys listed at its top)."""
    require(actor, Permission.LEDGER_READ)
    with engine.connect() as conn:
        row = conn.execute(select(call).where(call.c.id == call_id)).first()
        if row is None:
            raise NotFound.single("call_id", f"appel {call_id} inconnu", "not_found")
        who = _contributor(conn, actor, row.contributor_id, "statements.call_notice")
        lines, outstanding = _notice_figures(conn, row)
    return {
        "document_date": row.issue_date.isoformat(),
        "organisation": _organisation(who),
        "contributor": _identity(who),
        "call": {
            "id": row.id,
            "period": row.period,
            "kind": row.kind,
            "reference": row.reference,
            "issue_date": row.issue_date.isoformat(),
            "due_date": row.due_date.isoformat(),
            "amount": int(row.amount),
            "status": row.status,
        },
        "lines": lines,
        "total": sum(line["amount"] for line in lines) if lines else int(row.amount),
        "outstanding": outstanding,
        "payment_reference": account_reference(row.contributor_id),
    }


def _notice_figures(conn: Connection, row) -> tuple[list[dict], int]:
    """The principal called by fund and item (entries of a called cause, and their reversals),
    and what remains unpaid on the period, both as of the call's issue date."""
    p, e, reversed_entry = journal_posting, journal_entry, journal_entry.alias("reversed")
    cause = case((e.c.cause == "reversal", reversed_entry.c.cause), else_=e.c.cause)
    found = conn.execute(
        select(p.c.fund, p.c.item, p.c.amount, cause.label("cause"))
        .join(e, e.c.id == p.c.entry_id)
        .outerjoin(reversed_entry, reversed_entry.c.id == e.c.reverses_id)
        .where(
            and_(
                p.c.contributor_id == row.contributor_id,
                p.c.period == row.period,
                p.c.ledger_account == "receivable",
                p.c.value_date <= row.issue_date,
            )
        )
    )
    called: dict[tuple[str, str], int] = defaultdict(int)
    net: dict[tuple[str, str], int] = defaultdict(int)
    for f in found:
        net[(f.fund, f.item)] += int(f.amount)
        if item_kind(f.item) == "principal" and f.cause in CALLED_CAUSES:
            called[(f.fund, f.item)] += int(f.amount)
    lines = [
        {"fund": fund, "item": item, "amount": amount}
        for (fund, item), amount in sorted(called.items())
        if amount
    ]
    return lines, sum(max(v, 0) for v in net.values())


def call_notice(engine: Engine, actor: Actor, call_id: int) -> tuple[str, bytes]:
    """The notice of a call as a French PDF letter, with its file name."""
    from recouvrement.adapters.documents.pdf import render_pdf

    data = call_notice_data(engine, actor, call_id)
    name = f"appel-de-cotisations-{data['call']['reference']}.pdf".replace(" ", "_")
    return name, render_pdf("call_notice", data)
