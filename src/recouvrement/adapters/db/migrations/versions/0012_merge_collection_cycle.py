"""merge: calls, receipts, surcharges, refunds, daily cycle, action plan and fees; credit-key index

The branches of the call-to-payment release meet here. The partial index serves the daily
cycle's search for contributors holding a credit (the credit key of the receivable account).

Revision ID: 0012
Revises: 0006, 0007, 0008, 0009, 0010, 0011
Create Date: 2026-12-02 16:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = ("0006", "0007", "0008", "0009", "0010", "0011")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_account_balance_credit",
        "account_balance",
        ["contributor_id"],
        postgresql_where=sa.text("item = 'credit'"),
        sqlite_where=sa.text("item = 'credit'"),
    )


def downgrade() -> None:
    op.drop_index("ix_account_balance_credit", table_name="account_balance")
