"""Tables of surcharge remissions and write-offs (migration 0015), on the shared metadata.

A remission request and a write-off proposal are each worked as a case (`case`, types
`surcharge_remission` and `write_off`); what the case's payload cannot hold well is here: the keys
and amounts asked, granted and posted, so that a decision posts each key once and the yearly
reports sum columns rather than read JSON. The ledger keeps the money; these rows say why.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from recouvrement.adapters.db.tables import Id, metadata

# Admission en non-valeur (CSS L243-3, D243-2): proposed, then approved by the roles the amount
# needs (then posted) or rejected. `source` names the cause of the proposal (an agent's request,
# `limitation:…`): one proposal per source, so a caller that proposes again gets the same one.
write_off = Table(
    "write_off",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", ForeignKey("contributor.id"), nullable=False, index=True),
    Column("case_id", ForeignKey("case.id"), nullable=True),
    Column("grounds", String(24), nullable=False),
    Column("source", String(128), nullable=False, unique=True),
    Column("state", String(24), nullable=False),
    Column("proposed_on", Date, nullable=False),
    Column("proposed_by", String(64), nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("needed_roles", JSON, nullable=False),
    Column("approvals", JSON, nullable=False),
    Column("decided_on", Date, nullable=True),
    Column("written_off", BigInteger, nullable=False, default=0),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("total > 0", name="total"),
)

write_off_line = Table(
    "write_off_line",
    metadata,
    Column("id", Id, primary_key=True),
    Column("write_off_id", ForeignKey("write_off.id"), nullable=False),
    Column("contributor_id", BigInteger, nullable=False, index=True),
    Column("fund", String(32), nullable=False),
    Column("item", String(48), nullable=False),
    Column("period", String(7), nullable=False),
    Column("proposed", BigInteger, nullable=False),
    Column("written_off", BigInteger, nullable=False, default=0),
    # Paid after the write-off: reinstated into the receivable and allocated.
    Column("recovered", BigInteger, nullable=False, default=0),
    UniqueConstraint("write_off_id", "fund", "item", "period"),
    CheckConstraint("recovered <= written_off", name="recovered"),
)

# Remise des majorations (CSS R243-20): asked on surcharge keys once the principal is paid, decided
# by the director up to a threshold, above it by the appeals board on the director's proposal.
remission_request = Table(
    "remission_request",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", ForeignKey("contributor.id"), nullable=False, index=True),
    Column("case_id", ForeignKey("case.id"), nullable=True),
    Column("state", String(24), nullable=False),
    Column("requested_on", Date, nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("total", BigInteger, nullable=False),
    Column("authority", String(24), nullable=False),  # director | appeals_board
    Column("proposal", JSON, nullable=True),  # the director's proposal to the board
    Column("decided_on", Date, nullable=True),
    Column("decided_by", String(64), nullable=True),
    Column("decision_text", Text, nullable=True),
    Column("granted", BigInteger, nullable=False, default=0),
    Column("letter_reference", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("total > 0", name="total"),
)

remission_line = Table(
    "remission_line",
    metadata,
    Column("id", Id, primary_key=True),
    Column("request_id", ForeignKey("remission_request.id"), nullable=False, index=True),
    Column("fund", String(32), nullable=False),
    Column("item", String(48), nullable=False),
    Column("period", String(7), nullable=False),
    Column("requested", BigInteger, nullable=False),
    Column("granted", BigInteger, nullable=False, default=0),
    UniqueConstraint("request_id", "fund", "item", "period"),
)

# Remissions the law grants without a request (R243-20 / R243-19-1 cases applied by the daily
# cycle): one row per surcharge key, with the entry that posted it.
automatic_remission = Table(
    "automatic_remission",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", ForeignKey("contributor.id"), nullable=False, index=True),
    Column("fund", String(32), nullable=False),
    Column("item", String(48), nullable=False),
    Column("period", String(7), nullable=False),
    Column("rule", String(32), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("applied_on", Date, nullable=False),
    Column("entry_key", String(128), nullable=False, unique=True),
    UniqueConstraint("contributor_id", "fund", "item", "period", "rule"),
)
