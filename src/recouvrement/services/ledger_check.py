"""`ledger check`: the journal balances and the cached figures equal the journal.

Checks are set-based SQL over the whole journal, and their findings are data (a LedgerReport), not
exceptions, so the command can list every one of them:

- every entry has at least two postings and its postings sum to zero;
- every posting belongs to an entry (the migration's trigger already refuses an orphan);
- every posting carries its entry's value date (denormalised for as-of queries);
- every account_balance row equals the sum of the journal's postings for its key, and every key
  with a non-zero sum in the journal has its row;
- every kept cumulative figure of a fund at a year's end (`fund_year_figure`) equals the journal
  up to the entry it was read to (`services/fund_accounts.check_fund_figures`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from recouvrement.services.fund_accounts import check_fund_figures

LIST_LIMIT = 1000  # findings listed; all are counted


@dataclass(frozen=True)
class UnbalancedEntry:
    """An entry whose postings do not sum to zero, or that has fewer than two."""

    entry_id: int
    idempotency_key: str
    postings: int
    total: int


@dataclass(frozen=True)
class CacheDifference:
    """A cached balance that differs from the journal (cached is None when the row is missing)."""

    contributor_id: int
    ledger_account: str
    fund: str
    item: str
    period: str
    cached: int | None
    journal: int

    @property
    def key(self) -> str:
        parts = (self.fund, self.item, self.period)
        return f"cotisant {self.contributor_id} · {self.ledger_account} · " + " · ".join(
            p or "-" for p in parts
        )


@dataclass(frozen=True)
class DateMismatch:
    """An entry some of whose postings carry another value date than the entry's."""

    entry_id: int
    idempotency_key: str
    postings: int


@dataclass
class LedgerReport:
    entries: int = 0
    postings: int = 0
    cache_rows: int = 0
    unbalanced: list[UnbalancedEntry] = field(default_factory=list)
    unbalanced_count: int = 0
    cache_differences: list[CacheDifference] = field(default_factory=list)
    cache_difference_count: int = 0
    date_mismatches: list[DateMismatch] = field(default_factory=list)
    date_mismatch_count: int = 0
    orphan_entry_ids: list[int] = field(default_factory=list)  # postings' entry ids not found
    orphan_count: int = 0
    fund_figure_differences: list[str] = field(default_factory=list)  # kept fund-year figures
    fund_figure_difference_count: int = 0

    @property
    def findings(self) -> int:
        return (
            self.unbalanced_count
            + self.cache_difference_count
            + self.date_mismatch_count
            + self.orphan_count
            + self.fund_figure_difference_count
        )

    @property
    def ok(self) -> bool:
        return self.findings == 0


_UNBALANCED = """
SELECT e.id, e.idempotency_key, coalesce(a.n, 0), coalesce(a.total, 0), count(*) OVER ()
FROM journal_entry e
LEFT JOIN (
    SELECT entry_id, count(*) AS n, sum(amount) AS total FROM journal_posting GROUP BY entry_id
) a ON a.entry_id = e.id
WHERE a.entry_id IS NULL OR a.n < 2 OR a.total <> 0
ORDER BY e.id
LIMIT :limit
"""

# One pass over both sides; `present` tells a missing cache row from a row at zero.
_CACHE = """
SELECT contributor_id, ledger_account, fund, item, period,
       sum(cached) AS cached, sum(journal) AS journal, max(present) AS present,
       count(*) OVER () AS n
FROM (
    SELECT contributor_id, ledger_account, fund, item, period,
           balance AS cached, 0 AS journal, 1 AS present
    FROM account_balance
    UNION ALL
    SELECT contributor_id, ledger_account, fund, item, period, 0, amount, 0
    FROM journal_posting WHERE contributor_id IS NOT NULL
) both_sides
GROUP BY contributor_id, ledger_account, fund, item, period
HAVING sum(cached) <> sum(journal)
ORDER BY contributor_id, ledger_account, fund, item, period
LIMIT :limit
"""

_ORPHANS = """
SELECT p.entry_id, count(*) OVER ()
FROM journal_posting p
WHERE NOT EXISTS (SELECT 1 FROM journal_entry e WHERE e.id = p.entry_id)
GROUP BY p.entry_id
ORDER BY p.entry_id
LIMIT :limit
"""

_DATES = """
SELECT e.id, e.idempotency_key, count(*), count(*) OVER ()
FROM journal_posting p JOIN journal_entry e ON e.id = p.entry_id
WHERE p.value_date <> e.value_date
GROUP BY e.id, e.idempotency_key
ORDER BY e.id
LIMIT :limit
"""


def check_ledger(target: Engine | Connection, limit: int = LIST_LIMIT) -> LedgerReport:
    """Check the whole journal and its cache; read-only."""
    if isinstance(target, Engine):
        with target.connect() as conn:
            return _check(conn, limit)
    return _check(target, limit)


def _check(conn: Connection, limit: int) -> LedgerReport:
    if conn.dialect.name == "postgresql":
        # One consistent snapshot for the three checks, and room to aggregate in memory.
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
    report = LedgerReport()
    report.entries = conn.scalar(text("SELECT count(*) FROM journal_entry"))
    report.postings = conn.scalar(text("SELECT count(*) FROM journal_posting"))
    report.cache_rows = conn.scalar(text("SELECT count(*) FROM account_balance"))
    params = {"limit": limit}
    for row in conn.execute(text(_UNBALANCED), params):
        report.unbalanced.append(UnbalancedEntry(row[0], row[1], int(row[2]), int(row[3])))
        report.unbalanced_count = int(row[4])
    for row in conn.execute(text(_CACHE), params):
        report.cache_differences.append(
            CacheDifference(
                row.contributor_id,
                row.ledger_account,
                row.fund,
                row.item,
                row.period,
                int(row.cached) if row.present else None,
                int(row.journal),
            )
        )
        report.cache_difference_count = int(row.n)
    for row in conn.execute(text(_DATES), params):
        report.date_mismatches.append(DateMismatch(row[0], row[1], int(row[2])))
        report.date_mismatch_count = int(row[3])
    for row in conn.execute(text(_ORPHANS), params):
        report.orphan_entry_ids.append(row[0])
        report.orphan_count = int(row[1])
    differences = check_fund_figures(conn)
    report.fund_figure_differences = differences[:limit]
    report.fund_figure_difference_count = len(differences)
    return report
