"""Demo-region load benchmark: how long `demo load` takes at its default size, per backend.

    python benchmarks/demo_load.py                          # both backends, default sizes
    python benchmarks/demo_load.py --backend sqlite --self-employed 30000 --employers 3000

For each backend it builds a fresh database (PostgreSQL: a database `recouvrement_bench_demo`
created and dropped on the server of RECOUVREMENT_BENCH_POSTGRES_URL, default the local one;
SQLite: a file in a temporary directory), then reports the time to generate the region alone and
the time of the whole load (generation, inserts in one transaction, one token per demo login).

Target (issue 2): the default load takes seconds, so `make run` starts quickly on a bare machine.
Not part of the test suite; the latest figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from recouvrement.adapters.db import migrate
from recouvrement.adapters.db.engine import make_engine
from recouvrement.domain.actors import system_actor
from recouvrement.domain.demo_region import RegionSize, generate_region
from recouvrement.services import demo

PG_URL = os.environ.get(
    "RECOUVREMENT_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BENCH_DB = "recouvrement_bench_demo"


def measure(url: str, size: RegionSize, seed: int) -> dict[str, float]:
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        start = time.perf_counter()
        generate_region(seed, size)
        generated = time.perf_counter() - start
        start = time.perf_counter()
        report = demo.load_region(engine, system_actor("benchmark"), seed=seed, size=size)
        loaded = time.perf_counter() - start
    finally:
        engine.dispose()
    rows = sum(report.counts.values()) + report.counts["self_employed"] + report.counts["employers"]
    return {"generation_s": generated, "load_s": loaded, "rows": rows}


def sqlite_run(size: RegionSize, seed: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        return measure(f"sqlite:///{Path(tmp) / 'bench.db'}", size, seed)


def postgres_run(size: RegionSize, seed: int) -> dict[str, float]:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
    url = make_url(PG_URL).set(database=BENCH_DB).render_as_string(hide_password=False)
    try:
        return measure(url, size, seed)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--self-employed", type=int, default=RegionSize().self_employed)
    parser.add_argument("--employers", type=int, default=RegionSize().employers)
    parser.add_argument("--mainland-employers", type=int, default=RegionSize().mainland_employers)
    args = parser.parse_args()
    size = RegionSize(args.self_employed, args.employers, args.mainland_employers)
    runs = {"sqlite": sqlite_run, "postgres": postgres_run}
    backends = list(runs) if args.backend == "both" else [args.backend]
    print(f"demo load, seed {args.seed}, sizes {size._asdict()}")
    for backend in backends:
        r = runs[backend](size, args.seed)
        print(
            f"{backend:<9} generation {r['generation_s']:.2f} s · whole load {r['load_s']:.2f} s "
            f"· {int(r['rows'])} rows · {r['rows'] / r['load_s']:,.0f} rows/s"
        )


if __name__ == "__main__":
    main()
