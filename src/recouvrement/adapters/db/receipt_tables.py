"""Bank receipts (encaissements, migration 0007), on the shared metadata.

One row per bank transaction, unique on (account IBAN, bank reference): the bank's own entry
reference is the idempotency key of a receipt, so a statement imported twice, or two statements
that overlap, record and post each transaction once. Rejected transactions (another currency,
fractional cents, a missing reference…) are kept with their reason so that the bank statement can
still be reconciled line by line. Money is BIGINT cents.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from recouvrement.adapters.db.tables import Id, metadata

RECEIPT_STATUSES = ("allocated", "suspense", "returned", "rejected", "reversal")
IMPORT_STATUSES = ("recorded", "posted")

receipt_import = Table(
    "receipt_import",
    metadata,
    Column("id", Id, primary_key=True),
    Column("file_name", String(255), nullable=False),
    Column("file_sha256", String(64), nullable=False, index=True),
    Column("format", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("imported_by", String(255), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("transactions", Integer, nullable=False, default=0),
    Column("allocated", Integer, nullable=False, default=0),
    Column("suspense", Integer, nullable=False, default=0),
    Column("returned", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("already_imported", Integer, nullable=False, default=0),
    Column("amount", BigInteger, nullable=False, default=0),
    CheckConstraint("status in ('recorded', 'posted')", name="status"),
)

receipt = Table(
    "receipt",
    metadata,
    Column("id", Id, primary_key=True),
    Column("import_id", ForeignKey("receipt_import.id"), nullable=False, index=True),
    Column("line", Integer, nullable=False),
    Column("account_iban", String(34), nullable=False),
    Column("bank_reference", String(80), nullable=False),
    Column("statement_id", String(35), nullable=False, default=""),
    Column("direction", String(6), nullable=False),
    Column("amount", BigInteger),
    Column("currency", String(3), nullable=False, default=""),
    Column("booking_date", Date),
    Column("value_date", Date),
    Column("end_to_end_id", String(35), nullable=False, default=""),
    Column("debtor_name", String(140), nullable=False, default=""),
    Column("debtor_iban", String(34), nullable=False, default=""),
    Column("remittance", Text, nullable=False, default=""),
    Column("return_reason", String(4), nullable=False, default=""),
    Column("contributor_id", ForeignKey("contributor.id")),
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("entry_key", String(200)),
    Column("returned_by_id", Id),
    Column("match_entry_key", String(200)),
    Column("matched_by", String(255)),
    Column("case_id", Id),
    UniqueConstraint("account_iban", "bank_reference"),
    CheckConstraint(
        "status in ('allocated', 'suspense', 'returned', 'rejected', 'reversal')", name="status"
    ),
    CheckConstraint("amount is null or amount > 0", name="amount"),
)
Index("ix_receipt_status", receipt.c.status, receipt.c.id)
Index("ix_receipt_end_to_end", receipt.c.account_iban, receipt.c.end_to_end_id)
Index("ix_receipt_contributor", receipt.c.contributor_id)
