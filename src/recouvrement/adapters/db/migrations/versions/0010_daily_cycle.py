"""daily cycle: days run, payment incidents, documents produced

Revision ID: 0010
Revises: 0002
Create Date: 2026-12-02 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cycle_day",
        sa.Column("id", Id, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_by", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle_day")),
        sa.UniqueConstraint("day", name=op.f("uq_cycle_day_day")),
    )
    op.create_table(
        "payment_incident",
        sa.Column("id", Id, nullable=False),
        sa.Column("call_id", sa.BigInteger(), nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detected_on", sa.Date(), nullable=False),
        sa.Column("unpaid_amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_incident")),
        sa.UniqueConstraint("call_id", "kind", name=op.f("uq_payment_incident_call_id_kind")),
    )
    op.create_index(
        op.f("ix_payment_incident_contributor_id"), "payment_incident", ["contributor_id"]
    )
    op.create_index(op.f("ix_payment_incident_detected_on"), "payment_incident", ["detected_on"])
    op.create_table(
        "document",
        sa.Column("id", Id, nullable=False),
        sa.Column("contributor_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document")),
        sa.UniqueConstraint("kind", "reference", name=op.f("uq_document_kind_reference")),
    )
    op.create_index(op.f("ix_document_contributor_id"), "document", ["contributor_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_document_contributor_id"), table_name="document")
    op.drop_table("document")
    op.drop_index(op.f("ix_payment_incident_detected_on"), table_name="payment_incident")
    op.drop_index(op.f("ix_payment_incident_contributor_id"), table_name="payment_incident")
    op.drop_table("payment_incident")
    op.drop_table("cycle_day")
