"""Tables of payroll declarations and their assessment (migration 0002), on the shared metadata.

A declaration is kept per establishment, month and version: a corrected declaration is a new version,
never an edit, and its lines keep the amounts assessed so the next correction can post the
difference. Money is BIGINT cents.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from recouvrement.adapters.db.tables import Id, metadata

payroll_declaration = Table(
    "payroll_declaration",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", ForeignKey("contributor.id"), nullable=False, index=True),
    Column("establishment_id", ForeignKey("establishment.id"), nullable=False),
    Column("period", String(7), nullable=False),
    Column("version", Integer, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("entry_key", String(200)),
    Column("received_by", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("source", String(255), nullable=False, default=""),
    UniqueConstraint("establishment_id", "period", "version"),
)

payroll_declaration_line = Table(
    "payroll_declaration_line",
    metadata,
    Column("id", Id, primary_key=True),
    Column("declaration_id", ForeignKey("payroll_declaration.id"), nullable=False, index=True),
    Column("contributor_id", BigInteger, nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("nir", String(15), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("gross_pay", BigInteger, nullable=False),
    Column("days", Integer),
    Column("base", BigInteger, nullable=False),
    Column("unemployment_employer", BigInteger, nullable=False),
    Column("unemployment_employee", BigInteger, nullable=False),
    Column("ags", BigInteger, nullable=False),
    UniqueConstraint("declaration_id", "line_no"),
)

# A public-sector employer's adhesion to the unemployment-insurance scheme, from its date.
unemployment_opt_in = Table(
    "unemployment_opt_in",
    metadata,
    Column("contributor_id", ForeignKey("contributor.id"), primary_key=True),
    Column("opt_in_date", Date, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
