"""Calls of contributions, self-employed years and exemptions (migration 0006), on the shared metadata.

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
    Integer,
    String,
    Table,
    Text,
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

# The self-employed year as last called: what the provisional instalments and the regularisation
# were computed on. A new call of the year with the same inputs is a replay; different inputs post
# only the difference, under the next version's key.
self_employed_year = Table(
    "self_employed_year",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", ForeignKey("contributor.id"), nullable=False),
    Column("year", Integer, nullable=False),
    Column("frequency", String(16), nullable=False),
    Column("due_day", Integer),
    Column("income", BigInteger, nullable=False),
    Column("basis", String(16), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("declared_income", BigInteger),
    Column("regularisation_fingerprint", String(64)),
    Column("regularisation_version", Integer, nullable=False, default=0),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("contributor_id", "year"),
)

EXEMPTION_STATUSES = ("entered", "approved", "refused")

# An exemption request (e.g. the business creator's, ACCRE/ACRE): entered by one agent, checked by
# another (four-eyes), applied by re-assessing the years it touches.
exemption = Table(
    "exemption",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", ForeignKey("contributor.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("entered_by", String(64), nullable=False),
    Column("entered_at", DateTime(timezone=True), nullable=False),
    Column("checked_by", String(64)),
    Column("checked_at", DateTime(timezone=True)),
    Column("decision_note", Text),
    UniqueConstraint("contributor_id", "kind", "start_date"),
    CheckConstraint("status in ('entered', 'approved', 'refused')", name="status"),
)
