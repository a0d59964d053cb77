"""Query results as Polars frames, fast on PostgreSQL.

Exports read millions of rows: a Python object per row (or a COPY message per row) costs more than
the query. On PostgreSQL the server writes the rows as CSV lines and gathers them by blocks of
`BLOCK` lines (`string_agg`), so a million rows cross as a few dozen values that Polars parses with
the expected schema; elsewhere the rows are fetched and framed. Both give the same frame: text is
quoted so that a null (unquoted empty field) stays distinct from an empty text.
"""

from __future__ import annotations

import io

import polars as pl
from sqlalchemy import Connection
from sqlalchemy.sql import Select

BLOCK = 20_000


def _field(name: str, kind: pl.DataType) -> str:
    column = f'q."{name}"'
    if kind == pl.Utf8:
        return (
            f"CASE WHEN {column} IS NULL THEN '' "
            f"ELSE '\"' || replace({column}::text, '\"', '\"\"') || '\"' END"
        )
    if kind == pl.Boolean:
        return f"CASE WHEN {column} THEN 't' WHEN NOT {column} THEN 'f' ELSE '' END"
    return f"coalesce({column}::text, '')"


def query_frame(conn: Connection, query: Select, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The rows of `query`, whose columns are named and ordered as `schema`."""
    if conn.dialect.name != "postgresql":
        rows = conn.execute(query).all()
        return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    line = " || ',' || ".join(_field(name, kind) for name, kind in schema.items())
    blocks = conn.exec_driver_sql(
        f"SELECT string_agg(line, E'\\n') FROM ("
        f"SELECT {line} AS line, (row_number() OVER ()) / {BLOCK} AS block FROM ({sql}) q"
        f") lines GROUP BY block"
    ).scalars()
    text = "\n".join(blocks)
    if not text:
        return pl.DataFrame(schema=schema)
    booleans = {name for name, kind in schema.items() if kind == pl.Boolean}
    read_schema = {name: (pl.Utf8 if name in booleans else kind) for name, kind in schema.items()}
    frame = pl.read_csv(
        io.StringIO(text), has_header=False, new_columns=list(schema), schema=read_schema
    )
    if booleans:
        frame = frame.with_columns(pl.col(name) == "t" for name in booleans)
    return frame
