"""cases: one case table for every type, its append-only history, comments, attachments, absences

Revision ID: 0003
Revises: 0004
Create Date: 2026-11-24 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "case",
        sa.Column("id", Id, nullable=False),
        sa.Column("case_type", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("activity", sa.String(length=48), nullable=False),
        sa.Column("agreement", sa.String(length=32), nullable=False),
        sa.Column("owner_organisation_id", Id, nullable=False),
        sa.Column("assignee_id", Id, nullable=True),
        sa.Column("contributor_id", sa.BigInteger(), nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("calendar", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("paused_since", sa.Date(), nullable=True),
        sa.Column("paused_business_days", sa.Integer(), nullable=False),
        sa.Column("breached_on", sa.Date(), nullable=True),
        sa.Column("last_event_on", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_case_owner_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["agent.id"], name=op.f("fk_case_assignee_id_agent")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case")),
    )
    op.create_index("ix_case_queue", "case", ["activity", "closed_on", "assignee_id"])
    # The daily check reads only the open cases not yet found in breach: a partial index keeps it
    # small however many cases are closed or already breached.
    op.create_index(
        "ix_case_unbreached",
        "case",
        ["due_on"],
        postgresql_where=sa.text("closed_on IS NULL AND breached_on IS NULL"),
        sqlite_where=sa.text("closed_on IS NULL AND breached_on IS NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Room in each page, so that moving a case along (state, payload) is a HOT update.
        op.execute('ALTER TABLE "case" SET (fillfactor = 85)')
    op.create_index("ix_case_contributor", "case", ["contributor_id"])

    op.create_table(
        "case_event",
        sa.Column("id", Id, nullable=False),
        sa.Column("case_id", Id, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_case_event_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
    )
    op.create_index(op.f("ix_case_event_case_id"), "case_event", ["case_id"])

    op.create_table(
        "case_comment",
        sa.Column("id", Id, nullable=False),
        sa.Column("case_id", Id, nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_case_comment_case_id_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_comment")),
    )
    op.create_index(op.f("ix_case_comment_case_id"), "case_comment", ["case_id"])

    op.create_table(
        "case_attachment",
        sa.Column("id", Id, nullable=False),
        sa.Column("case_id", Id, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=127), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_case_attachment_case_id_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachment")),
    )
    op.create_index(op.f("ix_case_attachment_case_id"), "case_attachment", ["case_id"])

    op.create_table(
        "agent_absence",
        sa.Column("id", Id, nullable=False),
        sa.Column("agent_id", Id, nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.CheckConstraint("starts_on <= ends_on", name=op.f("ck_agent_absence_period")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_agent_absence_agent_id_agent")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_absence")),
    )
    op.create_index(op.f("ix_agent_absence_agent_id"), "agent_absence", ["agent_id"])
    _history_is_append_only()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_event_append_only ON case_event")
        op.execute("DROP TRIGGER IF EXISTS case_event_no_truncate ON case_event")
    else:
        op.execute("DROP TRIGGER IF EXISTS case_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS case_event_no_delete")
    for table in ("agent_absence", "case_attachment", "case_comment", "case_event"):
        op.drop_table(table)
    op.drop_index("ix_case_contributor", table_name="case")
    op.drop_index("ix_case_unbreached", table_name="case")
    op.drop_index("ix_case_queue", table_name="case")
    op.drop_table("case")


def _history_is_append_only() -> None:
    """A case's history is evidence, like the journal: the database refuses to rewrite it.
    Reuses the function recouvrement_append_only() of migration 0001 on PostgreSQL."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER case_event_append_only BEFORE UPDATE OR DELETE ON case_event "
            "FOR EACH ROW EXECUTE FUNCTION recouvrement_append_only()"
        )
        op.execute(
            "CREATE TRIGGER case_event_no_truncate BEFORE TRUNCATE ON case_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION recouvrement_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER case_event_no_{action.lower()} BEFORE {action} ON case_event "
                f"BEGIN SELECT RAISE(ABORT, 'table case_event is append-only: {action} refused'); "
                f"END"
            )
