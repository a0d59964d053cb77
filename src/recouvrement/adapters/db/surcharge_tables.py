"""State of the late-surcharge step (migration 0008), on the shared metadata.

`surcharge_run` records each anniversary day the step has handled: the next run starts the day
after the latest one, so an ordinary day reads one row instead of scanning every debt again. The
journal's idempotency keys, not this table, guarantee that nothing is posted twice: a run that
crashed before recording its day simply replays it.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Integer, Table

from recouvrement.adapters.db.tables import metadata

surcharge_run = Table(
    "surcharge_run",
    metadata,
    Column("anniversary", Date, primary_key=True),
    Column("run_on", Date, nullable=False),
    Column("entries", Integer, nullable=False, default=0),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
