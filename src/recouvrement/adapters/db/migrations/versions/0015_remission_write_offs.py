"""remission and write-offs: remission requests and lines, automatic remissions, write-offs

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-02 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "write_off",
        sa.Column("id", Id, nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("grounds", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("proposed_on", sa.Date(), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("needed_roles", sa.JSON(), nullable=False),
        sa.Column("approvals", sa.JSON(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("written_off", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("total > 0", name=op.f("ck_write_off_total")),
        _fk("write_off", "contributor_id", "contributor"),
        _fk("write_off", "case_id", "case"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_off")),
        sa.UniqueConstraint("source", name=op.f("uq_write_off_source")),
    )
    op.create_index(op.f("ix_write_off_contributor_id"), "write_off", ["contributor_id"])
    op.create_table(
        "write_off_line",
        sa.Column("id", Id, nullable=False),
        sa.Column("write_off_id", sa.BigInteger(), nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("fund", sa.String(length=32), nullable=False),
        sa.Column("item", sa.String(length=48), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("proposed", sa.BigInteger(), nullable=False),
        sa.Column("written_off", sa.BigInteger(), nullable=False),
        sa.Column("recovered", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("recovered <= written_off", name=op.f("ck_write_off_line_recovered")),
        _fk("write_off_line", "write_off_id", "write_off"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_off_line")),
        sa.UniqueConstraint(
            "write_off_id",
            "fund",
            "item",
            "period",
            name=op.f("uq_write_off_line_write_off_id_fund_item_period"),
        ),
    )
    op.create_index(op.f("ix_write_off_line_contributor_id"), "write_off_line", ["contributor_id"])
    op.create_table(
        "remission_request",
        sa.Column("id", Id, nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("authority", sa.String(length=24), nullable=False),
        sa.Column("proposal", sa.JSON(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decision_text", sa.Text(), nullable=True),
        sa.Column("granted", sa.BigInteger(), nullable=False),
        sa.Column("letter_reference", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("total > 0", name=op.f("ck_remission_request_total")),
        _fk("remission_request", "contributor_id", "contributor"),
        _fk("remission_request", "case_id", "case"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remission_request")),
    )
    op.create_index(
        op.f("ix_remission_request_contributor_id"), "remission_request", ["contributor_id"]
    )
    op.create_table(
        "remission_line",
        sa.Column("id", Id, nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("fund", sa.String(length=32), nullable=False),
        sa.Column("item", sa.String(length=48), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("requested", sa.BigInteger(), nullable=False),
        sa.Column("granted", sa.BigInteger(), nullable=False),
        _fk("remission_line", "request_id", "remission_request"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remission_line")),
        sa.UniqueConstraint(
            "request_id",
            "fund",
            "item",
            "period",
            name=op.f("uq_remission_line_request_id_fund_item_period"),
        ),
    )
    op.create_index(op.f("ix_remission_line_request_id"), "remission_line", ["request_id"])
    op.create_table(
        "automatic_remission",
        sa.Column("id", Id, nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("fund", sa.String(length=32), nullable=False),
        sa.Column("item", sa.String(length=48), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("entry_key", sa.String(length=128), nullable=False),
        _fk("automatic_remission", "contributor_id", "contributor"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automatic_remission")),
        sa.UniqueConstraint("entry_key", name=op.f("uq_automatic_remission_entry_key")),
        sa.UniqueConstraint(
            "contributor_id",
            "fund",
            "item",
            "period",
            "rule",
            name=op.f("uq_automatic_remission_contributor_id_fund_item_period_rule"),
        ),
    )
    op.create_index(
        op.f("ix_automatic_remission_contributor_id"), "automatic_remission", ["contributor_id"]
    )


def downgrade() -> None:
    for table in (
        "automatic_remission",
        "remission_line",
        "remission_request",
        "write_off_line",
        "write_off",
    ):
        op.drop_table(table)
