"""Tables of the transfers to the beneficiary funds (migration 0005), on the shared metadata.

Kept apart from tables.py so that the transfer records read as one unit: the fund's notification of
the receipts before the first advance, the central agency's closing of each year's accounts, and
the transfers themselves. Money is BIGINT cents.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from recouvrement.adapters.db.tables import Id, metadata

# Unédic's notification of the contributions cashed in Mayotte in 2012 (amendment art. 5.3).
fund_notification = Table(
    "fund_notification",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agreement", String(32), nullable=False),
    Column("notified_year", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("notified_by", String(255), nullable=False),
    Column("notified_on", Date, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("reference", String(100), nullable=False, default=""),
    Column("late", Boolean, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("agreement", "notified_year"),
    CheckConstraint("amount >= 0", name="amount"),
)

# The central agency's closing of its accounts for year N (art. 5.2): it starts the
# regularisation clock.
accounts_closing = Table(
    "accounts_closing",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agreement", String(32), nullable=False),
    Column("year", Integer, nullable=False),
    Column("closed_on", Date, nullable=False),
    Column("late", Boolean, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("agreement", "year"),
)

# One row per transfer of a year and kind: the unique key is what makes a transfer happen once.
transfer = Table(
    "transfer",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agreement", String(32), nullable=False),
    Column("year", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("account", String(32)),
    Column("due_on", Date, nullable=False),
    Column("announce_before", DateTime(timezone=True)),
    Column("message_id", String(35), unique=True),
    Column("status", String(16), nullable=False),
    Column("basis", Text, nullable=False, default=""),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("agreement", "year", "kind"),
    CheckConstraint("amount >= 0", name="amount"),
    CheckConstraint("kind in ('advance', 'regularisation')", name="kind"),
    CheckConstraint("direction in ('payment', 'owed', 'overpaid', 'settled')", name="direction"),
)
