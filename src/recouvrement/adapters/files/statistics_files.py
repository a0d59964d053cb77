"""Employment statistics written as CSV or Parquet, with one schema for both.

The schema is fixed and typed so the funds can load every quarter the same way: text codes stay
text (a department "976" or a NAF code "0311Z" never becomes a number), counts and cents are 64-bit
integers. Rows come sorted from the service, so the same declarations give the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from recouvrement.domain.errors import DomainError

SCHEMA = {
    "quarter": pl.Utf8,
    "department": pl.Utf8,
    "naf_code": pl.Utf8,
    "establishments": pl.Int64,
    "headcount_end_of_quarter": pl.Int64,
    "employee_months": pl.Int64,
    "payroll": pl.Int64,
    "unemployment_employer": pl.Int64,
    "unemployment_employee": pl.Int64,
    "ags": pl.Int64,
    "contributions": pl.Int64,
}
FORMATS = (".csv", ".parquet")


def statistics_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def write_statistics(rows: list[dict], path: Path) -> int:
    """Write the rows to `path`, CSV or Parquet by its extension; returns the number of rows."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DomainError.single(
            "output", f"format de fichier inconnu {suffix!r} (attendu : .csv ou .parquet)"
        )
    frame = statistics_frame(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path, statistics=False)
    return frame.height


def read_statistics(path: Path) -> pl.DataFrame:
    if path.suffix.lower() == ".csv":
        return pl.read_csv(path, schema=SCHEMA)
    return pl.read_parquet(path)
