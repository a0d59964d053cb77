"""The call of contributions (appel de cotisations, migration 0006), on the shared metadata.

One call per contributor and ledger period: the document that tells the contributor what is owed,
under which payment reference and by which due date (exigibilité). The amount is the total called and
is updated when a correction changes it: the call is a document, the ledger keeps the money. The due
date of a debt (contributor, fund, item, period) is the due date of the call of (contributor, period).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    String,
    Table,
    UniqueConstraint,
)

from recouvrement.adapters.db.tables import Id, metadata

CALL_KINDS = (
    "employer_monthly",
    "employer_quarterly",
    "self_employed_monthly",
    "self_employed_quarterly",
    "self_employed_regularisation",
    "audit_adjustment",
)
CALL_STATUSES = ("scheduled", "issued", "overdue", "paid")

call = Table(
    "call",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", ForeignKey("contributor.id"), nullable=False, index=True),
    Column("period", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("reference", String(35), nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("due_date", Date, nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(16), nullable=False, default="scheduled", index=True),
    Column("issued_on", Date),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("contributor_id", "period"),
    UniqueConstraint("reference"),
    CheckConstraint("status in ('scheduled', 'issued', 'overdue', 'paid')", name="status"),
)
