"""Assessment cases in and results out, as JSON Lines, CSV or Parquet, chosen by file extension.

Reading never stops at a bad line: a line that is not a JSON object becomes an error record in its
place, so the output keeps one line per input line, in order.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from recouvrement.domain.errors import DomainError

FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
}
_RESULT_KEYS = ("id", "error", "base", "ceiling", "exclusion")


def file_format(path: Path, field: str) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise DomainError.single(
            field,
            f"extension {path.suffix or '(aucune)'!r} non prise en charge"
            " (.jsonl, .csv ou .parquet)",
            "bad_format",
        ) from None


def _jsonl(path: Path) -> list[dict | Exception]:
    records: list[dict | Exception] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line, parse_float=float)
            except json.JSONDecodeError as err:
                records.append(ValueError(f"ligne {number} : JSON illisible ({err.msg})"))
                continue
            if not isinstance(record, dict):
                records.append(ValueError(f"ligne {number} : objet JSON attendu"))
                continue
            records.append(record)
    return records


def _clean(row: dict) -> dict:
    """Empty CSV cells and Parquet nulls mean "not given"."""
    return {k: v for k, v in row.items() if v is not None and v != ""}


def read_cases(path: Path) -> list[dict | Exception]:
    """The cases of a file, one record per line (or an exception for an unreadable line)."""
    kind = file_format(path, "input")
    if not path.exists():
        raise DomainError.single("input", f"fichier introuvable : {path}", "not_found")
    if kind == "jsonl":
        return _jsonl(path)
    if kind == "csv":
        frame = pl.read_csv(path, infer_schema=False)
    else:
        frame = pl.read_parquet(path)
        frame = frame.with_columns(
            pl.col(c).cast(pl.String) for c, t in frame.schema.items() if t.is_float()
        )
    return [_clean(row) for row in frame.iter_rows(named=True)]


def _flat(result: dict) -> dict:
    row = {k: result.get(k) for k in _RESULT_KEYS}
    for item, amount in (result.get("items") or {}).items():
        row[item] = amount
    return row


def write_results(path: Path, results: list[dict]) -> None:
    """JSON Lines keep each result's shape; CSV and Parquet flatten the items into columns."""
    kind = file_format(path, "output")
    if kind == "jsonl":
        with path.open("w", encoding="utf-8") as out:
            for result in results:
                out.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    rows = [_flat(r) for r in results]
    columns = list(dict.fromkeys(k for row in rows for k in row))
    frame = pl.DataFrame(
        {c: [None if row.get(c) is None else str(row.get(c)) for row in rows] for c in columns},
        schema={c: pl.String for c in columns},
    )
    if kind == "csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)
