"""Tables of the audit plan (plan de contrôle) and its audits (migration 0017).

`audit_plan`: one plan per agreement and year, built jointly (convention type ISU art. 4
« Contrôle des cotisants »): its approval is the sign-off of a director of each party on the case
`case_id` (case type `audit_plan`), so the plan's state is the case's. `audit`: one contributor of
the plan, selected with its risk score and the criteria that made it (`reasons`), carried out by
the collector (planned → in_progress → completed). `audit_adjustment`: each redressement line,
posted as a debt of its own period under `entry_key`, with the `audit_adjustment` call that
carries its due date and the reduced surcharge regime.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
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

audit_plan = Table(
    "audit_plan",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agreement", String(32), nullable=False),
    Column("year", Integer, nullable=False),
    Column("case_id", BigInteger, nullable=False),
    Column("criteria_from", Date, nullable=False),  # the version of rules/audit_risk.yaml used
    Column("created_by", String(64), nullable=False),
    Column("created_on", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("agreement", "year"),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Id, primary_key=True),
    Column("plan_id", ForeignKey("audit_plan.id"), nullable=False, index=True),
    Column("contributor_id", BigInteger, nullable=False, index=True),
    Column("score", Integer, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # planned, in_progress, completed
    Column("started_on", Date),
    Column("started_by", String(64)),
    Column("hold_id", BigInteger),
    Column("notice_date", Date),
    Column("completed_on", Date),
    Column("completed_by", String(64)),
    Column("adjusted", BigInteger, nullable=False, default=0),
    UniqueConstraint("plan_id", "contributor_id"),
)

audit_adjustment = Table(
    "audit_adjustment",
    metadata,
    Column("id", Id, primary_key=True),
    Column("audit_id", ForeignKey("audit.id"), nullable=False, index=True),
    Column("contributor_id", BigInteger, nullable=False),
    Column("period", String(16), nullable=False),
    Column("fund", String(32), nullable=False),
    Column("item", String(48), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("entry_key", String(200), nullable=False),
    Column("call_id", BigInteger, nullable=False),
    UniqueConstraint("audit_id", "period", "fund", "item"),
)
