"""Management-fee invoices and the funds' yearly figures (migration 0011), on the shared metadata.

An invoice is kept once per agreement, category and year billed, with what it was computed on, so
it can be explained and re-printed."""

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


# What each fund had been paid, refunded, written off and transferred from the first posting to the
# end of a year, as the journal stood at `watermark` (the last entry id read). A later entry dated
# in or before the year is added on the next reading; `ledger check` compares every row with the
# journal.
fund_year_figure = Table(
    "fund_year_figure",
    metadata,
    Column("fund", String(32), primary_key=True),
    Column("territory", String(3), primary_key=True),  # "" when not limited to a territory
    Column("year", Integer, primary_key=True),
    Column("watermark", BigInteger, nullable=False),
    Column("cashed", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("written_off", BigInteger, nullable=False),
    Column("transferred", BigInteger, nullable=False),
)
