"""Surcharge step timing: N employers with monthly calls, some paying late or never.

    python benchmarks/surcharges.py --contributors 100000 --months 3

Builds a fresh PostgreSQL database (`recouvrement_bench_surcharges` on
RECOUVREMENT_BENCH_POSTGRES_URL, default the local server), seeds the employers, one call per month
due on the 15th of the next month with its assessment, and payments: 89 % on the due date, 10 %
twenty days late, 1 % never. Then it times the surcharge step on:

- the first run, catching up every day from the earliest due date;
- an ordinary day (no due date has an anniversary on the day before: one read, nothing posted);
- an anniversary day (the 16th: every unpaid debt due on a 15th gets its month).

Not part of the test suite; the figures go in docs/surcharges.md.
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
from recouvrement.domain.actors import system_actor
from recouvrement.domain.ledger import Entry, Posting
from recouvrement.services.ledger_bulk import post_entries_bulk
from recouvrement.services.surcharges import surcharges_step

DB_NAME = "recouvrement_bench_surcharges"
ACTOR = system_actor("benchmark")
FUND, ITEM = "unedic", "unemployment_employer"


def seed(engine, contributors: int, months: int) -> date:
    now = datetime.now(UTC)
    calls, entries = [], []
    for m in range(1, months + 1):
        period = f"2024-{m:02d}"
        due = date(2024, m + 1, 15)
        for cid in range(1, contributors + 1):
            amount = 10_000 + (cid * 37) % 500_000
            calls.append(
                {
                    "contributor_id": cid,
                    "period": period,
                    "kind": "employer_monthly",
                    "reference": f"RF{cid:09d}{m:02d}",
                    "issue_date": due - timedelta(days=10),
                    "due_date": due,
                    "amount": amount,
                    "status": "issued",
                    "created_at": now,
                }
            )
            entries.append(
                Entry(
                    f"assessment:{cid}:{period}",
                    due - timedelta(days=10),
                    "assessment",
                    (
                        Posting("receivable", cid, FUND, ITEM, period, amount),
                        Posting("fund_revenue", None, FUND, ITEM, period, -amount),
                    ),
                )
            )
            kind = cid % 100
            if kind == 0:
                continue  # 1 % never pay
            paid_on = due + timedelta(days=20) if kind <= 10 else due
            entries.append(
                Entry(
                    f"receipt:{cid}:{period}",
                    paid_on,
                    "payment",
                    (
                        Posting("bank", None, "", "", "", amount),
                        Posting("receivable", cid, FUND, ITEM, period, -amount),
                    ),
                )
            )
    with engine.begin() as conn:
        for k in range(0, len(calls), 10_000):
            conn.execute(insert(call), calls[k : k + 10_000])
    post_entries_bulk(engine, ACTOR, entries)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return date(2024, months + 1, 15)


def timed(label: str, engine, day: date) -> None:
    t = time.perf_counter()
    report = surcharges_step(engine, day)
    posted = sum(n for k, n in report.counts.items() if k.startswith("surcharge_"))
    print(
        f"  {label:<38} {day}  {time.perf_counter() - t:7.2f} s  "
        f"{report.counts.get('debts_examined', 0):>8} dettes lues  {posted:>8} écritures"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contributors", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=3)
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
    last_due = seed(engine, args.contributors, args.months)
    debts = args.contributors * args.months
    print(f"== {debts:,} dettes ({time.perf_counter() - t:.0f} s de préparation)")
    timed("premier passage (rattrapage)", engine, last_due - timedelta(days=2))
    timed("jour ordinaire", engine, last_due - timedelta(days=1))
    timed("jour ordinaire (sans anniversaire)", engine, last_due)
    timed("lendemain d'échéance (anniversaires)", engine, last_due + timedelta(days=1))
    timed("même jour, second passage", engine, last_due + timedelta(days=1))
    engine.dispose()


if __name__ == "__main__":
    main()
