"""people and rights: authorizations, trainings, web sessions, agents' password hashes

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-24 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))

    op.create_table(
        "agent_authorization",
        sa.Column("id", Id, nullable=False),
        sa.Column("agent_id", Id, nullable=False),
        sa.Column("activity", sa.String(length=64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("training", sa.String(length=64), nullable=True),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "valid_to is null or valid_to >= valid_from", name=op.f("ck_agent_authorization_dates")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_agent_authorization_agent_id_agent")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_authorization")),
    )
    op.create_index(
        op.f("ix_agent_authorization_agent_id"), "agent_authorization", ["agent_id"], unique=False
    )

    op.create_table(
        "training",
        sa.Column("id", Id, nullable=False),
        sa.Column("agent_id", Id, nullable=False),
        sa.Column("training", sa.String(length=64), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "expires_on is null or expires_on >= completed_on", name=op.f("ck_training_dates")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_training_agent_id_agent")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training")),
        sa.UniqueConstraint(
            "agent_id",
            "training",
            "completed_on",
            name=op.f("uq_training_agent_id_training_completed_on"),
        ),
    )
    op.create_index(op.f("ix_training_agent_id"), "training", ["agent_id"], unique=False)

    op.create_table(
        "web_session",
        sa.Column("id_sha256", sa.String(length=64), nullable=False),
        sa.Column("agent_id", Id, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_web_session_agent_id_agent")
        ),
        sa.PrimaryKeyConstraint("id_sha256", name=op.f("pk_web_session")),
    )
    op.create_index(op.f("ix_web_session_agent_id"), "web_session", ["agent_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_web_session_agent_id"), table_name="web_session")
    op.drop_table("web_session")
    op.drop_index(op.f("ix_training_agent_id"), table_name="training")
    op.drop_table("training")
    op.drop_index(op.f("ix_agent_authorization_agent_id"), table_name="agent_authorization")
    op.drop_table("agent_authorization")
    with op.batch_alter_table("agent", schema=None) as batch_op:
        batch_op.drop_column("password_hash")
