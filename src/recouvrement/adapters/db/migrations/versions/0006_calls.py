"""calls of contributions, self-employed years called, exemptions

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

    op.create_table(
        "self_employed_year",
        sa.Column("id", Id, nullable=False),
        sa.Column("contributor_id", Id, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=False),
        sa.Column("due_day", sa.Integer(), nullable=True),
        sa.Column("income", sa.BigInteger(), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("declared_income", sa.BigInteger(), nullable=True),
        sa.Column("regularisation_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("regularisation_version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contributor_id"],
            ["contributor.id"],
            name=op.f("fk_self_employed_year_contributor_id_contributor"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_employed_year")),
        sa.UniqueConstraint(
            "contributor_id", "year", name=op.f("uq_self_employed_year_contributor_id_year")
        ),
    )
    op.create_table(
        "exemption",
        sa.Column("id", Id, nullable=False),
        sa.Column("contributor_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("entered_by", sa.String(length=64), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_by", sa.String(length=64), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status in ('entered', 'approved', 'refused')", name=op.f("ck_exemption_status")
        ),
        sa.ForeignKeyConstraint(
            ["contributor_id"],
            ["contributor.id"],
            name=op.f("fk_exemption_contributor_id_contributor"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exemption")),
        sa.UniqueConstraint(
            "contributor_id",
            "kind",
            "start_date",
            name=op.f("uq_exemption_contributor_id_kind_start_date"),
        ),
    )
    op.create_index(op.f("ix_exemption_contributor_id"), "exemption", ["contributor_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_exemption_contributor_id"), table_name="exemption")
    op.drop_table("exemption")
    op.drop_table("self_employed_year")
    op.drop_index(op.f("ix_call_status"), table_name="call")
    op.drop_index(op.f("ix_call_due_date"), table_name="call")
    op.drop_index(op.f("ix_call_contributor_id"), table_name="call")
    op.drop_table("call")
