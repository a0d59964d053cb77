"""refunds: the SEPA credit transfer files of the accounting officer

Revision ID: 0009
Revises: 0002
Create Date: 2026-12-02 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "refund_file",
        sa.Column("id", Id, nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("territory", sa.String(length=3), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("execution_date", sa.Date(), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payment_count", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("case_ids", sa.JSON(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("total > 0", name=op.f("ck_refund_file_total")),
        sa.CheckConstraint("payment_count > 0", name=op.f("ck_refund_file_payment_count")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refund_file")),
        sa.UniqueConstraint("message_id", name=op.f("uq_refund_file_message_id")),
    )


def downgrade() -> None:
    op.drop_table("refund_file")
