"""Tables of the refunds (migration 0009), on the shared metadata.

A refund itself is a case (`case`, type `refund`): its amount, account and decisions are in the
case's payload and history, its postings in the journal. What is new is the SEPA credit transfer
file the accounting officer issues: one file pays one or many approved refunds, and is kept as
issued, so the bank's return can be matched to it by its message identifier.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
)

from recouvrement.adapters.db.tables import Id, metadata

refund_file = Table(
    "refund_file",
    metadata,
    Column("id", Id, primary_key=True),
    Column("message_id", String(35), nullable=False, unique=True),
    Column("territory", String(3), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("execution_date", Date, nullable=False),
    Column("issued_by", String(64), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("payment_count", Integer, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("case_ids", JSON, nullable=False),
    Column("content", LargeBinary, nullable=False),
    CheckConstraint("total > 0", name="total"),
    CheckConstraint("payment_count > 0", name="payment_count"),
)
