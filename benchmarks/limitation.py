"""Limitation dates of the whole stock, set-based: N employers, four open debts each.

    python benchmarks/limitation.py --contributors 100000

Builds a fresh PostgreSQL database (`recouvrement_bench_limitation` on
RECOUVREMENT_BENCH_POSTGRES_URL, default the local server), seeds the employers, for each one call
and one open principal of a period spread over 2013–2024, a second principal and a surcharge of
the same period, and for 1 % of them a formal notice; the open balances are written straight into
the `account_balance` cache (the dates read only the cache, the calls and the acts). Then it times:

- `limitation_counts`: the dates of every open debt, counted by year (the `dates` command);
- `limitation_dates(until=…)`: the debts prescribed or within the alert horizon (the step's read);
- `limitation_step` on a day where nothing new is prescribed (second run of the same day).

Not part of the test suite; the figures go in docs/limitation.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))

from ledger import seed_contributors
from recouvrement.adapters.db import migrate
from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.engine import make_engine
from recouvrement.adapters.db.limitation_tables import limitation_event
from recouvrement.adapters.db.tables import account_balance
from recouvrement.services import limitation

DB_NAME = "recouvrement_bench_limitation"
DAY = date(2025, 3, 1)


def seed(engine, contributors: int) -> int:
    now = datetime.now(UTC)
    calls, balances, events = [], [], []
    for cid in range(1, contributors + 1):
        year = 2013 + cid % 12
        month = 1 + cid % 12
        period = f"{year}-{month:02d}"
        due = date(year + (month == 12), month % 12 + 1, 15)
        calls.append(
            {
                "contributor_id": cid,
                "period": period,
                "kind": "employer_monthly",
                "reference": f"RF{cid:09d}",
                "issue_date": due - timedelta(days=10),
                "due_date": due,
                "amount": 10_000,
                "status": "overdue",
                "created_at": now,
            }
        )
        for fund, item, amount in (
            ("unedic", "unemployment_employer", 8_000),
            ("unedic", "unemployment_employee", 4_000),
            ("ags", "ags", 300),
            ("unedic", "surcharge_initial", 600),
        ):
            balances.append(
                {
                    "contributor_id": cid,
                    "ledger_account": "receivable",
                    "fund": fund,
                    "item": item,
                    "period": period,
                    "balance": amount,
                }
            )
        if cid % 100 == 0:
            events.append(
                {
                    "contributor_id": cid,
                    "period": period,
                    "event": "formal_notice",
                    "on": due + timedelta(days=40),
                    "until": None,
                    "source": f"bench:{cid}",
                    "recorded_at": now,
                }
            )
    with engine.begin() as conn:
        for table, rows in ((call, calls), (account_balance, balances), (limitation_event, events)):
            for k in range(0, len(rows), 10_000):
                conn.execute(insert(table), rows[k : k + 10_000])
        conn.execute(text("ANALYZE"))
    return len(balances)


def timed(label: str, fn) -> object:
    t = time.perf_counter()
    result = fn()
    print(f"  {label:<48} {time.perf_counter() - t:7.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contributors", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the database for EXPLAIN")
    args = parser.parse_args()
    admin_url = os.environ.get(
        "RECOUVREMENT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    url = make_url(admin_url).set(database=DB_NAME).render_as_string(hide_password=False)
    try:
        run(url, args)
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))


def run(url: str, args) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    seed_contributors(engine, args.contributors)
    t = time.perf_counter()
    debts = seed(engine, args.contributors)
    print(f"== {debts:,} dettes ouvertes ({time.perf_counter() - t:.0f} s de préparation)")
    with engine.connect() as conn:
        counts = timed(
            "dates de toutes les dettes, par année", lambda: limitation.limitation_counts(conn)
        )
        near = timed(
            f"dettes prescrites ou proches au {DAY}",
            lambda: limitation.limitation_dates(conn, until=DAY + timedelta(days=90)),
        )
    print(f"  {sum(c for c, _ in counts.values()):,} dettes datées, {len(near):,} retenues")
    engine.dispose()


if __name__ == "__main__":
    main()
