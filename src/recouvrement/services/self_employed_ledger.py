"""How a self-employed year sits in the ledger: the entries' layout, and reading it back.

An entry of a call or a regularisation is made of pairs of lines: the contributor's receivable line
(`fund, item, period`, or the account's credit key), then the fund's revenue line of the same item.
Reading a year back (`state`) gives what its entries put on each (item, period or credit): the
starting point of the next recalculation, which posts only the difference.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

from sqlalchemy import Connection, select

from recouvrement.adapters.db.tables import journal_entry, journal_posting
from recouvrement.domain.assessment.self_employed import FUNDS
from recouvrement.domain.calls import CREDIT_SLOT
from recouvrement.domain.ledger import Entry, LedgerAccount, Posting


def fingerprint(*parts) -> str:
    text = json.dumps(parts, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def state(conn: Connection, contributor_id: int, prefix: str) -> dict[tuple[str, str], int]:
    """What the entries under `prefix` put on each (item, period or credit) of the account.

    The contributor's receivable lines are found through the posting index by contributor; the
    item of a credit line is read on the fund-revenue line that follows it.
    """
    receivables = conn.execute(
        select(
            journal_posting.c.entry_id,
            journal_posting.c.line_no,
            journal_posting.c.item,
            journal_posting.c.period,
            journal_posting.c.amount,
        )
        .join(journal_entry, journal_entry.c.id == journal_posting.c.entry_id)
        .where(
            journal_posting.c.contributor_id == contributor_id,
            journal_posting.c.ledger_account == LedgerAccount.RECEIVABLE,
            journal_entry.c.idempotency_key.like(prefix + "%"),
        )
    ).all()
    credit_entries = sorted({r.entry_id for r in receivables if r.item == CREDIT_SLOT})
    revenue_items = (
        {
            (r.entry_id, r.line_no): r.item
            for r in conn.execute(
                select(
                    journal_posting.c.entry_id, journal_posting.c.line_no, journal_posting.c.item
                ).where(journal_posting.c.entry_id.in_(credit_entries))
            )
        }
        if credit_entries
        else {}
    )
    state: dict[tuple[str, str], int] = {}
    for r in receivables:
        if r.item == CREDIT_SLOT:
            key = (revenue_items[(r.entry_id, r.line_no + 1)], CREDIT_SLOT)
        else:
            key = (r.item, r.period)
        state[key] = state.get(key, 0) + r.amount
    return state


def entry(
    key: str, contributor_id: int, year: int, diff: dict, today: date, cause: str, description: str
) -> Entry:
    postings: list[Posting] = []
    for (item, slot), amount in sorted(diff.items()):
        fund = FUNDS[item]
        if slot == CREDIT_SLOT:
            postings.append(
                Posting(LedgerAccount.RECEIVABLE, contributor_id, "", CREDIT_SLOT, "", amount)
            )
            postings.append(
                Posting(LedgerAccount.FUND_REVENUE, None, fund, item, str(year), -amount)
            )
        else:
            postings.append(
                Posting(LedgerAccount.RECEIVABLE, contributor_id, fund, item, slot, amount)
            )
            postings.append(Posting(LedgerAccount.FUND_REVENUE, None, fund, item, slot, -amount))
    return Entry(key, today, cause, tuple(postings), description)
