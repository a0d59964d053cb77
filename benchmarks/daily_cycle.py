"""Daily-cycle benchmark: N accounts, a year of monthly calls, run day by day on PostgreSQL.

    python benchmarks/daily_cycle.py --accounts 10000
    python benchmarks/daily_cycle.py --accounts 1000000 --database-url postgresql://…/bench

Without --database-url it creates `recouvrement_bench_cycle` on RECOUVREMENT_BENCH_POSTGRES_URL
(default the local server) and drops it at the end (unless --keep); with it, the database given
must be empty (it is migrated here). The set-up is fast rather than faithful:

- the employers are inserted directly (the ledger benchmark's `seed_contributors`); each month's
  calls are inserted in bulk (COPY on PostgreSQL) on the day the declarations arrive, the 5th of
  M+1, as an employer's declaration records its call; they are due on the 15th (CSS R243-6: the
  5th or 15th of the following month by headcount);
- the declarations' ledger entries (Unédic employer contribution and AGS, 2 debts per call) are
  generated and posted through the bulk path `post_entries_bulk` on the 5th, not through
  `payroll.declare` (which assesses employee by employee);
- payments are posted through the same bulk path on their value date: 89 % pay on the due date,
  10 % twenty days late, 1 % never (by contributor id: id % 100 = 0 never, 1‥10 late).

The events of a day (declarations, payments) are posted before the day's cycle and timed apart;
then `run_day` runs every step of the cycle for that day and is timed. Call notices are not
rendered (RECOUVREMENT_CALL_NOTICES=none) unless --notices: rendering is measured by
benchmarks/documents.py. At the end a table gives the time of an ordinary day, of an issue day
(the 5th), of the due date (the 15th), of the day after it (incidents, surcharges) and of a
month's last day, and the receipts imported per second from a camt.053 of --receipts lines by the
receipts area's own benchmark (benchmarks/receipts_import.py, run in a subprocess on a fresh
database of the RECOUVREMENT_BENCH_POSTGRES_URL server, its output shown).

Targets (issue 5): an ordinary day under 30 s, import at least 20,000 receipts/s.
Not part of the test suite; the figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))

from ledger import seed_contributors
from recouvrement.adapters.db import migrate
from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.engine import make_engine
from recouvrement.adapters.db.tables import contributor
from recouvrement.domain.actors import system_actor
from recouvrement.domain.calls import call_reference
from recouvrement.domain.ledger import Entry, Posting
from recouvrement.services.daily_cycle import STEPS, run_day
from recouvrement.services.ledger_bulk import post_entries_bulk

DB_NAME = "recouvrement_bench_cycle"
ACTOR = system_actor("benchmark")
TARGET_DAY_S = 30.0
TARGET_RECEIPTS = 20_000
DEBTS = (("unedic", "unemployment_employer"), ("ags", "ags"))


def amounts(cid: int, month: int) -> tuple[int, int]:
    """The month's Unédic and AGS debts of an employer, in cents (4.05 % and 0.15 % of a payroll)."""
    payroll = 150_000 + (cid * 7919 + month * 104_729) % 5_000_000
    return payroll * 405 // 10_000, payroll * 15 // 10_000


def payer(cid: int) -> str:
    kind = cid % 100
    return "never" if kind == 0 else "late" if kind <= 10 else "on_time"


def calendar(year: int, month: int) -> tuple[str, date, date]:
    """Period of month M, its issue date (5th of M+1) and due date (15th of M+1)."""
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return f"{year}-{month:02d}", nxt.replace(day=5), nxt.replace(day=15)


def record_calls(engine, accounts: int, year: int, month: int) -> None:
    """The month's calls, recorded with the declarations on their issue date (as
    `services/calls.record_employer_call` does for each declaration), in bulk."""
    now = datetime.now(UTC)

    def rows() -> Iterator[tuple]:
        period, issue, due = calendar(year, month)
        for cid in range(1, accounts + 1):
            total = sum(amounts(cid, month))
            ref = call_reference(cid, period)
            yield (cid, period, "employer_monthly", ref, issue, due, total, "scheduled", now)

    columns = [
        "contributor_id",
        "period",
        "kind",
        "reference",
        "issue_date",
        "due_date",
        "amount",
        "status",
        "created_at",
    ]
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            sql = f"COPY call ({', '.join(columns)}) FROM STDIN"
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for row in rows():
                    copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
        return
    batch: list[dict] = []
    with engine.begin() as conn:
        for row in rows():
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) == 20_000:
                conn.execute(insert(call), batch)
                batch = []
        if batch:
            conn.execute(insert(call), batch)


def declarations(accounts: int, year: int, month: int, on: date) -> Iterator[Entry]:
    period = calendar(year, month)[0]
    for cid in range(1, accounts + 1):
        lines = []
        for (fund, item), amount in zip(DEBTS, amounts(cid, month), strict=True):
            lines.append(Posting("receivable", cid, fund, item, period, amount))
            lines.append(Posting("fund_revenue", None, fund, item, period, -amount))
        yield Entry(f"declaration:bench:{cid}:{period}", on, "declaration", tuple(lines))


def payments(accounts: int, year: int, month: int, on: date, who: str) -> Iterator[Entry]:
    period = calendar(year, month)[0]
    for cid in range(1, accounts + 1):
        if payer(cid) != who:
            continue
        debts = amounts(cid, month)
        lines = [Posting("bank", None, "", "", "", sum(debts))]
        for (fund, item), amount in zip(DEBTS, debts, strict=True):
            lines.append(Posting("receivable", cid, fund, item, period, -amount))
        yield Entry(f"receipt:bench:{cid}:{period}", on, "payment", tuple(lines))


def events_of(day: date, accounts: int, year: int) -> list[Iterator[Entry]]:
    """The ledger events that happen on `day`: declarations on the 5th, payments."""
    out = []
    for month in range(1, 13):
        _, issue, due = calendar(year, month)
        if day == issue:
            out.append(declarations(accounts, year, month, day))
        if day == due:
            out.append(payments(accounts, year, month, day, "on_time"))
        if day == due + timedelta(days=20):
            out.append(payments(accounts, year, month, day, "late"))
    return out


def kind_of(day: date, year: int) -> str:
    dues = {calendar(year, m)[2] for m in range(1, 13)}
    issues = {calendar(year, m)[1] for m in range(1, 13)}
    if day in issues:
        return "émission (le 5)"
    if day in dues:
        return "échéance (le 15)"
    if day - timedelta(days=1) in dues:
        return "lendemain d'échéance"
    if (day + timedelta(days=1)).day == 1:
        return "fin de mois"
    if any(day == d + timedelta(days=20) for d in dues):
        return "paiements tardifs"
    return "jour ordinaire"


def _n(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def run_year(
    engine, accounts: int, year: int, days: int | None, steps: list[str]
) -> tuple[dict[str, list[float]], dict[str, dict[str, list[float]]]]:
    """Each day: its events, then the cycle. Times of the cycle by kind of day, and of each step."""
    first = date(year, 2, 1)
    last = date(year + 1, 1, 31)
    if days:
        last = min(last, first + timedelta(days=days - 1))
    times: dict[str, list[float]] = {}
    by_step: dict[str, dict[str, list[float]]] = {}
    day = first
    while day <= last:
        t = time.perf_counter()
        posted = 0
        for month in range(1, 13):
            if day == calendar(year, month)[1]:
                record_calls(engine, accounts, year, month)
        for entries in events_of(day, accounts, year):
            posted += post_entries_bulk(engine, ACTOR, entries).posted
        events_s = time.perf_counter() - t
        t = time.perf_counter()
        report = run_day(engine, ACTOR, day, steps=steps)
        cycle_s = time.perf_counter() - t
        kind = kind_of(day, year)
        times.setdefault(kind, []).append(cycle_s)
        for step, seconds in report.seconds.items():
            by_step.setdefault(kind, {}).setdefault(step, []).append(seconds)
        counts = ", ".join(f"{k} {v}" for k, v in report.counts.items() if v)
        slowest = max(report.seconds.items(), key=lambda kv: kv[1], default=("", 0.0))
        print(
            f"{day}  {kind:<22} cycle {cycle_s:7.2f} s (étape la plus longue {slowest[0]} "
            f"{slowest[1]:.2f} s)  écritures du jour {posted:>8} en {events_s:6.1f} s  "
            f"charge {_load()}  {counts}",
            flush=True,
        )
        day += timedelta(days=1)
    return times, by_step


def receipts_rate(admin_url: str, lines: int) -> str:
    """Receipts per second by the receipts benchmark (benchmarks/receipts_import.py, the receipts
    area's own), run on a fresh database of the same server, when it is installed."""
    script = Path(__file__).parent / "receipts_import.py"
    if lines <= 0:
        return "non demandé"
    if not script.exists():
        return "non mesuré (benchmarks/receipts_import.py absent)"
    name = f"{DB_NAME}_receipts"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        print(f"import camt.053 de {_n(lines)} lignes (benchmarks/receipts_import.py)…", flush=True)
        done = subprocess.run(
            [sys.executable, str(script), "--entries", str(lines), "--database-url", url],
            capture_output=True,
            text=True,
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print(done.stdout, done.stderr, sep="", flush=True)
    found = re.search(r"([\d  ]+) encaissements/s", done.stdout)
    if done.returncode != 0 or found is None:
        return f"échec de benchmarks/receipts_import.py (code {done.returncode})"
    rate = int(re.sub(r"\D", "", found.group(1)))
    flag = "✓" if rate >= TARGET_RECEIPTS else "✗"
    return f"{_n(rate)} encaissements/s {flag} (cible ≥ {_n(TARGET_RECEIPTS)})"


def step_table(by_step: dict[str, dict[str, list[float]]]) -> list[str]:
    """Median seconds of each step on an ordinary day and on the day after a due date."""
    kinds = [
        k for k in ("jour ordinaire", "lendemain d'échéance", "émission (le 5)") if k in by_step
    ]
    steps = list(dict.fromkeys(s for k in kinds for s in by_step[k]))
    out = [f"  {'étape (médiane, s)':<24}" + "".join(f"{k[:20]:>22}" for k in kinds)]
    for step in steps:
        cells = "".join(f"{statistics.median(by_step[k].get(step, [0.0])):>22.2f}" for k in kinds)
        out.append(f"  {step:<24}{cells}")
    return out


def table(times: dict[str, list[float]]) -> list[str]:
    out = [f"  {'jour':<24}{'nombre':>7}{'médiane':>10}{'max':>10}   cible"]
    order = (
        "jour ordinaire",
        "émission (le 5)",
        "échéance (le 15)",
        "lendemain d'échéance",
        "paiements tardifs",
        "fin de mois",
    )
    for kind in order:
        if kind not in times:
            continue
        values = times[kind]
        target = ""
        if kind == "jour ordinaire":
            target = f"< {TARGET_DAY_S:.0f} s {'✓' if max(values) < TARGET_DAY_S else '✗'}"
        out.append(
            f"  {kind:<24}{len(values):>7}{statistics.median(values):>9.2f}s"
            f"{max(values):>9.2f}s   {target}"
        )
    total = sum(sum(v) for v in times.values())
    out.append(f"  {'année entière':<24}{sum(len(v) for v in times.values()):>7}{total:>9.0f}s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--days", type=int, default=None, help="only the first DAYS days")
    parser.add_argument("--receipts", type=int, default=1_000_000, help="camt.053 lines")
    parser.add_argument("--notices", action="store_true", help="render the call notices")
    parser.add_argument("--keep", action="store_true", help="keep the database created")
    parser.add_argument(
        "--skip", action="append", default=[], help="leave out a step (function name), repeatable"
    )
    args = parser.parse_args()
    if not args.notices:
        os.environ["RECOUVREMENT_CALL_NOTICES"] = "none"
    os.environ.setdefault("RECOUVREMENT_DOCUMENTS_DIR", str(Path("var") / "bench-documents"))
    admin = None
    admin_url = os.environ.get(
        "RECOUVREMENT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    if args.database_url:
        url = args.database_url
        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
    else:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
        url = make_url(admin_url).set(database=DB_NAME).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            if conn.scalar(select(func.count()).select_from(contributor)):
                sys.exit("Erreur : la base indiquée n'est pas vide")
        t = time.perf_counter()
        seed_contributors(engine, args.accounts)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        print(
            f"== {_n(args.accounts)} comptes, {_n(12 * args.accounts)} appels dans l'année "
            f"({time.perf_counter() - t:.0f} s de préparation, {engine.dialect.name})",
            flush=True,
        )
        steps = [s for s in STEPS if s.split(":")[1] not in args.skip]
        if len(steps) != len(STEPS):
            print(f"étapes laissées de côté : {', '.join(args.skip)}", flush=True)
        times, by_step = run_year(engine, args.accounts, args.year, args.days, steps)
        engine.dispose()
        rate = receipts_rate(admin_url, args.receipts)
        buffer = io.StringIO()
        print(f"\n== Cycle quotidien, {_n(args.accounts)} comptes", file=buffer)
        print("\n".join(table(times)), file=buffer)
        print("\n".join(step_table(by_step)), file=buffer)
        print(f"  import camt.053 ({_n(args.receipts)} lignes) : {rate}", file=buffer)
        print(buffer.getvalue())
    finally:
        if admin is not None and not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
