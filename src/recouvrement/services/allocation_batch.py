"""Allocation of many receipts at once, set-based, for a bank statement of a million lines.

`allocation_postings` reads one contributor's debts per receipt (three small queries); a camt.053
import of a million lines cannot afford that. Here the debts of a whole chunk of contributors are read
in three queries, and the receipts are allocated in memory in the order given, each receipt seeing
what the earlier ones of the batch paid, so the result is the same as posting them one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import NamedTuple

from sqlalchemy import Connection, and_, func, select

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.tables import account_balance, contributor
from recouvrement.adapters.db.tables import journal_posting as posting_t
from recouvrement.domain.allocation import Debt, allocate
from recouvrement.domain.errors import NotFound
from recouvrement.domain.ledger import LedgerAccount, Posting
from recouvrement.rules.allocation import allocation_order

RECEIVABLE = LedgerAccount.RECEIVABLE.value
CHUNK = 1_000


class ReceiptToAllocate(NamedTuple):
    """A payment to allocate: who paid, how much (cents), the designated periods, the date."""

    contributor_id: int
    amount: int
    designation: tuple[str, ...] | None
    on: date


def open_debts_many(conn: Connection, contributor_ids: Iterable[int]) -> dict[int, list[Debt]]:
    """The open debts of each contributor (from the cache), as `allocation.open_debts` gives them."""
    wanted = sorted(set(contributor_ids))
    out: dict[int, list[Debt]] = {c: [] for c in wanted}
    for i in range(0, len(wanted), CHUNK):
        chunk = wanted[i : i + CHUNK]
        b = (
            select(
                account_balance.c.contributor_id,
                account_balance.c.fund,
                account_balance.c.item,
                account_balance.c.period,
                account_balance.c.balance,
            )
            .where(
                account_balance.c.contributor_id.in_(chunk),
                account_balance.c.ledger_account == RECEIVABLE,
                account_balance.c.balance > 0,
            )
            .subquery("b")
        )
        rows = conn.execute(
            select(b, call.c.due_date).outerjoin(
                call,
                and_(call.c.contributor_id == b.c.contributor_id, call.c.period == b.c.period),
            )
        ).all()
        missing = {(r.contributor_id, r.fund, r.item, r.period) for r in rows if r.due_date is None}
        first = first_value_dates(conn, missing)
        for r in rows:
            key = (r.contributor_id, r.fund, r.item, r.period)
            due = r.due_date or first[key]
            out[r.contributor_id].append(Debt(r.fund, r.item, r.period, due, int(r.balance)))
    for debts in out.values():
        debts.sort(key=lambda d: (d.due_date, d.period, d.fund, d.item))
    return out


def first_value_dates(
    conn: Connection, keys: set[tuple[int, str, str, str]]
) -> dict[tuple[int, str, str, str], date]:
    """The first value date of the debit postings of each (contributor, fund, item, period): the
    due date of a debt without a call. Keys without a debit posting get date.min (paid first)."""
    out: dict[tuple[int, str, str, str], date] = {}
    if not keys:
        return out
    contributors = sorted({k[0] for k in keys})
    periods = sorted({k[3] for k in keys})
    for i in range(0, len(contributors), CHUNK):
        for r in conn.execute(
            select(
                posting_t.c.contributor_id,
                posting_t.c.fund,
                posting_t.c.item,
                posting_t.c.period,
                func.min(posting_t.c.value_date).label("first"),
            )
            .where(
                posting_t.c.contributor_id.in_(contributors[i : i + CHUNK]),
                posting_t.c.ledger_account == RECEIVABLE,
                posting_t.c.period.in_(periods),
                posting_t.c.amount > 0,
            )
            .group_by(
                posting_t.c.contributor_id, posting_t.c.fund, posting_t.c.item, posting_t.c.period
            )
        ):
            key = (r.contributor_id, r.fund, r.item, r.period)
            if key in keys:
                out[key] = r.first
    for k in keys:
        out.setdefault(k, date.min)
    return out


def schemes_of(conn: Connection, contributor_ids: Iterable[int]) -> dict[int, str]:
    """Each contributor's scheme ("employer" or "self_employed"); an unknown id is refused."""
    wanted = sorted(set(contributor_ids))
    found: dict[int, str] = {}
    for i in range(0, len(wanted), CHUNK):
        found.update(
            conn.execute(
                select(contributor.c.id, contributor.c.kind).where(
                    contributor.c.id.in_(wanted[i : i + CHUNK])
                )
            ).all()
        )
    missing = [c for c in wanted if c not in found]
    if missing:
        raise NotFound.single(
            "contributor_id", f"cotisant inconnu : {', '.join(map(str, missing[:20]))}", "not_found"
        )
    return found


def allocation_postings_many(
    conn: Connection, receipts: Sequence[ReceiptToAllocate]
) -> list[list[Posting]]:
    """For each receipt, in order, what `allocation.allocation_postings` would give if the receipts
    were posted one after the other: the receivable credits and the remainder on the credit key."""
    ids = [r.contributor_id for r in receipts]
    debts = open_debts_many(conn, ids)
    schemes = schemes_of(conn, ids)
    out: list[list[Posting]] = []
    for receipt in receipts:
        cid = receipt.contributor_id
        order = allocation_order(schemes[cid], receipt.on)
        result = allocate(debts[cid], receipt.amount, order, receipt.designation, receipt.on)
        paid = {(line.fund, line.item, line.period): line.amount for line in result.lines}
        debts[cid] = [
            d._replace(amount=d.amount - paid.get((d.fund, d.item, d.period), 0))
            for d in debts[cid]
            if d.amount > paid.get((d.fund, d.item, d.period), 0)
        ]
        postings = [
            Posting(RECEIVABLE, cid, line.fund, line.item, line.period, -line.amount)
            for line in result.lines
        ]
        if result.remainder:
            postings.append(Posting(RECEIVABLE, cid, "", "credit", "", -result.remainder))
        out.append(postings)
    return out
