"""Tables of the convergence action plan (migration 0011), on the shared metadata.

An action is never edited in place: its status is the last of its events on or before a day, so a
report on a past day shows what was known then.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from recouvrement.adapters.db.tables import Id, metadata

action_plan_item = Table(
    "action_plan_item",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agreement", String(32), nullable=False),
    Column("code", String(32), nullable=False),
    Column("topic", String(32), nullable=False),
    Column("title", String(255), nullable=False),
    Column("owner", String(32), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("agreement", "code"),
)

action_plan_event = Table(
    "action_plan_event",
    metadata,
    Column("id", Id, primary_key=True),
    Column("item_id", ForeignKey("action_plan_item.id"), nullable=False),
    Column("on", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_action_plan_event_item_on", "item_id", "on"),
)

# The day the plan was presented to the funds (art. 10: by the end of the first half of 2014).
action_plan_presentation = Table(
    "action_plan_presentation",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agreement", String(32), nullable=False, unique=True),
    Column("presented_on", Date, nullable=False),
    Column("presented_to", String(255), nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
