"""legacy debt stock of the CACM and the audit plan

Revision ID: 0017
Revises: 0012
Create Date: 2026-12-02 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0012"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "legacy_import",
        sa.Column("id", Id, nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("issuer", sa.String(32), nullable=False),
        sa.Column("stock_date", sa.Date(), nullable=False),
        sa.Column("control_total", sa.BigInteger(), nullable=True),
        sa.Column("control_source", sa.String(8), nullable=True),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("already_applied", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("file_total", sa.BigInteger(), nullable=False),
        sa.Column("applied_total", sa.BigInteger(), nullable=False),
        sa.Column("rejected_total", sa.BigInteger(), nullable=False),
        sa.Column("imported_by", sa.String(64), nullable=False),
        sa.Column("imported_on", sa.Date(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legacy_import")),
        sa.UniqueConstraint("file_sha256", name=op.f("uq_legacy_import_file_sha256")),
    )
    op.create_table(
        "legacy_reject",
        sa.Column("id", Id, nullable=False),
        sa.Column("import_id", Id, nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["legacy_import.id"],
            name=op.f("fk_legacy_reject_import_id_legacy_import"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legacy_reject")),
    )
    op.create_index(op.f("ix_legacy_reject_import_id"), "legacy_reject", ["import_id"])
    op.create_table(
        "legacy_debt",
        sa.Column("id", Id, nullable=False),
        sa.Column("import_id", Id, nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("piece_reference", sa.String(64), nullable=False),
        sa.Column("piece_date", sa.Date(), nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("siren", sa.String(9), nullable=False),
        sa.Column("siret", sa.String(14), nullable=True),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("fund", sa.String(32), nullable=False),
        sa.Column("item", sa.String(48), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("surcharges", sa.BigInteger(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_date", sa.Date(), nullable=True),
        sa.Column("call_id", sa.BigInteger(), nullable=True),
        sa.Column("entry_key", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["legacy_import.id"], name=op.f("fk_legacy_debt_import_id_legacy_import")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legacy_debt")),
        sa.UniqueConstraint("piece_reference", name=op.f("uq_legacy_debt_piece_reference")),
    )
    op.create_index(op.f("ix_legacy_debt_import_id"), "legacy_debt", ["import_id"])
    op.create_index(op.f("ix_legacy_debt_contributor_id"), "legacy_debt", ["contributor_id"])
    op.create_table(
        "audit_plan",
        sa.Column("id", Id, nullable=False),
        sa.Column("agreement", sa.String(32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("criteria_from", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_plan")),
        sa.UniqueConstraint("agreement", "year", name=op.f("uq_audit_plan_agreement_year")),
    )
    op.create_table(
        "audit",
        sa.Column("id", Id, nullable=False),
        sa.Column("plan_id", Id, nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("started_by", sa.String(64), nullable=True),
        sa.Column("hold_id", sa.BigInteger(), nullable=True),
        sa.Column("notice_date", sa.Date(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("completed_by", sa.String(64), nullable=True),
        sa.Column("adjusted", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["audit_plan.id"], name=op.f("fk_audit_plan_id_audit_plan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
        sa.UniqueConstraint(
            "plan_id", "contributor_id", name=op.f("uq_audit_plan_id_contributor_id")
        ),
    )
    op.create_index(op.f("ix_audit_plan_id"), "audit", ["plan_id"])
    op.create_index(op.f("ix_audit_contributor_id"), "audit", ["contributor_id"])
    op.create_table(
        "audit_adjustment",
        sa.Column("id", Id, nullable=False),
        sa.Column("audit_id", Id, nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("fund", sa.String(32), nullable=False),
        sa.Column("item", sa.String(48), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("entry_key", sa.String(200), nullable=False),
        sa.Column("call_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["audit.id"], name=op.f("fk_audit_adjustment_audit_id_audit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_adjustment")),
        sa.UniqueConstraint(
            "audit_id",
            "period",
            "fund",
            "item",
            name=op.f("uq_audit_adjustment_audit_id_period_fund_item"),
        ),
    )
    op.create_index(op.f("ix_audit_adjustment_audit_id"), "audit_adjustment", ["audit_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_adjustment_audit_id"), table_name="audit_adjustment")
    op.drop_table("audit_adjustment")
    op.drop_index(op.f("ix_audit_contributor_id"), table_name="audit")
    op.drop_index(op.f("ix_audit_plan_id"), table_name="audit")
    op.drop_table("audit")
    op.drop_table("audit_plan")
    op.drop_index(op.f("ix_legacy_debt_contributor_id"), table_name="legacy_debt")
    op.drop_index(op.f("ix_legacy_debt_import_id"), table_name="legacy_debt")
    op.drop_table("legacy_debt")
    op.drop_index(op.f("ix_legacy_reject_import_id"), table_name="legacy_reject")
    op.drop_table("legacy_reject")
