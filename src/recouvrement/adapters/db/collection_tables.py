"""Tables of amicable and enforced collection (migration 0013), on the shared metadata.

`collection_hold` suspends escalation for a contributor, or one period of theirs, while a payment
plan is respected, a remission request or a dispute is pending, an audit is running or a promise
made on the phone has not fallen due (issue #6). A hold is never deleted: it is lifted on a date,
or it lapses by itself at `until`, so the history of suspensions stays readable.

`collection_step` records each step of the ladder a debt file reached — a debt file being the
unpaid debts of one contributor for one period, the unit a call, a formal notice (CSS art. R244-1)
and an enforcement order (art. R133-3) name. Unique per (contributor, period, step): the daily
step can be replayed without sending a letter twice.

`phone_reminder` logs the calls an agent makes to a debtor, with their outcome and any promise.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from recouvrement.adapters.db.tables import Id, metadata

collection_hold = Table(
    "collection_hold",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", BigInteger, nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("source", String(64), nullable=False, index=True),
    Column("period", String(16)),  # null: every period of the contributor
    Column("placed_on", Date, nullable=False),
    Column("until", Date),  # null: until lifted
    Column("lifted_on", Date),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

collection_step = Table(
    "collection_step",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", BigInteger, nullable=False),
    Column("period", String(16), nullable=False),
    Column("scheme", String(16), nullable=False),
    Column("step", String(32), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("reached_on", Date, nullable=False, index=True),
    Column("pay_by", Date),  # the deadline the letter gives, if any
    Column("amount", BigInteger, nullable=False),  # principal + surcharges pursued, cents
    Column("reference", String(64), nullable=False, unique=True),
    Column("document_id", BigInteger),
    UniqueConstraint("contributor_id", "period", "step"),
    Index("ix_collection_step_contributor_period_rank", "contributor_id", "period", "rank"),
)

phone_reminder = Table(
    "phone_reminder",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", BigInteger, nullable=False, index=True),
    Column("called_on", Date, nullable=False),
    Column("agent", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),  # reached, no_answer, wrong_number, promise
    Column("promised_on", Date),
    Column("promised_amount", BigInteger),
    Column("note", Text, nullable=False, default=""),
    Column("hold_id", BigInteger),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
