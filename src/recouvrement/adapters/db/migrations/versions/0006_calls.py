"""calls of contributions: one call per contributor and period, with its due date

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-02 15:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "call",
        sa.Column("id", Id, nullable=False),
        sa.Column("contributor_id", Id, nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=35), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status in ('scheduled', 'issued', 'overdue', 'paid')", name=op.f("ck_call_status")
        ),
        sa.ForeignKeyConstraint(
            ["contributor_id"], ["contributor.id"], name=op.f("fk_call_contributor_id_contributor")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call")),
        sa.UniqueConstraint("contributor_id", "period", name=op.f("uq_call_contributor_id_period")),
        sa.UniqueConstraint("reference", name=op.f("uq_call_reference")),
    )
    op.create_index(op.f("ix_call_contributor_id"), "call", ["contributor_id"])
    op.create_index(op.f("ix_call_due_date"), "call", ["due_date"])
    op.create_index(op.f("ix_call_status"), "call", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_call_status"), table_name="call")
    op.drop_index(op.f("ix_call_due_date"), table_name="call")
    op.drop_index(op.f("ix_call_contributor_id"), table_name="call")
    op.drop_table("call")
