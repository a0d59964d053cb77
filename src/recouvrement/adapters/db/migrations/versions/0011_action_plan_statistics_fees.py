"""convergence action plan; activity code (NAF) of establishments; management-fee invoices; portal exports; funds' yearly figures

Revision ID: 0011
Revises: 0002
Create Date: 2026-12-02 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("establishment") as batch:
        batch.add_column(sa.Column("naf_code", sa.String(length=6), nullable=True))
    op.create_table(
        "action_plan_item",
        sa.Column("id", Id, nullable=False),
        sa.Column("agreement", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_plan_item")),
        sa.UniqueConstraint("agreement", "code", name=op.f("uq_action_plan_item_agreement_code")),
    )
    op.create_table(
        "action_plan_event",
        sa.Column("id", Id, nullable=False),
        sa.Column("item_id", Id, nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["action_plan_item.id"],
            name=op.f("fk_action_plan_event_item_id_action_plan_item"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_plan_event")),
    )
    op.create_index("ix_action_plan_event_item_on", "action_plan_event", ["item_id", "on"])
    op.create_table(
        "action_plan_presentation",
        sa.Column("id", Id, nullable=False),
        sa.Column("agreement", sa.String(length=32), nullable=False),
        sa.Column("presented_on", sa.Date(), nullable=False),
        sa.Column("presented_to", sa.String(length=255), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_plan_presentation")),
        sa.UniqueConstraint("agreement", name=op.f("uq_action_plan_presentation_agreement")),
    )
    op.create_table(
        "fee_invoice",
        sa.Column("id", Id, nullable=False),
        sa.Column("agreement", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("billed_to", sa.String(length=32), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("base", sa.BigInteger(), nullable=False),
        sa.Column("formula", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("entry_key", sa.String(length=200), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_invoice")),
        sa.UniqueConstraint("number", name=op.f("uq_fee_invoice_number")),
        sa.UniqueConstraint(
            "agreement", "category", "year", name=op.f("uq_fee_invoice_agreement_category_year")
        ),
    )
    op.create_table(
        "portal_export",
        sa.Column("id", Id, nullable=False),
        sa.Column("agreement", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("entry_from", sa.BigInteger(), nullable=False),
        sa.Column("entry_to", sa.BigInteger(), nullable=False),
        sa.Column("declaration_from", sa.BigInteger(), nullable=False),
        sa.Column("declaration_to", sa.BigInteger(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_export")),
        sa.UniqueConstraint(
            "agreement", "sequence", name=op.f("uq_portal_export_agreement_sequence")
        ),
    )
    op.create_table(
        "fund_year_figure",
        sa.Column("fund", sa.String(length=32), nullable=False),
        sa.Column("territory", sa.String(length=3), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("watermark", sa.BigInteger(), nullable=False),
        sa.Column("cashed", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("written_off", sa.BigInteger(), nullable=False),
        sa.Column("transferred", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("fund", "territory", "year", name=op.f("pk_fund_year_figure")),
    )


def downgrade() -> None:
    op.drop_table("fund_year_figure")
    op.drop_table("portal_export")
    op.drop_table("fee_invoice")
    op.drop_table("action_plan_presentation")
    op.drop_index("ix_action_plan_event_item_on", table_name="action_plan_event")
    op.drop_table("action_plan_event")
    op.drop_table("action_plan_item")
    with op.batch_alter_table("establishment") as batch:
        batch.drop_column("naf_code")
