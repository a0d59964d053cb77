"""Allocation of receipts and credits to a contributor's open debts, in the legal order.

The debts are the positive receivable balances of the account (`account_balance`); their due date is
the due date of the call of (contributor, period), or the first value date of the key when there is
no call. The order is the dated order of the contributor's scheme (`rules/allocation.yaml`).

A payment made before a debt falls due pays the debts already due first (Code civil art. 1342-10:
"d'abord sur les dettes échues"), then the next instalments, earliest first — unless the contributor
designates the period (the call's reference does so), in which case that period comes first; for
the self-employed, a payment made on an instalment date pays that instalment first (CSS D133-4 II).
What is left becomes a credit on the account (key fund "", item "credit", period ""), which the
daily cycle applies to debts as they fall due (`apply_credits_step`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, Engine, and_, exists, func, or_, select

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.tables import account_balance, contributor, journal_entry
from recouvrement.adapters.db.tables import journal_posting as posting_t
from recouvrement.domain.actors import Actor, Permission, require, system_actor
from recouvrement.domain.allocation import CREDIT_ITEM, Allocation, Debt, allocate
from recouvrement.domain.errors import NotFound
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.domain.money import format_euros_fr
from recouvrement.rules.allocation import allocation_order
from recouvrement.services import audit
from recouvrement.services.allocation_batch import first_value_dates, open_debts_many
from recouvrement.services.daily_cycle_report import Progress, StepReport
from recouvrement.services.ledger import check_contributors, post_entries
from recouvrement.services.unit_of_work import UnitOfWork

RECEIVABLE = LedgerAccount.RECEIVABLE.value
BATCH_SIZE = 500


def credit_key(contributor_id: int) -> tuple[str, int, str, str, str]:
    """The ledger key of a contributor's credit: (account, contributor, fund, item, period)."""
    return (RECEIVABLE, contributor_id, "", CREDIT_ITEM, "")


def _scheme(conn: Connection, contributor_id: int) -> str:
    kind = conn.scalar(select(contributor.c.kind).where(contributor.c.id == contributor_id))
    if kind is None:
        raise NotFound.single("contributor_id", f"cotisant {contributor_id} inconnu", "not_found")
    return kind


def open_debts(conn: Connection, contributor_id: int, as_of: date | None = None) -> list[Debt]:
    """The contributor's positive receivable balances, each with its due date.

    Without `as_of`, from the `account_balance` cache; with it, from the journal's postings dated on
    or before it. A positive credit key (money owed back after a reversed receipt whose credit had
    been used) is a debt too, of kind "credit", paid last.
    """
    if as_of is None:
        return open_debts_many(conn, [contributor_id])[contributor_id]
    total = func.sum(posting_t.c.amount)
    b = (
        select(posting_t.c.fund, posting_t.c.item, posting_t.c.period, total.label("balance"))
        .where(
            posting_t.c.contributor_id == contributor_id,
            posting_t.c.ledger_account == RECEIVABLE,
            posting_t.c.value_date <= as_of,
        )
        .group_by(posting_t.c.fund, posting_t.c.item, posting_t.c.period)
        .having(total > 0)
        .subquery("b")
    )
    rows = conn.execute(
        select(b.c.fund, b.c.item, b.c.period, b.c.balance, call.c.due_date).outerjoin(
            call, and_(call.c.contributor_id == contributor_id, call.c.period == b.c.period)
        )
    ).all()
    first = first_value_dates(
        conn, {(contributor_id, r.fund, r.item, r.period) for r in rows if r.due_date is None}
    )
    debts = [
        Debt(
            r.fund,
            r.item,
            r.period,
            r.due_date or first[(contributor_id, r.fund, r.item, r.period)],
            int(r.balance),
        )
        for r in rows
    ]
    debts.sort(key=lambda d: (d.due_date, d.period, d.fund, d.item))
    return debts


def allocation_of(
    conn: Connection,
    contributor_id: int,
    amount: int,
    designation: list[str] | tuple[str, ...] | None = None,
    on: date | None = None,
) -> Allocation:
    """How `amount` cents paid on `on` settle the contributor's open debts (no posting)."""
    on = on or date.today()
    order = allocation_order(_scheme(conn, contributor_id), on)
    return allocate(open_debts(conn, contributor_id), amount, order, designation, on)


def allocation_postings(
    conn: Connection,
    contributor_id: int,
    amount: int,
    designation: list[str] | tuple[str, ...] | None = None,
    on: date | None = None,
) -> list[Posting]:
    """The receivable credits for `amount` cents paid by the contributor on `on`, in legal order,
    plus the remainder to the credit key. The caller adds the debit side (e.g. `bank`) and posts.

    `designation`: periods the contributor designated (e.g. the period of the call whose reference
    the payment carries). Reads the cache in the caller's transaction, so a receipt posted earlier
    in it counts.
    """
    allocation = allocation_of(conn, contributor_id, amount, designation, on)
    postings = [
        Posting(RECEIVABLE, contributor_id, line.fund, line.item, line.period, -line.amount)
        for line in allocation.lines
    ]
    if allocation.remainder:
        postings.append(Posting(*credit_key(contributor_id), -allocation.remainder))
    return postings


# ---------------------------------------------------------------------------------------------
# Daily cycle: existing credits pay the debts that have fallen due


def credit_allocation_key(contributor_id: int, day: date) -> str:
    return f"credit-allocation:{contributor_id}:{day.isoformat()}"


def _candidates(conn: Connection, day: date) -> list[int]:
    """Contributors with a credit and a debt that may be due on `day`, in one query.

    A debt counts when its call's due date is on or before `day`, or when it has no call (its due
    date is then its first value date, checked per contributor). A superset: each is checked again.
    """
    credit = account_balance.alias("credit")
    debt = account_balance.alias("debt")
    due = exists(
        select(1)
        .select_from(
            debt.outerjoin(
                call,
                and_(
                    call.c.contributor_id == debt.c.contributor_id, call.c.period == debt.c.period
                ),
            )
        )
        .where(
            debt.c.contributor_id == credit.c.contributor_id,
            debt.c.ledger_account == RECEIVABLE,
            debt.c.item != CREDIT_ITEM,
            debt.c.balance > 0,
            or_(call.c.due_date <= day, call.c.id.is_(None)),
        )
    )
    return list(
        conn.scalars(
            select(credit.c.contributor_id)
            .where(
                credit.c.ledger_account == RECEIVABLE,
                credit.c.fund == "",
                credit.c.item == CREDIT_ITEM,
                credit.c.period == "",
                credit.c.balance < 0,
                due,
            )
            .order_by(credit.c.contributor_id)
        )
    )


def _credit_balance(conn: Connection, contributor_id: int) -> int:
    """The credit key's balance, its cache row locked (PostgreSQL) until the caller commits, so a
    refund or another allocation cannot use the same credit at the same time."""
    balance = conn.scalar(
        select(account_balance.c.balance)
        .where(
            account_balance.c.contributor_id == contributor_id,
            account_balance.c.ledger_account == RECEIVABLE,
            account_balance.c.fund == "",
            account_balance.c.item == CREDIT_ITEM,
            account_balance.c.period == "",
        )
        .with_for_update()
    )
    return int(balance or 0)


def _credit_entry(conn: Connection, contributor_id: int, day: date) -> Entry | None:
    """The entry moving the contributor's credit onto the debts due on `day`, or None."""
    credit = _credit_balance(conn, contributor_id)
    if not credit or credit >= 0:
        return None
    due = [
        d for d in open_debts(conn, contributor_id) if d.item != CREDIT_ITEM and d.due_date <= day
    ]
    if not due:
        return None
    order = allocation_order(_scheme(conn, contributor_id), day)
    allocation = allocate(due, -credit, order, None, day)
    if not allocation.lines:
        return None
    used = allocation.allocated
    postings = (
        Posting(*credit_key(contributor_id), used),
        *(
            Posting(RECEIVABLE, contributor_id, line.fund, line.item, line.period, -line.amount)
            for line in allocation.lines
        ),
    )
    return Entry(
        credit_allocation_key(contributor_id, day),
        day,
        Cause.ALLOCATION.value,
        postings,
        f"Imputation du crédit du compte sur les échéances dues : {format_euros_fr(used)}",
    )


def apply_credits_step(engine: Engine, day: date, progress: Progress | None = None) -> StepReport:
    """Daily cycle: each contributor's credit pays the debts due on or before `day`.

    One entry per contributor and day (key `credit-allocation:<contributor>:<day>`); a contributor
    whose entry for the day is already in the journal is skipped, so a re-run after a crash between
    batches posts only what is missing. Batches of BATCH_SIZE contributors, each committed.
    """
    report = StepReport("apply_credits")
    actor = system_actor("cycle-quotidien")
    with engine.connect() as conn:
        candidates = _candidates(conn, day)
    total = len(candidates)
    for start in range(0, total, BATCH_SIZE):
        batch = candidates[start : start + BATCH_SIZE]
        with UnitOfWork(engine) as uow:
            done = set(
                uow.conn.scalars(
                    select(journal_entry.c.idempotency_key).where(
                        journal_entry.c.idempotency_key.in_(
                            [credit_allocation_key(c, day) for c in batch]
                        )
                    )
                )
            )
            entries = []
            for cid in batch:
                if credit_allocation_key(cid, day) in done:
                    report.add("credits_already_applied")
                    continue
                entry = _credit_entry(uow.conn, cid, day)
                if entry is not None:
                    entries.append(entry)
                    report.add("credits_applied", amount=entry.postings[0].amount)
            if entries:
                post_entries(uow.conn, actor, entries)
            uow.commit()
        if progress is not None:
            progress(min(start + BATCH_SIZE, total), total)
    return report


# ---------------------------------------------------------------------------------------------
# After a reversed receipt


def reallocate(conn: Connection, actor: Actor, contributor_id: int, on: date) -> list[Posting]:
    """Reopen the debts a credit paid when the receipt behind that credit has been reversed.

    Reversing a receipt mirrors its entry: the debts it paid reopen, and the credit it left is taken
    back. When that credit had already paid debts (`apply_credits_step`), taking it back leaves the
    credit key positive: the contributor owes that money back. Exactly that amount is moved back
    onto the keys the credit paid, the latest credit allocations first (a line is reopened at most
    for what it paid), so those debts are owed again with their own due dates and surcharges. What
    cannot be traced stays on the credit key as a debt, paid last. Runs in the caller's transaction
    (`conn`); returns the postings made (none when the credit key is not positive).
    """
    require(actor, Permission.LEDGER_POST)
    check_contributors(conn, actor, [contributor_id])
    owed = _credit_balance(conn, contributor_id)
    if not owed or owed <= 0:
        return []
    lines = _credit_allocations(conn, contributor_id)
    reopened: list[Posting] = []
    left = owed
    for fund, item, period, paid in lines:
        if left == 0:
            break
        back = min(left, paid)
        reopened.append(Posting(RECEIVABLE, contributor_id, fund, item, period, back))
        left -= back
    if not reopened:
        return []
    moved = owed - left
    postings = (Posting(*credit_key(contributor_id), -moved), *reopened)
    prefix = f"credit-reopening:{contributor_id}:{on.isoformat()}:"
    n = sum(1 for key in _allocation_keys(conn, contributor_id) if key.startswith(prefix))
    entry = Entry(
        f"{prefix}{n + 1}",
        on,
        Cause.ALLOCATION.value,
        postings,
        f"Réouverture des échéances payées par un crédit annulé : {format_euros_fr(moved)}",
    )
    post_entries(conn, system_actor(f"imputation:{actor.login}"), [entry])
    audit.record(
        conn,
        actor,
        "allocation.reopen",
        "contributor",
        contributor_id,
        {"entry": entry.idempotency_key, "amount": moved, "untraced": left},
    )
    return list(postings)


def _allocation_rows(conn: Connection, contributor_id: int):
    """The contributor's receivable postings of allocation entries, latest first, last line first.

    Read through the contributor's postings (indexed by contributor), not by key pattern.
    """
    return conn.execute(
        select(
            journal_entry.c.idempotency_key,
            posting_t.c.fund,
            posting_t.c.item,
            posting_t.c.period,
            posting_t.c.amount,
        )
        .join(journal_entry, journal_entry.c.id == posting_t.c.entry_id)
        .where(
            posting_t.c.contributor_id == contributor_id,
            posting_t.c.ledger_account == RECEIVABLE,
            journal_entry.c.cause == Cause.ALLOCATION.value,
        )
        .order_by(
            journal_entry.c.value_date.desc(),
            journal_entry.c.id.desc(),
            posting_t.c.line_no.desc(),
        )
    ).all()


def _allocation_keys(conn: Connection, contributor_id: int) -> set[str]:
    return {r.idempotency_key for r in _allocation_rows(conn, contributor_id)}


def _credit_allocations(conn: Connection, contributor_id: int) -> list[tuple[str, str, str, int]]:
    """The receivable lines credit allocations paid, net of reopenings, latest first.

    Reads the contributor's `credit-allocation:` entries (latest first, last line first) and
    deducts what `credit-reopening:` entries already moved back, per key.
    """
    rows = [
        r
        for r in _allocation_rows(conn, contributor_id)
        if r.item != CREDIT_ITEM
        and r.idempotency_key.startswith(("credit-allocation:", "credit-reopening:"))
    ]
    already_back: dict[tuple[str, str, str], int] = {}
    for r in rows:
        if r.idempotency_key.startswith("credit-reopening:"):
            k = (r.fund, r.item, r.period)
            already_back[k] = already_back.get(k, 0) + int(r.amount)
    out = []
    for r in rows:
        if not r.idempotency_key.startswith("credit-allocation:"):
            continue
        k = (r.fund, r.item, r.period)
        paid = -int(r.amount)
        skip = min(paid, already_back.get(k, 0))
        already_back[k] = already_back.get(k, 0) - skip
        if paid - skip > 0:
            out.append((*k, paid - skip))
    return out
