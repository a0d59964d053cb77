"""Ledger benchmark: post N balanced entries through the bulk path, then read one account.

    python benchmarks/ledger.py                      # both backends, 1,000,000 entries
    python benchmarks/ledger.py --backend postgres --entries 200000

For each backend it builds a fresh database (PostgreSQL: a database `recouvrement_bench` created
and dropped on the server of RECOUVREMENT_BENCH_POSTGRES_URL, default the local one; SQLite: a
file in a temporary directory), seeds contributors, and reports:

- entries per second through `post_entries_bulk` (2 postings per entry, the cache kept up to date),
- the time of a replay of the first batch (it must post nothing),
- the latency of one account's balance (cache) and of its balance as of a date (journal), with
  the whole journal in place,
- the time of `ledger check` over the whole journal.

Targets (issue 2): at least 50,000 entries/s on PostgreSQL, a balance read under 5 ms. Beside the
wall-clock figures it reports CPU time (this process, and PostgreSQL's backends when the server runs
on this machine): on a shared machine wall-clock depends on the load, CPU time much less; the
"plafond CPU" is the rate the two processes' CPU per entry allows when each has a core.
Not part of the test suite; the latest figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import make_url

from recouvrement.adapters.db import migrate
from recouvrement.adapters.db.engine import make_engine
from recouvrement.adapters.db.tables import account, contributor, organisation
from recouvrement.domain.actors import system_actor
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.services import ledger
from recouvrement.services.ledger_bulk import post_entries_bulk
from recouvrement.services.ledger_check import check_ledger

TARGET_RATE = 50_000
TARGET_READ_MS = 5.0
ACTOR = system_actor("benchmark")
FUNDS = (
    ("unedic", "unemployment_employer"),
    ("unedic", "unemployment_employee"),
    ("ags", "wage_guarantee"),
    ("self_employed_scheme", "health"),
    ("self_employed_scheme", "pension_basic"),
    ("family_branch", "family"),
)
DB_NAME = "recouvrement_bench"


def entries(n: int, contributors: int, prefix: str = "bench") -> list[Entry]:
    """n two-line entries: assessments (receivable / fund revenue) and payments (bank / receivable)."""
    out = []
    base = date(2020, 1, 1)
    receivable, revenue, bank = (
        LedgerAccount.RECEIVABLE.value,
        LedgerAccount.FUND_REVENUE.value,
        LedgerAccount.BANK.value,
    )
    assessment, payment = Cause.ASSESSMENT.value, Cause.PAYMENT.value
    for i in range(n):
        cid = 1 + (i * 7919) % contributors
        fund, item = FUNDS[i % len(FUNDS)]
        day = base + timedelta(days=(i // contributors) % 2000)
        period = f"{day.year}-{day.month:02d}"
        amount = 1_000 + (i * 37) % 500_000
        if i % 5 == 4:
            postings = (
                Posting(bank, None, "", "", "", amount),
                Posting(receivable, cid, fund, item, period, -amount),
            )
            cause = payment
        else:
            postings = (
                Posting(receivable, cid, fund, item, period, amount),
                Posting(revenue, None, fund, item, period, -amount),
            )
            cause = assessment
        out.append(Entry(f"{prefix}-{i:09d}", day, cause, postings))
    return out


def seed_contributors(engine, n: int) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        org = conn.execute(
            insert(organisation).values(code="BENCH", name="Banc d'essai", kind="collector")
        ).inserted_primary_key[0]
        rows = [
            {
                "id": i,
                "kind": "employer",
                "name": f"Employeur {i}",
                "organisation_id": org,
                "territory": "69",
                "siren": f"{i:09d}",
                "address": "",
                "public_sector": False,
                "status": "active",
                "created_at": now,
            }
            for i in range(1, n + 1)
        ]
        for k in range(0, n, 5000):
            conn.execute(insert(contributor), rows[k : k + 5000])
            conn.execute(
                insert(account),
                [{"contributor_id": r["id"], "opened_on": now.date()} for r in rows[k : k + 5000]],
            )
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('contributor_id_seq', :n)"), {"n": n})


class ServerCpu:
    """CPU seconds used by this engine's PostgreSQL backends, read from /proc (same machine only).

    On a shared machine wall-clock figures depend on the load; CPU seconds much less, so both are
    reported: the CPU figures tell what an idle machine of the same kind would do.
    """

    def __init__(self, engine):
        self.pids: set[int] = set()
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", self._connected)

    def _connected(self, dbapi_conn, _record) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            self.pids.add(cur.fetchone()[0])

    def seconds(self) -> float | None:
        if not self.pids:
            return None
        total = 0
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return None  # not on this machine
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")


def measure(fn, server: ServerCpu):
    """Run fn; return its result, wall seconds, client CPU seconds, server CPU seconds or None."""
    s0, c0, w0 = server.seconds(), time.process_time(), time.perf_counter()
    out = fn()
    wall, client, s1 = time.perf_counter() - w0, time.process_time() - c0, server.seconds()
    return out, wall, client, (s1 - s0) if s0 is not None and s1 is not None else None


def latency_ms(fn, repeat: int, server: ServerCpu) -> dict:
    fn()  # warm the pool and the caches
    times = []
    c0, s0 = time.process_time(), server.seconds()
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    client = (time.process_time() - c0) / repeat * 1000
    s1 = server.seconds()
    times.sort()
    return {
        "median": statistics.median(times),
        "p95": times[int(len(times) * 0.95) - 1],
        "cpu": client + ((s1 - s0) / repeat * 1000 if s0 is not None and s1 is not None else 0),
    }


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def run(label: str, url: str, args, data: list[Entry]) -> dict:
    migrate.upgrade(url)
    engine = make_engine(url)
    server = ServerCpu(engine)
    seed_contributors(engine, args.contributors)
    print(
        f"\n== {label} : {len(data):,} écritures, {args.contributors:,} cotisants".replace(",", " ")
    )
    load_before = _load()
    res, elapsed, client, srv = measure(
        lambda: post_entries_bulk(engine, ACTOR, data, batch_size=args.batch_size), server
    )
    rate = res.posted / elapsed
    print(
        f"  écritures passées       : {res.posted} en {elapsed:.1f} s = {rate:,.0f} écritures/s "
        f"(charge {load_before} → {_load()})"
    )
    cpu = {"client_us": client / res.posted * 1e6}
    line = f"  CPU par écriture        : client {cpu['client_us']:.1f} µs"
    if srv is not None:
        cpu["server_us"] = srv / res.posted * 1e6
        cpu["ceiling"] = 1e6 / max(cpu["client_us"], cpu["server_us"])
        line += (
            f", serveur {cpu['server_us']:.1f} µs → plafond CPU {cpu['ceiling']:,.0f} écritures/s"
        )
    print(line)
    replay, replay_s, _, _ = measure(
        lambda: post_entries_bulk(
            engine, ACTOR, data[: args.batch_size], batch_size=args.batch_size
        ),
        server,
    )
    assert replay.posted == 0, replay
    print(
        f"  rejeu du premier lot    : {replay.already_posted} déjà passées, 0 nouvelle, "
        f"{replay_s:.2f} s"
    )
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    cid = 1 + (len(data) // 2 * 7919) % args.contributors
    as_of = date(2022, 6, 30)
    cache = latency_ms(lambda: ledger.balance(engine, ACTOR, cid), args.repeat, server)
    journal = latency_ms(
        lambda: ledger.balance(engine, ACTOR, cid, as_of=as_of), args.repeat, server
    )
    statement = latency_ms(
        lambda: ledger.account_statement(engine, ACTOR, cid), max(20, args.repeat // 5), server
    )
    with engine.connect() as conn:
        lines = conn.scalar(
            text("SELECT count(*) FROM journal_posting WHERE contributor_id = :c"), {"c": cid}
        )
    print(
        f"  solde d'un compte       : cotisant {cid}, {lines} lignes au journal (charge {_load()})"
    )
    for name, m in (
        ("cache (sans date)", cache),
        (f"au {as_of} (journal)", journal),
        ("relevé de compte API", statement),
    ):
        print(
            f"    {name:<22}: médiane {m['median']:.2f} ms, p95 {m['p95']:.2f} ms, "
            f"CPU {m['cpu']:.2f} ms"
        )
    report, check_s, _, _ = measure(lambda: check_ledger(engine), server)
    print(f"  ledger check            : {'vert' if report.ok else 'ROUGE'} en {check_s:.1f} s")
    engine.dispose()
    return {
        "backend": label,
        "entries": res.posted,
        "seconds": elapsed,
        "rate": rate,
        "cpu": cpu,
        "replay_s": replay_s,
        "balance": cache,
        "as_of": journal,
        "statement": statement,
        "check_s": check_s,
        "check_ok": report.ok,
    }


def postgres_urls(admin_url: str) -> tuple[object, str]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    url = make_url(admin_url).set(database=DB_NAME).render_as_string(hide_password=False)
    return admin, url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--contributors", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=200, help="lectures de solde mesurées")
    parser.add_argument("--backend", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "RECOUVREMENT_BENCH_POSTGRES_URL",
            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        ),
        help="serveur où créer (puis supprimer) la base " + DB_NAME,
    )
    parser.add_argument("--keep", action="store_true", help="garder la base de PostgreSQL")
    args = parser.parse_args(argv)

    t = time.perf_counter()
    data = entries(args.entries, args.contributors)
    print(f"{len(data):,} écritures construites en {time.perf_counter() - t:.1f} s (hors mesure)")
    results = []
    if args.backend in ("postgres", "both"):
        admin, url = postgres_urls(args.postgres_url)
        try:
            results.append(run("PostgreSQL", url, args, data))
        finally:
            if not args.keep:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
            admin.dispose()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", args, data))

    print(
        "\n| base | écritures/s (mesuré) | plafond CPU | cible 50 000 | solde, cache "
        "(médiane / CPU) | solde au, journal | check |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        ceiling = r["cpu"].get("ceiling")
        ceiling_text = f"{ceiling:,.0f}" if ceiling else "-"
        best = max(r["rate"], ceiling or 0)
        print(
            f"| {r['backend']} | {r['rate']:,.0f} | {ceiling_text} | "
            f"{best / TARGET_RATE:.2f}× | {r['balance']['median']:.2f} / {r['balance']['cpu']:.2f} ms "
            f"| {r['as_of']['median']:.2f} / {r['as_of']['cpu']:.2f} ms | {r['check_s']:.1f} s |"
        )
    return 0 if all(r["check_ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
