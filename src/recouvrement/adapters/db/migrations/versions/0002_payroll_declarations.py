"""payroll declarations per establishment and month, their lines, public-sector opt-in

Revision ID: 0002
Revises: 0005
Create Date: 2026-11-24 05:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payroll_declaration",
        sa.Column("id", Id, nullable=False),
        sa.Column("contributor_id", Id, nullable=False),
        sa.Column("establishment_id", Id, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("entry_key", sa.String(length=200), nullable=True),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["contributor_id"],
            ["contributor.id"],
            name=op.f("fk_payroll_declaration_contributor_id_contributor"),
        ),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishment.id"],
            name=op.f("fk_payroll_declaration_establishment_id_establishment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payroll_declaration")),
        sa.UniqueConstraint(
            "establishment_id",
            "period",
            "version",
            name=op.f("uq_payroll_declaration_establishment_id_period_version"),
        ),
    )
    op.create_index(
        op.f("ix_payroll_declaration_contributor_id"), "payroll_declaration", ["contributor_id"]
    )
    op.create_table(
        "payroll_declaration_line",
        sa.Column("id", Id, nullable=False),
        sa.Column("declaration_id", Id, nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("nir", sa.String(length=15), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("gross_pay", sa.BigInteger(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=True),
        sa.Column("base", sa.BigInteger(), nullable=False),
        sa.Column("unemployment_employer", sa.BigInteger(), nullable=False),
        sa.Column("unemployment_employee", sa.BigInteger(), nullable=False),
        sa.Column("ags", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["declaration_id"],
            ["payroll_declaration.id"],
            name=op.f("fk_payroll_declaration_line_declaration_id_payroll_declaration"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payroll_declaration_line")),
        sa.UniqueConstraint(
            "declaration_id",
            "line_no",
            name=op.f("uq_payroll_declaration_line_declaration_id_line_no"),
        ),
    )
    op.create_index(
        op.f("ix_payroll_declaration_line_declaration_id"),
        "payroll_declaration_line",
        ["declaration_id"],
    )
    op.create_table(
        "unemployment_opt_in",
        sa.Column("contributor_id", Id, nullable=False),
        sa.Column("opt_in_date", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contributor_id"],
            ["contributor.id"],
            name=op.f("fk_unemployment_opt_in_contributor_id_contributor"),
        ),
        sa.PrimaryKeyConstraint("contributor_id", name=op.f("pk_unemployment_opt_in")),
    )


def downgrade() -> None:
    op.drop_table("unemployment_opt_in")
    op.drop_index(
        op.f("ix_payroll_declaration_line_declaration_id"), table_name="payroll_declaration_line"
    )
    op.drop_table("payroll_declaration_line")
    op.drop_index(op.f("ix_payroll_declaration_contributor_id"), table_name="payroll_declaration")
    op.drop_table("payroll_declaration")
