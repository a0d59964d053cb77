"""Allocation of many receipts at once, set-based, for a bank statement of a million lines.

`allocation_postings` reads one contributor's debts per receipt (three small queries); a camt.053
import of a million lines cannot afford that. Here the debts of a whole chunk of contributors are read
in three queries, and the receipts are allocated in memory in the order given, each receipt seeing
what the earlier ones of the batch paid, so the result is the same as posting them one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import Connection, and_, func, select

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.tables import account_balance, contributor
from recouvrement.adapters.db.tables import journal_posting as posting_t
from recouvrement.domain.allocation import (
    Allocation,
    AllocationLine,
    AllocationOrder,
    Debt,
    allocate,
    sort_key,
)
from recouvrement.domain.errors import NotFound
from recouvrement.domain.ledger import LedgerAccount, Posting
from recouvrement.rules.allocation import allocation_order

RECEIVABLE = LedgerAccount.RECEIVABLE.value
CHUNK = 1_000
_DYNAMIC = frozenset({"designated", "due", "due_on_payment_day"})


class ReceiptToAllocate(NamedTuple):
    """A payment to allocate: who paid, how much (cents), the designated periods, the date."""

    contributor_id: int
    amount: int
    designation: tuple[str, ...] | None
    on: date


@lru_cache(maxsize=64)
def _plan(order: AllocationOrder) -> tuple[tuple[str, ...] | None, dict[tuple, tuple]]:
    """The criteria that depend on the payment (its date, its designation), when they all come
    before those that depend on the debt alone (as in every order of rules/allocation.yaml), and
    the ranks of the debts already seen under this order. None when the criteria are mixed:
    `allocate_fast` then falls back on the domain's `allocate`."""
    criteria = order.criteria
    n = 0
    while n < len(criteria) and criteria[n] in _DYNAMIC:
        n += 1
    if any(c in _DYNAMIC for c in criteria[n:]):
        return None, {}
    return criteria[:n], {}


def allocate_fast(
    debts: Sequence[Debt],
    amount: int,
    order: AllocationOrder,
    designation: Iterable[str] | None,
    on: date | None,
) -> Allocation:
    """`domain.allocation.allocate`, the same lines in the same order (a property test holds them
    equal), at a few microseconds a receipt: the part of each debt's rank that depends on the debt
    alone (kind, due date, period, item: `sort_key` past the payment's criteria) is computed once
    per debt and order, and only the payment's criteria (designation, due by the payment date) are
    evaluated per receipt. Anything unusual (not cents, no date) goes to `allocate`, which says
    what is wrong."""
    dynamic, ranks = _plan(order)
    if dynamic is None or on is None or type(amount) is not int or amount < 0:
        return allocate(debts, amount, order, designation, on)
    designated = frozenset(designation or ()) if order.designation else frozenset()
    n = len(dynamic)
    ranked = []
    for d in debts:
        if type(d.amount) is not int or d.amount <= 0:
            return allocate(debts, amount, order, designation, on)
        static = ranks.get(d[:4])
        if static is None:
            if len(ranks) > 1_000_000:
                ranks.clear()
            static = ranks[d[:4]] = sort_key(d, order, frozenset(), on)[n:]
        head = []
        for criterion in dynamic:
            if criterion == "designated":
                head.append(0 if d.period in designated else 1)
            elif criterion == "due":
                head.append(0 if d.due_date <= on else 1)
            else:  # due_on_payment_day
                head.append(0 if d.due_date == on else 1)
        ranked.append(((*head, static), d))
    ranked.sort(key=_first)
    left = amount
    lines = []
    for _, d in ranked:
        if left == 0:
            break
        paid = left if left < d.amount else d.amount
        lines.append(AllocationLine(d.fund, d.item, d.period, paid))
        left -= paid
    return Allocation(tuple(lines), left)


def _first(pair: tuple) -> tuple:
    return pair[0]


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
        result = allocate_fast(debts[cid], receipt.amount, order, receipt.designation, receipt.on)
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
