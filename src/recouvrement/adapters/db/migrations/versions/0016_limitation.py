"""limitation: acts that interrupt or suspend it, alerts, write-off proposals of prescribed debts

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-02 16:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0012"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "limitation_event",
        sa.Column("id", Id, nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_limitation_event")),
        sa.UniqueConstraint(
            "contributor_id",
            "period",
            "event",
            "on",
            "source",
            name=op.f("uq_limitation_event_contributor_id_period_event_on_source"),
        ),
    )
    op.create_index(
        "ix_limitation_event_contributor_period", "limitation_event", ["contributor_id", "period"]
    )
    op.create_table(
        "limitation_alert",
        sa.Column("id", Id, nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("fund", sa.String(length=32), nullable=False),
        sa.Column("item", sa.String(length=48), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("limitation_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("alerted_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_limitation_alert")),
        sa.UniqueConstraint(
            "contributor_id",
            "fund",
            "item",
            "period",
            "limitation_date",
            name=op.f("uq_limitation_alert_contributor_id_fund_item_period_limitation_date"),
        ),
    )
    op.create_index(
        op.f("ix_limitation_alert_contributor_id"), "limitation_alert", ["contributor_id"]
    )
    op.create_index(
        op.f("ix_limitation_alert_limitation_date"), "limitation_alert", ["limitation_date"]
    )
    op.create_table(
        "limitation_proposal",
        sa.Column("id", Id, nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("fund", sa.String(length=32), nullable=False),
        sa.Column("item", sa.String(length=48), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("limitation_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("proposal_id", sa.BigInteger(), nullable=True),
        sa.Column("proposed_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_limitation_proposal")),
        sa.UniqueConstraint(
            "contributor_id",
            "fund",
            "item",
            "period",
            name=op.f("uq_limitation_proposal_contributor_id_fund_item_period"),
        ),
    )


def downgrade() -> None:
    op.drop_table("limitation_proposal")
    op.drop_index(op.f("ix_limitation_alert_limitation_date"), table_name="limitation_alert")
    op.drop_index(op.f("ix_limitation_alert_contributor_id"), table_name="limitation_alert")
    op.drop_table("limitation_alert")
    op.drop_index("ix_limitation_event_contributor_period", table_name="limitation_event")
    op.drop_table("limitation_event")
