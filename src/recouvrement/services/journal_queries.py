"""SQL pieces shared by the readings of the journal by cause (fund accounts, portal exports)."""

from __future__ import annotations

from sqlalchemy import Connection, case, select

from recouvrement.adapters.db.tables import journal_entry


def effective_cause(entry):
    """The cause an entry counts under: its own, or for a reversal the cause of the entry it
    reverses (a returned payment takes back a payment). The lookup runs only for reversals, which
    are few, instead of joining the whole journal a second time."""
    reversed_entry = journal_entry.alias("reversed_entry")
    return case(
        (entry.c.reverses_id.is_(None), entry.c.cause),
        else_=select(reversed_entry.c.cause)
        .where(reversed_entry.c.id == entry.c.reverses_id)
        .scalar_subquery(),
    )


def room_for_large_reads(conn: Connection) -> None:
    """Let PostgreSQL hash a year of postings in memory rather than spill it to disk, and skip
    the JIT compilation (measured: over a second per query here, for plain scans and hashes),
    for the current transaction only."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        conn.exec_driver_sql("SET LOCAL jit = off")
