"""transfers to the beneficiary funds: fund notification, accounts closing, transfer

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-24 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fund_notification",
        sa.Column("id", Id, nullable=False),
        sa.Column("agreement", sa.String(length=32), nullable=False),
        sa.Column("notified_year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("notified_by", sa.String(length=255), nullable=False),
        sa.Column("notified_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_fund_notification_amount")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_notification")),
        sa.UniqueConstraint(
            "agreement", "notified_year", name=op.f("uq_fund_notification_agreement_notified_year")
        ),
    )
    op.create_table(
        "accounts_closing",
        sa.Column("id", Id, nullable=False),
        sa.Column("agreement", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts_closing")),
        sa.UniqueConstraint("agreement", "year", name=op.f("uq_accounts_closing_agreement_year")),
    )
    op.create_table(
        "transfer",
        sa.Column("id", Id, nullable=False),
        sa.Column("agreement", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("announce_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=35), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_transfer_amount")),
        sa.CheckConstraint("kind in ('advance', 'regularisation')", name=op.f("ck_transfer_kind")),
        sa.CheckConstraint(
            "direction in ('payment', 'owed', 'overpaid', 'settled')",
            name=op.f("ck_transfer_direction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer")),
        sa.UniqueConstraint(
            "agreement", "year", "kind", name=op.f("uq_transfer_agreement_year_kind")
        ),
        sa.UniqueConstraint("message_id", name=op.f("uq_transfer_message_id")),
    )


def downgrade() -> None:
    op.drop_table("transfer")
    op.drop_table("accounts_closing")
    op.drop_table("fund_notification")
