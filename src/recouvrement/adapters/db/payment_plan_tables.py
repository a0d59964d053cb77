"""Tables of payment plans (migration 0014), on the shared metadata.

`payment_plan` is one request for a delay and, once granted, the plan itself: the request is
worked as a case of type `payment_plan` (its examination has the service commitment of the
activity `payment_plan_requests`); the case closes with the decision, while the plan lives on
here until it is completed or lapses. `payment_plan_instalment` holds the schedule: amounts in
cents, the cumulative total due up to each instalment, and the day the payments covered it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from recouvrement.adapters.db.tables import Id, metadata

PLAN_STATUSES = ("requested", "eligible", "refused", "granted", "lapsed", "completed")

payment_plan = Table(
    "payment_plan",
    metadata,
    Column("id", Id, primary_key=True),
    Column("case_id", BigInteger, nullable=False, unique=True),
    Column("contributor_id", BigInteger, nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("months", Integer, nullable=False),  # the length asked for, then granted
    Column("requested_on", Date, nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("reason", String(500), nullable=False, default=""),
    Column("examined_on", Date),
    Column("problems", JSON),  # [{field, reason, code}]: the conditions failed
    Column("decided_on", Date),
    Column("decided_by", String(64)),
    Column("total", BigInteger),  # cents spread by the schedule
    Column("debts", JSON),  # [{fund, item, period, due_date, amount}] covered at the grant
    Column("grace_days", Integer),
    Column("hold_id", BigInteger),
    Column("document_reference", String(64)),
    Column("lapsed_on", Date),
    Column("completed_on", Date),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_payment_plan_status", payment_plan.c.status)

payment_plan_instalment = Table(
    "payment_plan_instalment",
    metadata,
    Column("id", Id, primary_key=True),
    Column("plan_id", BigInteger, nullable=False),
    Column("contributor_id", BigInteger, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("cumulative", BigInteger, nullable=False),
    Column("paid_on", Date),
    UniqueConstraint("plan_id", "rank"),
)
