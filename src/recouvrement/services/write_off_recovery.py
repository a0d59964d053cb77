"""Money that reaches a written-off debt (recouvrement sur créances admises en non-valeur).

A write-off does not extinguish the debt (CSS L243-3: an accounting decision of the organisation),
so a contributor who pays later pays it. Receipts and allocation only see open receivable balances,
and a written-off key has none: the money they cannot place becomes the account's credit. The daily
step here then, for each contributor holding a credit and a written-off balance:

1. reinstates the written-off amount the credit can pay, oldest period first (entry cause
   `write_off`: debit `receivable` / credit `write_off` on the same key — the fund accounts count
   it against `written_off`);
2. pays it from the credit (entry cause `allocation`: debit the credit key / credit `receivable` —
   the fund accounts count it as `cashed`, so the fund is owed the money as for any payment).

It runs right after `apply_credits_step`: the credit first pays what is due and not written off.
Keys `write-off-recovery:<contributor>:<day>:reinstatement|allocation`; a contributor whose entries
for the day are in the journal is skipped, so a re-run posts nothing more.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, Engine, select, update

from recouvrement.adapters.db.remission_tables import write_off, write_off_line
from recouvrement.adapters.db.tables import account_balance, journal_entry
from recouvrement.domain.actors import system_actor
from recouvrement.domain.allocation import CREDIT_ITEM
from recouvrement.domain.errors import DomainError
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.domain.money import format_euros_fr
from recouvrement.domain.periods import Period
from recouvrement.services.allocation import credit_key
from recouvrement.services.daily_cycle_report import Progress, StepReport
from recouvrement.services.ledger import post_entries
from recouvrement.services.unit_of_work import UnitOfWork

RECEIVABLE = LedgerAccount.RECEIVABLE.value
WRITE_OFF = LedgerAccount.WRITE_OFF.value
BATCH_SIZE = 500


def recovery_keys(contributor_id: int, day: date) -> tuple[str, str]:
    stem = f"write-off-recovery:{contributor_id}:{day.isoformat()}"
    return f"{stem}:reinstatement", f"{stem}:allocation"


def _candidates(conn: Connection) -> list[int]:
    credit = account_balance.alias("credit")
    written = account_balance.alias("written")
    return list(
        conn.scalars(
            select(credit.c.contributor_id)
            .distinct()
            .join(written, written.c.contributor_id == credit.c.contributor_id)
            .where(
                credit.c.ledger_account == RECEIVABLE,
                credit.c.fund == "",
                credit.c.item == CREDIT_ITEM,
                credit.c.period == "",
                credit.c.balance < 0,
                written.c.ledger_account == WRITE_OFF,
                written.c.balance > 0,
            )
            .order_by(credit.c.contributor_id)
        )
    )


def _sort_key(row) -> tuple:
    try:
        start = Period.parse(row.period).start
    except DomainError:  # an unusual period text sorts last, by its text
        start = date.max
    return (start, row.fund, row.item)


def recovery_entries(conn: Connection, contributor_id: int, day: date) -> list[Entry]:
    """The two entries moving the credit onto the written-off keys, or [] when there is none."""
    credit = conn.scalar(
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
    available = -int(credit or 0)
    if available <= 0:
        return []
    rows = conn.execute(
        select(
            account_balance.c.fund,
            account_balance.c.item,
            account_balance.c.period,
            account_balance.c.balance,
        ).where(
            account_balance.c.contributor_id == contributor_id,
            account_balance.c.ledger_account == WRITE_OFF,
            account_balance.c.balance > 0,
        )
    ).all()
    paid: list[tuple[str, str, str, int]] = []
    for row in sorted(rows, key=_sort_key):
        amount = min(available, int(row.balance))
        if amount <= 0:
            break
        paid.append((row.fund, row.item, row.period, amount))
        available -= amount
    if not paid:
        return []
    total = sum(p[3] for p in paid)
    reinstate_key, allocate_key = recovery_keys(contributor_id, day)
    reinstatement = Entry(
        reinstate_key,
        day,
        Cause.WRITE_OFF.value,
        tuple(
            posting
            for f, i, p, amount in paid
            for posting in (
                Posting(RECEIVABLE, contributor_id, f, i, p, amount),
                Posting(WRITE_OFF, contributor_id, f, i, p, -amount),
            )
        ),
        f"Reprise de créances admises en non-valeur : {format_euros_fr(total)}",
    )
    allocation = Entry(
        allocate_key,
        day,
        Cause.ALLOCATION.value,
        (
            Posting(*credit_key(contributor_id), total),
            *(Posting(RECEIVABLE, contributor_id, f, i, p, -amount) for f, i, p, amount in paid),
        ),
        f"Paiement de créances admises en non-valeur : {format_euros_fr(total)}",
    )
    _mark_recovered(conn, contributor_id, paid)
    return [reinstatement, allocation]


def _mark_recovered(conn: Connection, contributor_id: int, paid) -> None:
    """Spread what is recovered on each key over its write-off lines, oldest write-off first."""
    for fund, item, period, amount in paid:
        lines = conn.execute(
            select(write_off_line.c.id, write_off_line.c.written_off, write_off_line.c.recovered)
            .join(write_off, write_off.c.id == write_off_line.c.write_off_id)
            .where(
                write_off_line.c.contributor_id == contributor_id,
                write_off_line.c.fund == fund,
                write_off_line.c.item == item,
                write_off_line.c.period == period,
                write_off.c.state == "approved",
                write_off_line.c.recovered < write_off_line.c.written_off,
            )
            .order_by(write_off_line.c.id)
        ).all()
        left = amount
        for line in lines:
            take = min(left, line.written_off - line.recovered)
            if take <= 0:
                continue
            conn.execute(
                update(write_off_line)
                .where(write_off_line.c.id == line.id)
                .values(recovered=line.recovered + take)
            )
            left -= take


def recoveries_step(engine: Engine, day: date, progress: Progress | None = None) -> StepReport:
    """Daily cycle: credits pay the contributors' written-off debts (see the module's docstring)."""
    report = StepReport("write_off_recoveries")
    actor = system_actor("cycle-quotidien")
    with engine.connect() as conn:
        candidates = _candidates(conn)
    total = len(candidates)
    for start in range(0, total, BATCH_SIZE):
        batch = candidates[start : start + BATCH_SIZE]
        with UnitOfWork(engine) as uow:
            done = set(
                uow.conn.scalars(
                    select(journal_entry.c.idempotency_key).where(
                        journal_entry.c.idempotency_key.in_(
                            [recovery_keys(c, day)[0] for c in batch]
                        )
                    )
                )
            )
            entries: list[Entry] = []
            for cid in batch:
                if recovery_keys(cid, day)[0] in done:
                    report.add("recoveries_already_posted")
                    continue
                found = recovery_entries(uow.conn, cid, day)
                if found:
                    entries.extend(found)
                    report.add("write_offs_recovered", amount=found[1].postings[0].amount)
            if entries:
                post_entries(uow.conn, actor, entries)
            uow.commit()
        if progress is not None:
            progress(min(start + BATCH_SIZE, total), total)
    return report
