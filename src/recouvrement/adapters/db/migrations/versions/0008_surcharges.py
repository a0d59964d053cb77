"""late surcharges: the days handled by the surcharge step; a BRIN index on posting value dates

Revision ID: 0008
Revises: 0002
Create Date: 2026-12-02 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "surcharge_run",
        sa.Column("anniversary", sa.Date(), nullable=False),
        sa.Column("run_on", sa.Date(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("anniversary", name=op.f("pk_surcharge_run")),
    )
    # The surcharge step reads the receivable postings dated after an anniversary (the payments
    # since). Value dates grow with the journal, so a BRIN index finds them in the last pages for
    # a few kilobytes, at no measurable cost to the bulk path. SQLite needs none at its sizes.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_journal_posting_value_date_brin "
            "ON journal_posting USING brin (value_date)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_journal_posting_value_date_brin")
    op.drop_table("surcharge_run")
