"""Collection benchmark: ranked debtor lists, a day of escalation with its letters, limitation dates.

    python benchmarks/collection.py                       # 1,000,000 accounts, 5 % in arrears
    python benchmarks/collection.py --accounts 100000

A database `recouvrement_bench_collection` is created (and dropped at the end) on the PostgreSQL
server of RECOUVREMENT_BENCH_POSTGRES_URL (default the local one). The accounts, their January
call and their ledger are generated with set-based SQL, not through the services (which the other
benchmarks measure): every employer owes its January contributions; 95 % pay on their due date,
5 % never (the arrears), in five cohorts of due dates (12 to 16 February) as the daily cycle would
have found them (`payment_incident`). It then times:

- the ranked debtor list (`services/debtor_lists`, one page of the whole queue: every debtor is
  scored and ranked) — target under 5 s;
- the escalation day of 20 February (`services/escalation.escalation_step`): the reminders of the
  first cohort, letters rendered as PDF and stored — target under 60 s for 10,000 letters; and,
  as a reference in the same process, the same day run again (every file already done);
- the limitation dates of every debt (`services/limitation.limitation_dates`).

Not part of the test suite; the figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import date

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from recouvrement.adapters.db import migrate
from recouvrement.adapters.db.engine import make_engine
from recouvrement.domain.actors import system_actor
from recouvrement.services import debtor_lists, escalation, limitation

ACTOR = system_actor("benchmark")
DB_NAME = "recouvrement_bench_collection"
DAY = date(2024, 2, 20)


def _server_url() -> str:
    return os.environ.get(
        "RECOUVREMENT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )


def _admin(statement: str) -> None:
    admin = create_engine(make_url(_server_url()), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(statement))
    admin.dispose()


def _status(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


GENERATE = [
    "INSERT INTO organisation (code, name, kind, territory) "
    "VALUES ('URSSAF-RA', 'URSSAF de la région', 'collector', '69')",
    "INSERT INTO contributor (id, kind, name, organisation_id, territory, siren, address, "
    "public_sector, status, created_at) "
    "SELECT i, 'employer', 'Employeur ' || i, 1, '69', lpad(i::text, 9, '0'), "
    "i || ' rue de la République' || chr(10) || '69002 Lyon', false, 'active', now() "
    "FROM generate_series(1, :n) i",
    "INSERT INTO account (contributor_id, opened_on) SELECT i, DATE '2020-01-01' "
    "FROM generate_series(1, :n) i",
    # the January call, due between 12 and 16 February by cohort
    "INSERT INTO call (id, contributor_id, period, kind, reference, issue_date, due_date, amount, "
    "status, issued_on, created_at) "
    "SELECT i, i, '2024-01', 'employer_monthly', 'RF' || lpad(i::text, 12, '0') || ' 2024-01', "
    "DATE '2024-02-05', DATE '2024-02-12' + ((i / 20) % 5), 100000 + (i % 997) * 100, "
    "CASE WHEN i % 20 = 0 THEN 'overdue' ELSE 'paid' END, DATE '2024-02-05', now() "
    "FROM generate_series(1, :n) i",
    "INSERT INTO journal_entry (id, idempotency_key, fingerprint, value_date, recorded_at, cause, "
    "description) SELECT i, 'decl:' || i, md5(i::text) || md5('d'), DATE '2024-02-05', now(), "
    "'declaration', '' FROM generate_series(1, :n) i",
    "INSERT INTO journal_posting (entry_id, line_no, ledger_account, contributor_id, fund, item, "
    "period, value_date, amount) "
    "SELECT i, 1, 'receivable', i, 'unedic', 'unemployment_employer', '2024-01', "
    "DATE '2024-02-05', 100000 + (i % 997) * 100 FROM generate_series(1, :n) i "
    "UNION ALL SELECT i, 2, 'fund_revenue', NULL, 'unedic', 'unemployment_employer', '2024-01', "
    "DATE '2024-02-05', -(100000 + (i % 997) * 100) FROM generate_series(1, :n) i",
    "INSERT INTO journal_entry (id, idempotency_key, fingerprint, value_date, recorded_at, cause, "
    "description) SELECT :n + i, 'receipt:' || i, md5(i::text) || md5('r'), "
    "DATE '2024-02-12' + ((i / 20) % 5), now(), 'payment', '' FROM generate_series(1, :n) i "
    "WHERE i % 20 <> 0",
    "INSERT INTO journal_posting (entry_id, line_no, ledger_account, contributor_id, fund, item, "
    "period, value_date, amount) "
    "SELECT :n + i, 1, 'bank', NULL, '', '', '', DATE '2024-02-12' + ((i / 20) % 5), "
    "100000 + (i % 997) * 100 FROM generate_series(1, :n) i WHERE i % 20 <> 0 "
    "UNION ALL SELECT :n + i, 2, 'receivable', i, 'unedic', 'unemployment_employer', '2024-01', "
    "DATE '2024-02-12' + ((i / 20) % 5), -(100000 + (i % 997) * 100) FROM generate_series(1, :n) i "
    "WHERE i % 20 <> 0",
    "INSERT INTO account_balance (contributor_id, ledger_account, fund, item, period, balance) "
    "SELECT contributor_id, ledger_account, fund, item, period, sum(amount) FROM journal_posting "
    "WHERE contributor_id IS NOT NULL GROUP BY 1, 2, 3, 4, 5 HAVING sum(amount) <> 0",
    "INSERT INTO payment_incident (call_id, contributor_id, period, kind, detected_on, "
    "unpaid_amount) SELECT id, contributor_id, period, 'unpaid_at_due_date', due_date + 1, amount "
    "FROM call WHERE status = 'overdue'",
]
SEQUENCES = ("contributor", "call", "journal_entry")


def build(url: str, accounts: int) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        for statement in GENERATE:
            conn.execute(text(statement), {"n": accounts})
        for table in SEQUENCES:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def measure(url: str, documents: str) -> dict:
    os.environ["RECOUVREMENT_DOCUMENTS_DIR"] = documents
    engine = make_engine(url)
    out = {}
    try:
        started, cpu = time.perf_counter(), _cpu()
        page = debtor_lists.debtor_list(engine, ACTOR, DAY, page_size=100)
        out["debtors"] = (time.perf_counter() - started, _cpu() - cpu, page["total"])
        _status(f"liste des débiteurs : {out['debtors'][0]:.2f} s, {page['total']} débiteurs")

        started, cpu = time.perf_counter(), _cpu()
        report = escalation.escalation_step(engine, DAY)
        out["escalation"] = (time.perf_counter() - started, _cpu() - cpu, dict(report.counts))
        _status(f"journée de relances : {out['escalation'][0]:.2f} s, {report.counts}")

        started, cpu = time.perf_counter(), _cpu()
        with engine.connect() as conn:
            dates = limitation.limitation_dates(conn)
        out["limitation"] = (time.perf_counter() - started, _cpu() - cpu, len(dates))
        _status(f"dates de prescription : {out['limitation'][0]:.2f} s, {len(dates)} créances")

        started, cpu = time.perf_counter(), _cpu()
        again = escalation.escalation_step(engine, DAY)
        out["again"] = (time.perf_counter() - started, _cpu() - cpu, dict(again.counts))
    finally:
        engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    args = parser.parse_args()
    _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
    _admin(f'CREATE DATABASE "{DB_NAME}"')
    url = make_url(_server_url()).set(database=DB_NAME).render_as_string(hide_password=False)
    try:
        started = time.perf_counter()
        build(url, args.accounts)
        _status(f"données générées en {time.perf_counter() - started:.1f} s")
        with tempfile.TemporaryDirectory() as documents:
            out = measure(url, documents)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
    arrears = args.accounts // 20
    print(f"\n{args.accounts:,} comptes, {arrears:,} en retard (PostgreSQL)\n")
    print("| mesure | durée (s) | CPU du processus (s) | volume |")
    print("|---|---|---|---|")
    seconds, cpu, total = out["debtors"]
    print(f"| liste classée des débiteurs | {seconds:.2f} | {cpu:.2f} | {total:,} débiteurs |")
    seconds, cpu, counts = out["escalation"]
    print(f"| journée de relances (PDF compris) | {seconds:.2f} | {cpu:.2f} | {counts} |")
    seconds, cpu, counts = out["again"]
    print(
        f"| la même journée rejouée (référence : rien à faire) | {seconds:.2f} | {cpu:.2f} | {counts} |"
    )
    seconds, cpu, total = out["limitation"]
    print(f"| dates de prescription | {seconds:.2f} | {cpu:.2f} | {total:,} créances |")


if __name__ == "__main__":
    main()
