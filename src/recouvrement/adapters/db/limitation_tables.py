"""Tables of the limitation of debts (migration 0016), on the shared metadata.

`limitation_event` keeps the acts that interrupt or suspend the limitation of the debts of one
(contributor, period): formal notices, enforcement orders, payments, requests for time to pay…
(domain/limitation.py). An act is recorded once per (contributor, period, event, day, source), so a
replayed step records nothing more. `limitation_alert` is the list of debts that will soon be
prescribed, one row per debt and limitation date; `limitation_proposal` marks the prescribed debts
already proposed for write-off, so each is proposed once.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    String,
    Table,
    UniqueConstraint,
)

from recouvrement.adapters.db.tables import Id, metadata

limitation_event = Table(
    "limitation_event",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", BigInteger, nullable=False),
    Column("period", String(16), nullable=False),
    Column("event", String(32), nullable=False),
    Column("on", Date, nullable=False),
    Column("until", Date),
    Column("source", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("contributor_id", "period", "event", "on", "source"),
)
Index(
    "ix_limitation_event_contributor_period",
    limitation_event.c.contributor_id,
    limitation_event.c.period,
)

limitation_alert = Table(
    "limitation_alert",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", BigInteger, nullable=False, index=True),
    Column("fund", String(32), nullable=False),
    Column("item", String(48), nullable=False),
    Column("period", String(16), nullable=False),
    Column("limitation_date", Date, nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("alerted_on", Date, nullable=False),
    UniqueConstraint("contributor_id", "fund", "item", "period", "limitation_date"),
)

limitation_proposal = Table(
    "limitation_proposal",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", BigInteger, nullable=False),
    Column("fund", String(32), nullable=False),
    Column("item", String(48), nullable=False),
    Column("period", String(16), nullable=False),
    Column("limitation_date", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("proposal_id", BigInteger),
    Column("proposed_on", Date, nullable=False),
    UniqueConstraint("contributor_id", "fund", "item", "period"),
)
