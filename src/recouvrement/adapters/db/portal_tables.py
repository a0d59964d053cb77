"""The funds' portal exports (migration 0011): each export is the slice of the journal and of the
declarations between two watermarks, so it can be produced again, identical, at any time."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, String, Table, Text, UniqueConstraint

from recouvrement.adapters.db.tables import Id, metadata

portal_export = Table(
    "portal_export",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agreement", String(32), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("period", String(7), nullable=False),
    Column("entry_from", BigInteger, nullable=False),  # exclusive
    Column("entry_to", BigInteger, nullable=False),  # inclusive
    Column("declaration_from", BigInteger, nullable=False),
    Column("declaration_to", BigInteger, nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("summary", Text, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("agreement", "sequence"),
)
