"""payment plans: requests, plans and their instalments

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02 16:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payment_plan",
        sa.Column("id", Id, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("examined_on", sa.Date(), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("debts", sa.JSON(), nullable=True),
        sa.Column("grace_days", sa.Integer(), nullable=True),
        sa.Column("hold_id", sa.BigInteger(), nullable=True),
        sa.Column("document_reference", sa.String(length=64), nullable=True),
        sa.Column("lapsed_on", sa.Date(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_plan")),
        sa.UniqueConstraint("case_id", name=op.f("uq_payment_plan_case_id")),
    )
    op.create_index(op.f("ix_payment_plan_contributor_id"), "payment_plan", ["contributor_id"])
    op.create_index("ix_payment_plan_status", "payment_plan", ["status"])
    op.create_table(
        "payment_plan_instalment",
        sa.Column("id", Id, nullable=False),
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("cumulative", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_plan_instalment")),
        sa.UniqueConstraint(
            "plan_id", "rank", name=op.f("uq_payment_plan_instalment_plan_id_rank")
        ),
    )


def downgrade() -> None:
    op.drop_table("payment_plan_instalment")
    op.drop_index("ix_payment_plan_status", table_name="payment_plan")
    op.drop_index(op.f("ix_payment_plan_contributor_id"), table_name="payment_plan")
    op.drop_table("payment_plan")
