"""Query results as Polars frames, fast on PostgreSQL.

Exports read millions of rows: building a Python tuple per row costs more than the query. On
PostgreSQL the query is streamed with `COPY (…) TO STDOUT` in CSV and parsed by Polars with the
expected schema; elsewhere the rows are fetched and framed. Both give the same frame.
"""

from __future__ import annotations

import io

import polars as pl
from sqlalchemy import Connection
from sqlalchemy.sql import Select


def query_frame(conn: Connection, query: Select, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The rows of `query`, whose columns are named and ordered as `schema`."""
    if conn.dialect.name == "postgresql":
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        buffer = io.BytesIO()
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER false)") as copy:
                for chunk in copy:
                    buffer.write(chunk)
        finally:
            cursor.close()
        if buffer.tell() == 0:
            return pl.DataFrame(schema=schema)
        buffer.seek(0)
        booleans = {name for name, kind in schema.items() if kind == pl.Boolean}
        read_schema = {
            name: (pl.Utf8 if name in booleans else kind) for name, kind in schema.items()
        }
        frame = pl.read_csv(
            buffer,
            has_header=False,
            new_columns=list(schema),
            schema=read_schema,
        )
        if booleans:
            frame = frame.with_columns(pl.col(name) == "t" for name in booleans)
        return frame
    rows = conn.execute(query).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
