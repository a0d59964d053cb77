"""Assessment throughput: 1,000,000 employee-months and 1,000,000 self-employed contributor-years.

End to end from an in-memory table (a Polars frame of raw cases: territory code, period "YYYY-MM",
gross pay in cents, birth date): encoding, parameter tables for every month, vectorised assessment
and the result columns. The employee-months are spread over every month from 2013-01 to 2026-11, as
real declarations are, and OpenFisca-France is run on the very same cases (in its own virtual
environment, see scripts/test-deps.sh) to compare throughputs.

Run: .venv/bin/python benchmarks/assessment.py [--cases 1000000] [--no-openfisca]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from recouvrement.domain.assessment.employer import (
    assess_batch_chunked,
    build_tables,
    month_index,
)
from recouvrement.rules.parameters import load_parameters

ROOT = Path(__file__).resolve().parents[1]
ORACLE_PYTHON = ROOT / ".venv-oracle" / "bin" / "python"
RUNNER = ROOT / "tests" / "oracle" / "openfisca_employer_runner.py"
FIRST, LAST = (2013, 1), (2026, 11)


def employee_table(n: int, seed: int = 2013) -> pl.DataFrame:
    """Raw cases as a file or an API would hand them over: 97 % mainland and other DOM, 3 % Mayotte
    (from 2017, where every Mayotte parameter is known). Territory and period are
    dictionary-encoded (Polars Enum), as a columnar store or a Parquet file keeps them."""
    rng = np.random.default_rng(seed)
    first, last = month_index(*FIRST), month_index(*LAST)
    months = rng.integers(first, last + 1, n)
    mayotte = (rng.random(n) < 0.03) & (months >= month_index(2017, 1))
    others = np.array(["75", "69", "13", "971", "974", "2A", "59"])
    territory = np.where(mayotte, "976", others[rng.integers(0, len(others), n)])
    periods = [f"{m // 12}-{m % 12 + 1:02d}" for m in range(first, last + 1)]
    birth_year = rng.integers(1950, 2004, n)
    return pl.DataFrame(
        {
            "territory": pl.Series(territory, dtype=pl.Enum(["976", *others])),
            "period": pl.Series(np.array(periods)[months - first], dtype=pl.Enum(periods)),
            "gross_cents": rng.lognormal(np.log(250_000), 0.6, n).astype(np.int64),
            "birth": birth_year * 10000 + rng.integers(1, 13, n) * 100 + rng.integers(1, 29, n),
        }
    )


def _codes(column: pl.Series, encode) -> np.ndarray:
    """Dictionary codes → our indexes: one lookup per distinct value, then one take."""
    if not isinstance(column.dtype, pl.Enum):
        column = column.cast(pl.String)
        column = column.cast(pl.Enum(column.unique().drop_nulls().sort()))
    categories = column.dtype.categories.to_list()
    lookup = np.array([encode(c) for c in categories], dtype=np.int64)
    return lookup.take(column.to_physical().to_numpy())


def assess_employees(frame: pl.DataFrame, params) -> dict[str, np.ndarray]:
    """Table → amounts: encode territory and period, build the month tables, assess."""
    months = _codes(frame["period"], lambda p: month_index(int(p[:4]), int(p[5:7])))
    tables = build_tables(params, int(months.min()), int(months.max()))
    keys = tables.territories
    territory = _codes(frame["territory"], lambda t: keys.index(t) if t in keys else 0)
    return assess_batch_chunked(
        tables, territory, months, frame["gross_cents"].to_numpy(), frame["birth"].to_numpy()
    )


def self_employed(n: int, params):
    """The self-employed scale's own batch function, when that half of the product is installed."""
    try:
        module = importlib.import_module("recouvrement.domain.assessment.self_employed")
    except ModuleNotFoundError:
        return None
    if not hasattr(module, "assess_batch"):
        return None
    rng = np.random.default_rng(2016)
    covered = []
    for year in range(2013, 2027):
        try:
            module.assess_batch(
                params, np.array([year, year]), np.array(["craft", "trade"]), np.array([1, 2])
            )
            covered.append(year)
        except Exception:  # a year the scale's data does not cover yet
            continue
    if not covered:
        return None
    years = np.array(covered)[rng.integers(0, len(covered), n)]
    activities = np.where(rng.random(n) < 0.5, "craft", "trade")
    incomes = rng.lognormal(np.log(3_000_000), 0.8, n).astype(np.int64)
    frame = pl.DataFrame({"year": years, "activity": activities, "income": incomes})
    start = time.perf_counter()
    out = module.assess_batch(
        params,
        frame["year"].to_numpy(),
        frame["activity"].to_numpy(),
        frame["income"].to_numpy(),
    )
    seconds = time.perf_counter() - start
    return seconds, int(np.asarray(out["total"]).sum()), covered


def openfisca(frame: pl.DataFrame):
    if not ORACLE_PYTHON.exists():
        return None
    by_month = frame.group_by("period").agg(pl.col("gross_cents"))
    months = {p: list(map(int, g)) for p, g in by_month.iter_rows()}
    done = subprocess.run(
        [str(ORACLE_PYTHON), str(RUNNER)],
        input=json.dumps({"months": months, "timing": True}),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--no-openfisca", action="store_true")
    parser.add_argument("--repeat", type=int, default=5, help="runs; best and median reported")
    args = parser.parse_args()
    params = load_parameters()
    frame = employee_table(args.cases)
    assess_employees(frame.head(1000), params)  # warm-up: imports, first allocations

    runs = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        out = assess_employees(frame, params)
        runs.append(time.perf_counter() - start)
    seconds, median = min(runs), statistics.median(runs)
    errors = int((out["error"] != 0).sum())
    rate = args.cases / seconds
    print(
        f"employer: {args.cases:,} employee-months: best {seconds:.3f} s = {rate:,.0f} /s,"
        f" median {median:.3f} s = {args.cases / median:,.0f} /s (load average"
        f" {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"  errors: {errors}; employer contributions: {out['unemployment_employer'].sum() / 100:,.2f} €"
    )

    se = self_employed(args.cases, params)
    if se is None:
        print("self-employed: scale not installed (domain/assessment/self_employed.py absent)")
    else:
        print(
            f"self-employed: {args.cases:,} contributor-years in {se[0]:.3f} s = {args.cases / se[0]:,.0f} /s"
        )

    print(
        f"peak memory (this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
    )

    if not args.no_openfisca:
        of = openfisca(frame)
        if of is None:
            print("OpenFisca-France: absent (.venv-oracle), run scripts/test-deps.sh")
        else:
            of_rate = of["count"] / of["seconds"]
            print(
                f"OpenFisca-France: {of['count']:,} employee-months in {of['seconds']:.1f} s"
                f" = {of_rate:,.0f} /s; ratio {rate / of_rate:,.0f}×"
            )
            child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"  OpenFisca peak memory: {child:,.0f} MiB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
