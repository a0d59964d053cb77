"""bank receipts: receipt imports and one receipt per bank transaction

Revision ID: 0007
Revises: 0002
Create Date: 2026-12-02 16:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "receipt_import",
        sa.Column("id", Id, nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("imported_by", sa.String(length=255), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("suspense", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("already_imported", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status in ('recorded', 'posted')", name=op.f("ck_receipt_import_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_import")),
    )
    op.create_index(op.f("ix_receipt_import_file_sha256"), "receipt_import", ["file_sha256"])
    op.create_table(
        "receipt",
        sa.Column("id", Id, nullable=False),
        sa.Column("import_id", Id, nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("account_iban", sa.String(length=34), nullable=False),
        sa.Column("bank_reference", sa.String(length=80), nullable=False),
        sa.Column("statement_id", sa.String(length=35), nullable=False),
        sa.Column("direction", sa.String(length=6), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.Column("debtor_name", sa.String(length=140), nullable=False),
        sa.Column("debtor_iban", sa.String(length=34), nullable=False),
        sa.Column("remittance", sa.Text(), nullable=False),
        sa.Column("return_reason", sa.String(length=4), nullable=False),
        sa.Column("contributor_id", Id, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("entry_key", sa.String(length=200), nullable=True),
        sa.Column("returned_by_id", Id, nullable=True),
        sa.Column("match_entry_key", sa.String(length=200), nullable=True),
        sa.Column("matched_by", sa.String(length=255), nullable=True),
        sa.Column("case_id", Id, nullable=True),
        sa.CheckConstraint(
            "status in ('allocated', 'suspense', 'returned', 'rejected', 'reversal')",
            name=op.f("ck_receipt_status"),
        ),
        sa.CheckConstraint("amount is null or amount > 0", name=op.f("ck_receipt_amount")),
        sa.ForeignKeyConstraint(
            ["import_id"], ["receipt_import.id"], name=op.f("fk_receipt_import_id_receipt_import")
        ),
        sa.ForeignKeyConstraint(
            ["contributor_id"],
            ["contributor.id"],
            name=op.f("fk_receipt_contributor_id_contributor"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt")),
        sa.UniqueConstraint(
            "account_iban", "bank_reference", name=op.f("uq_receipt_account_iban_bank_reference")
        ),
    )
    op.create_index(op.f("ix_receipt_import_id"), "receipt", ["import_id"])
    op.create_index("ix_receipt_status", "receipt", ["status", "id"])
    op.create_index("ix_receipt_end_to_end", "receipt", ["account_iban", "end_to_end_id"])
    op.create_index("ix_receipt_contributor", "receipt", ["contributor_id"])


def downgrade() -> None:
    op.drop_index("ix_receipt_contributor", table_name="receipt")
    op.drop_index("ix_receipt_end_to_end", table_name="receipt")
    op.drop_index("ix_receipt_status", table_name="receipt")
    op.drop_index(op.f("ix_receipt_import_id"), table_name="receipt")
    op.drop_table("receipt")
    op.drop_index(op.f("ix_receipt_import_file_sha256"), table_name="receipt_import")
    op.drop_table("receipt_import")
