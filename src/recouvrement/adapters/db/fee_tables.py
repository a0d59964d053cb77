"""Management-fee invoices (migration 0011), on the shared metadata: one per agreement, category
and year billed, with what it was computed on, so the invoice can be explained and re-printed."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
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

fee_invoice = Table(
    "fee_invoice",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agreement", String(32), nullable=False),
    Column("category", String(16), nullable=False),
    Column("year", Integer, nullable=False),
    Column("number", String(40), nullable=False, unique=True),
    Column("billed_to", String(32), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("late", Boolean, nullable=False),
    Column("base", BigInteger, nullable=False),
    Column("formula", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("entry_key", String(200), nullable=False),
    Column("pdf_sha256", String(64), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("agreement", "category", "year"),
)
