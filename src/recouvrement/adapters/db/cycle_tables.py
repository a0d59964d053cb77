"""Tables of the daily cycle (migration 0010), on the shared metadata.

`cycle_day` records each day the cycle ran, so a crashed day (left `running`) is found and run
again, and `run-until` knows where to resume. `payment_incident` keeps the calls found unpaid at
their due date, the fact the surcharges and the reminders start from (CSS art. R243-18, now R243-16).
`document` indexes the notices produced, once per kind and reference, the content being a file
under the documents directory.

`payment_incident.call_id` names a row of `call` (migration 0006, a parallel branch): no foreign
key, so the two branches can be applied in either order.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from recouvrement.adapters.db.tables import Id, metadata

cycle_day = Table(
    "cycle_day",
    metadata,
    Column("id", Id, primary_key=True),
    Column("day", Date, nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # running → done
    Column("runs", Integer, nullable=False, default=1),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("run_by", String(64), nullable=False),
    Column("summary", JSON, nullable=False),
)

payment_incident = Table(
    "payment_incident",
    metadata,
    Column("id", Id, primary_key=True),
    Column("call_id", BigInteger, nullable=False),
    Column("contributor_id", BigInteger, nullable=False, index=True),
    Column("period", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("detected_on", Date, nullable=False, index=True),
    Column("unpaid_amount", BigInteger, nullable=False),
    UniqueConstraint("call_id", "kind"),
)

document = Table(
    "document",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", BigInteger, nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("created_on", Date, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("path", String(255), nullable=False),
    UniqueConstraint("kind", "reference"),
)
