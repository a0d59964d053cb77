"""collection: holds on escalation, steps of the ladder reached, phone reminders

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 16:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "collection_hold",
        sa.Column("id", Id, nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=True),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("lifted_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_hold")),
    )
    op.create_index(
        op.f("ix_collection_hold_contributor_id"), "collection_hold", ["contributor_id"]
    )
    op.create_index(op.f("ix_collection_hold_source"), "collection_hold", ["source"])
    op.create_table(
        "collection_step",
        sa.Column("id", Id, nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("reached_on", sa.Date(), nullable=False),
        sa.Column("pay_by", sa.Date(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_step")),
        sa.UniqueConstraint(
            "contributor_id",
            "period",
            "step",
            name=op.f("uq_collection_step_contributor_id_period_step"),
        ),
        sa.UniqueConstraint("reference", name=op.f("uq_collection_step_reference")),
    )
    op.create_index(op.f("ix_collection_step_reached_on"), "collection_step", ["reached_on"])
    op.create_index(
        "ix_collection_step_contributor_period_rank",
        "collection_step",
        ["contributor_id", "period", "rank"],
    )
    op.create_table(
        "phone_reminder",
        sa.Column("id", Id, nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("called_on", sa.Date(), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("promised_on", sa.Date(), nullable=True),
        sa.Column("promised_amount", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("hold_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_reminder")),
    )
    op.create_index(op.f("ix_phone_reminder_contributor_id"), "phone_reminder", ["contributor_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_phone_reminder_contributor_id"), table_name="phone_reminder")
    op.drop_table("phone_reminder")
    op.drop_index("ix_collection_step_contributor_period_rank", table_name="collection_step")
    op.drop_index(op.f("ix_collection_step_reached_on"), table_name="collection_step")
    op.drop_table("collection_step")
    op.drop_index(op.f("ix_collection_hold_source"), table_name="collection_hold")
    op.drop_index(op.f("ix_collection_hold_contributor_id"), table_name="collection_hold")
    op.drop_table("collection_hold")
