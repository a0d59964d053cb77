"""Registration-flow import benchmark: records per second of a flow file, and of its replay.

    python benchmarks/registration_import.py                       # both backends, 10,000 records
    python benchmarks/registration_import.py --backend sqlite --records 50000

The flow is generated: affiliations of self-employed people and employers, then changes and
deregistrations of some of them, with about 5 % bad records (wrong NIR key, unknown territory) that
become rejects. For each backend it builds a fresh database (PostgreSQL: a database
`recouvrement_bench_registration` on RECOUVREMENT_BENCH_POSTGRES_URL, default the local server;
SQLite: a temporary file), imports the CSV file as the system, then imports the same bytes again
(a replay: the earlier report, nothing changed) and a copy with one byte changed (every record
already applied: all skipped). Not part of the test suite; figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from stdnum import luhn
from stdnum.fr import nir as stdnum_nir

from recouvrement.adapters.db import migrate
from recouvrement.adapters.db.engine import make_engine
from recouvrement.domain.actors import system_actor
from recouvrement.services import organisations, registration

PG_URL = os.environ.get(
    "RECOUVREMENT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BENCH_DB = "recouvrement_bench_registration"
COLUMNS = [
    "record_id", "action", "effective_date", "kind", "organisation", "name", "territory", "nir",
    "activity", "activity_start", "address", "siren", "siret",
]  # fmt: skip


def flow(records: int, seed: int) -> bytes:
    rng = random.Random(seed)
    rows: list[dict] = []
    people: list[tuple[str, str]] = []  # (kind, identifier) of affiliated contributors
    affiliations = records * 8 // 10
    for i in range(affiliations):
        rid = f"A{i:08d}"
        territory = "977" if rng.random() < 0.02 else rng.choice(["69", "01", "976"])
        if i % 10:
            body = f"{rng.choice('12')}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}69{i:06d}"
            key = stdnum_nir.calc_check_digits(body)
            if rng.random() < 0.03:
                key = f"{(int(key) + 1) % 97 or 97:02d}"
            rows.append(
                {
                    "record_id": rid, "action": "affiliation", "effective_date": "2026-01-05",
                    "kind": "self_employed", "organisation": "URSSAF-REG", "name": f"Indépendant {i}",
                    "territory": territory, "nir": body + key, "activity": rng.choice(["craft", "trade"]),
                    "activity_start": "2015-03-01", "address": f"{i} rue de la République",
                }
            )  # fmt: skip
            people.append(("self_employed", body + key))
        else:
            siren = f"{10_000_000 + i:08d}"
            siren += luhn.calc_check_digit(siren)
            siret = siren + "0001"
            siret += luhn.calc_check_digit(siret)
            rows.append(
                {
                    "record_id": rid, "action": "affiliation", "effective_date": "2026-01-05",
                    "kind": "employer", "organisation": "URSSAF-REG", "name": f"Entreprise {i}",
                    "territory": territory, "siren": siren, "siret": siret,
                }
            )  # fmt: skip
            people.append(("employer", siren))
    for j in range(records - affiliations):
        kind, identifier = rng.choice(people)
        key = "nir" if kind == "self_employed" else "siren"
        row = {"record_id": f"M{j:08d}", "kind": kind, key: identifier}
        if j % 3:
            row.update(action="change", effective_date="2026-03-01", address=f"{j} place Neuve")
        else:
            row.update(action="deregistration", effective_date="2026-06-30")
        rows.append(row)
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, delimiter=";", restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def measure(url: str, data: bytes) -> dict[str, float]:
    migrate.upgrade(url)
    engine = make_engine(url)
    actor = system_actor("benchmark")
    today = date(2026, 11, 24)
    try:
        organisations.create_organisation(engine, actor, "URSSAF-REG", "URSSAF", "collector", "69")
        start = time.perf_counter()
        report = registration.import_registration_file(engine, actor, data, "flux.csv", today)
        first = time.perf_counter() - start
        start = time.perf_counter()
        registration.import_registration_file(engine, actor, data, "flux.csv", today)
        replay = time.perf_counter() - start
        start = time.perf_counter()
        again = registration.import_registration_file(engine, actor, data + b"\n", "b.csv", today)
        skipped = time.perf_counter() - start
    finally:
        engine.dispose()
    assert again["already_applied"] == report["applied"]
    return {
        "records": report["records"],
        "applied": report["applied"],
        "rejected": report["rejected"],
        "import_s": first,
        "replay_s": replay,
        "all_skipped_s": skipped,
    }


def sqlite_run(data: bytes) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        return measure(f"sqlite:///{Path(tmp) / 'bench.db'}", data)


def postgres_run(data: bytes) -> dict[str, float]:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
    url = make_url(PG_URL).set(database=BENCH_DB).render_as_string(hide_password=False)
    try:
        return measure(url, data)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=46)
    args = parser.parse_args()
    data = flow(args.records, args.seed)
    runs = {"sqlite": sqlite_run, "postgres": postgres_run}
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        r = runs[backend](data)
        print(
            f"{backend}: {r['records']} records ({r['applied']} applied, {r['rejected']} rejected, "
            f"{len(data) / 1e6:.1f} MB) in {r['import_s']:.2f} s = "
            f"{r['records'] / r['import_s']:,.0f} records/s; replay of the same bytes "
            f"{r['replay_s'] * 1000:.0f} ms; all already applied {r['all_skipped_s']:.2f} s = "
            f"{r['records'] / r['all_skipped_s']:,.0f} records/s"
        )


if __name__ == "__main__":
    main()
