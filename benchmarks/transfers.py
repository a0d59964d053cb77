"""Transfers benchmark: per-fund figures of a year and the funds' portal export, over years of
Mayotte receipts.

    python benchmarks/transfers.py                          # 200,000 employers × 10 years
    python benchmarks/transfers.py --employers 20000 --years 3

A database `recouvrement_bench_transfers` is created (and dropped at the end) on the PostgreSQL
server of RECOUVREMENT_BENCH_POSTGRES_URL (default the local one). The journal is generated with
set-based SQL, not through the posting service (which `benchmarks/ledger.py` measures): per
employer and quarter — small Mayotte employers paid quarterly before 2017 — one declaration entry
(receivable / fund revenue, Unédic) and, for 95 % of them, one receipt entry on the due date
(bank / receivable); the cache `account_balance` is rebuilt from the journal. Year after year it
then times the portal export of the year (everything since the previous export, balances at the
year's end), and at the end the per-fund figures of each year (`services/fund_accounts`).

Target (issue 7): under 10 s per year for each, on PostgreSQL. Not part of the test suite; the
figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from recouvrement.adapters.db import migrate
from recouvrement.adapters.db.engine import make_engine
from recouvrement.domain.actors import system_actor
from recouvrement.services import fund_accounts, portal_export

ACTOR = system_actor("benchmark")
DB_NAME = "recouvrement_bench_transfers"
TARGET_SECONDS = 10.0


def _server_url() -> str:
    return os.environ.get(
        "RECOUVREMENT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )


def _fresh_database() -> str:
    server = make_url(_server_url())
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}"'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    return server.set(database=DB_NAME).render_as_string(hide_password=False)


def _drop_database() -> None:
    admin = create_engine(make_url(_server_url()), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}"'))
    admin.dispose()


def _seed_employers(engine, employers: int) -> None:
    with engine.begin() as conn:
        org = conn.execute(
            text(
                "INSERT INTO organisation (code, name, kind, territory) "
                "VALUES ('CSSM', 'Caisse de sécurité sociale de Mayotte', 'collector', '976') "
                "RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO contributor (id, kind, name, organisation_id, territory, siren, address, "
                "public_sector, status, created_at) "
                "SELECT i, 'employer', 'Employeur ' || i, :org, '976', lpad(i::text, 9, '0'), '', "
                "false, 'active', now() "
                "FROM generate_series(1, :n) AS i"
            ),
            {"org": org, "n": employers},
        )
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence('contributor', 'id'), :n)"), {"n": employers}
        )


def _generate_quarter(engine, employers: int, year: int, quarter: int, base_id: int) -> int:
    """Declarations and receipts of one quarter; returns the next free entry id."""
    period = f"{year}-Q{quarter}"
    month = 3 * quarter + 1
    due = f"{year + (month > 12):04d}-{(month - 1) % 12 + 1:02d}-15"
    declared = f"{year + (month > 12):04d}-{(month - 1) % 12 + 1:02d}-05"
    amount = "(10000 + (i % 5000))"
    params = {"n": employers, "base": base_id, "period": period, "due": due, "declared": declared}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO journal_entry (id, idempotency_key, fingerprint, value_date, "
                "recorded_at, cause, description) "
                "SELECT :base + i, 'decl:' || :period || ':' || i, md5(i::text) || md5(:period), "
                "CAST(:declared AS date), now(), 'declaration', '' FROM generate_series(1, :n) i"
            ),
            params,
        )
        conn.execute(
            text(
                "INSERT INTO journal_posting (entry_id, line_no, ledger_account, contributor_id, "
                "fund, item, period, value_date, amount) "
                f"SELECT :base + i, 1, 'receivable', i, 'unedic', 'unemployment_employer', "
                f":period, CAST(:declared AS date), {amount} FROM generate_series(1, :n) i "
                "UNION ALL "
                f"SELECT :base + i, 2, 'fund_revenue', NULL, 'unedic', 'unemployment_employer', "
                f":period, CAST(:declared AS date), -{amount} FROM generate_series(1, :n) i"
            ),
            params,
        )
        paid = {**params, "base": base_id + employers}
        conn.execute(
            text(
                "INSERT INTO journal_entry (id, idempotency_key, fingerprint, value_date, "
                "recorded_at, cause, description) "
                "SELECT :base + i, 'receipt:' || :period || ':' || i, md5(i::text) || md5(:due), "
                "CAST(:due AS date), now(), 'payment', '' FROM generate_series(1, :n) i "
                "WHERE i % 20 <> 0"
            ),
            paid,
        )
        conn.execute(
            text(
                "INSERT INTO journal_posting (entry_id, line_no, ledger_account, contributor_id, "
                "fund, item, period, value_date, amount) "
                f"SELECT :base + i, 1, 'bank', NULL, '', '', '', CAST(:due AS date), {amount} "
                "FROM generate_series(1, :n) i WHERE i % 20 <> 0 "
                "UNION ALL "
                f"SELECT :base + i, 2, 'receivable', i, 'unedic', 'unemployment_employer', "
                f":period, CAST(:due AS date), -{amount} FROM generate_series(1, :n) i "
                "WHERE i % 20 <> 0"
            ),
            paid,
        )
    return base_id + 2 * employers


def _rebuild_cache(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM account_balance"))
        conn.execute(
            text(
                "INSERT INTO account_balance (contributor_id, ledger_account, fund, item, period, "
                "balance) SELECT contributor_id, ledger_account, fund, item, period, sum(amount) "
                "FROM journal_posting WHERE contributor_id IS NOT NULL "
                "GROUP BY contributor_id, ledger_account, fund, item, period "
                "HAVING sum(amount) <> 0"
            )
        )
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('journal_entry', 'id'), max(id)) "
                "FROM journal_entry"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def _status(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(employers: int, years: int, first_year: int) -> dict:
    url = _fresh_database()
    engine = make_engine(url)
    try:
        migrate.upgrade(url)
        _seed_employers(engine, employers)
        next_id, exports, figures = 1, [], []
        with tempfile.TemporaryDirectory() as tmp:
            for year in range(first_year, first_year + years):
                started = time.perf_counter()
                for quarter in (1, 2, 3, 4):
                    next_id = _generate_quarter(engine, employers, year, quarter, next_id)
                _rebuild_cache(engine)
                _status(f"{year} : journal généré en {time.perf_counter() - started:.1f} s")
                started = time.perf_counter()
                done = portal_export.export_portal(
                    engine,
                    ACTOR,
                    agreement="unedic-mayotte",
                    period=str(year),
                    directory=Path(tmp) / str(year),
                )
                seconds = time.perf_counter() - started
                exports.append((year, seconds, done["rows"]))
                _status(f"{year} : export du portail en {seconds:.2f} s {done['rows']}")
            for year in range(first_year, first_year + years):
                started = time.perf_counter()
                rows = fund_accounts.fund_figures(engine, ACTOR, year, territory="976")
                seconds = time.perf_counter() - started
                figures.append((year, seconds, rows))
                _status(f"{year} : chiffres par attributaire en {seconds:.2f} s")
        with engine.connect() as conn:
            entries = conn.execute(text("SELECT count(*) FROM journal_entry")).scalar()
            postings = conn.execute(text("SELECT count(*) FROM journal_posting")).scalar()
        return {"entries": entries, "postings": postings, "exports": exports, "figures": figures}
    finally:
        engine.dispose()
        _drop_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employers", type=int, default=200_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--first-year", type=int, default=2013)
    args = parser.parse_args()
    result = run(args.employers, args.years, args.first_year)
    print(
        f"\n{args.employers:,} employeurs × {args.years} ans : {result['entries']:,} écritures, "
        f"{result['postings']:,} lignes (PostgreSQL)\n"
    )
    print("| année | export du portail (s) | lignes exportées | chiffres par attributaire (s) |")
    print("|---|---|---|---|")
    for (year, export_s, rows), (_, figures_s, _) in zip(
        result["exports"], result["figures"], strict=True
    ):
        moved = rows["debts"] + rows["receipts"]
        print(f"| {year} | {export_s:.2f} | {moved:,} | {figures_s:.2f} |")
    worst = max(max(s for _, s, _ in result["exports"]), max(s for _, s, _ in result["figures"]))
    verdict = "atteint" if worst < TARGET_SECONDS else "non atteint"
    print(f"\nPire durée : {worst:.2f} s par année (objectif {TARGET_SECONDS:.0f} s : {verdict})")


if __name__ == "__main__":
    main()
