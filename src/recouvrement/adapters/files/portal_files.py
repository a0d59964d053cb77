"""The files of a portal export: one Parquet file per dataset, typed by a fixed schema, and a
manifest naming each file with its rows, its SHA-256 and its columns.

The funds load every export the same way: text stays text (a SIREN, a period), counts and cents are
64-bit integers, dates are dates. Rows are sorted before writing, so the same slice gives the same
bytes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "contributors": {
        "contributor_id": pl.Int64,
        "kind": pl.Utf8,
        "name": pl.Utf8,
        "territory": pl.Utf8,
        "siren": pl.Utf8,
        "public_sector": pl.Boolean,
        "status": pl.Utf8,
    },
    "declarations": {
        "declaration_id": pl.Int64,
        "contributor_id": pl.Int64,
        "siret": pl.Utf8,
        "period": pl.Utf8,
        "version": pl.Int64,
        "employees": pl.Int64,
        "gross_pay": pl.Int64,
        "unemployment_employer": pl.Int64,
        "unemployment_employee": pl.Int64,
        "ags": pl.Int64,
    },
    "debts": {
        "entry_id": pl.Int64,
        "line_no": pl.Int64,
        "contributor_id": pl.Int64,
        "fund": pl.Utf8,
        "item": pl.Utf8,
        "period": pl.Utf8,
        "value_date": pl.Date,
        "cause": pl.Utf8,
        "amount": pl.Int64,
    },
    "receipts": {
        "entry_id": pl.Int64,
        "line_no": pl.Int64,
        "contributor_id": pl.Int64,
        "fund": pl.Utf8,
        "item": pl.Utf8,
        "period": pl.Utf8,
        "value_date": pl.Date,
        "cause": pl.Utf8,
        "amount": pl.Int64,
    },
    "balances": {
        "contributor_id": pl.Int64,
        "fund": pl.Utf8,
        "item": pl.Utf8,
        "period": pl.Utf8,
        "balance": pl.Int64,
    },
}
SORT = {
    "contributors": ["contributor_id"],
    "declarations": ["declaration_id"],
    "debts": ["entry_id", "line_no"],
    "receipts": ["entry_id", "line_no"],
    "balances": ["contributor_id", "fund", "item", "period"],
}


def write_dataset(name: str, rows: list[dict] | pl.DataFrame, directory: Path) -> dict:
    """Write one dataset (rows or a frame of its schema); returns its manifest line."""
    if not isinstance(rows, pl.DataFrame):
        rows = pl.DataFrame(rows, schema=SCHEMAS[name], orient="row")
    frame = rows.select(list(SCHEMAS[name])).cast(SCHEMAS[name]).sort(SORT[name])
    path = directory / f"{name}.parquet"
    frame.write_parquet(path, statistics=False, compression="zstd")
    return {
        "file": path.name,
        "rows": frame.height,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "columns": {column: str(dtype) for column, dtype in SCHEMAS[name].items()},
    }


def write_manifest(directory: Path, manifest: dict) -> str:
    """The manifest as canonical JSON; returns its SHA-256 (the export's fingerprint)."""
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    (directory / "manifest.json").write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode()).hexdigest()
