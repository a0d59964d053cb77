"""The schema. Every contributor-scoped table carries contributor_id so it can be distributed by it.

Money columns are BIGINT cents. The journal tables (journal_entry, journal_posting) are append-only:
the migration installs triggers that refuse UPDATE and DELETE on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer(), "sqlite")

organisation = Table(
    "organisation",
    metadata,
    Column("id", Id, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("territory", String(3)),
)

contributor = Table(
    "contributor",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(255), nullable=False),
    Column("organisation_id", ForeignKey("organisation.id"), nullable=False),
    Column("territory", String(3), nullable=False),
    Column("nir", String(15), unique=True),
    Column("activity", String(8)),
    Column("activity_start", Date),
    Column("activity_end", Date),
    Column("address", Text, nullable=False, default=""),
    Column("siren", String(9), unique=True),
    Column("public_sector", Boolean, nullable=False, default=False),
    Column("status", String(16), nullable=False, default="active"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("kind in ('self_employed', 'employer')", name="kind"),
    CheckConstraint(
        "(kind = 'self_employed' and nir is not null and siren is null)"
        " or (kind = 'employer' and siren is not null and nir is null)",
        name="identifier",
    ),
)
Index("ix_contributor_org_kind", contributor.c.organisation_id, contributor.c.kind)

establishment = Table(
    "establishment",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", ForeignKey("contributor.id"), nullable=False, index=True),
    Column("siret", String(14), nullable=False, unique=True),
    Column("territory", String(3), nullable=False),
    Column("name", String(255), nullable=False, default=""),
    # activity code (NAF rév. 2, e.g. "4711D"): the employment statistics are by department × code
    Column("naf_code", String(6), nullable=True),
)

employee = Table(
    "employee",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", ForeignKey("contributor.id"), nullable=False),
    Column("nir", String(15), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("name", String(255), nullable=False, default=""),
    UniqueConstraint("contributor_id", "nir"),
)

account = Table(
    "account",
    metadata,
    Column("id", Id, primary_key=True),
    Column("contributor_id", ForeignKey("contributor.id"), nullable=False, unique=True),
    Column("opened_on", Date, nullable=False),
)

journal_entry = Table(
    "journal_entry",
    metadata,
    Column("id", Id, primary_key=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("fingerprint", String(64), nullable=False),
    Column("value_date", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("cause", String(32), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("reverses_id", ForeignKey("journal_entry.id")),
)
# An entry is reversed at most once. Partial, so that the many entries that reverse nothing cost no
# index entry (the bulk path inserts a million of them).
Index(
    "uq_journal_entry_reverses_id",
    journal_entry.c.reverses_id,
    unique=True,
    postgresql_where=journal_entry.c.reverses_id.isnot(None),
    sqlite_where=journal_entry.c.reverses_id.isnot(None),
)

# A posting is known by its entry and its line number: no surrogate id, so one index less to
# maintain per posting, and the primary key serves the lookups by entry. entry_id refers to
# journal_entry.id; the migration enforces it with a trigger (set-based on PostgreSQL), not a
# declared foreign key, which PostgreSQL checks row by row at a third of the bulk path's cost.
journal_posting = Table(
    "journal_posting",
    metadata,
    Column("entry_id", Id, primary_key=True, autoincrement=False),
    Column("line_no", SmallInteger, primary_key=True, autoincrement=False),
    Column("ledger_account", String(32), nullable=False),
    Column("contributor_id", BigInteger),
    Column("fund", String(32), nullable=False, default=""),
    Column("item", String(48), nullable=False, default=""),
    Column("period", String(7), nullable=False, default=""),
    Column("value_date", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),
    CheckConstraint("amount <> 0", name="nonzero"),
)
# Balances as of a date and account statements read a contributor's postings by value date; the
# collector's own postings (bank, fund revenue…) carry no contributor and stay out of the index.
# PostgreSQL only (migration 0008): value dates grow with the journal, so a BRIN index finds the
# recent ones in the last pages for almost nothing; SQLite has no such index type.
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_journal_posting_value_date_brin"})
Index(
    "ix_journal_posting_value_date_brin",
    journal_posting.c.value_date,
    postgresql_using="brin",
)
Index(
    "ix_journal_posting_contributor",
    journal_posting.c.contributor_id,
    journal_posting.c.value_date,
    postgresql_where=journal_posting.c.contributor_id.isnot(None),
    sqlite_where=journal_posting.c.contributor_id.isnot(None),
)

# A cache of the journal, per contributor and key; `ledger check` proves it equal to the journal.
# On PostgreSQL the migration leaves room in each page (fillfactor 70) so that adding to a balance
# is a HOT update that touches no index.
account_balance = Table(
    "account_balance",
    metadata,
    Column("contributor_id", BigInteger, primary_key=True),
    Column("ledger_account", String(32), primary_key=True),
    Column("fund", String(32), primary_key=True),
    Column("item", String(48), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("balance", BigInteger, nullable=False),
)
# contributors holding a credit: the daily cycle applies it, refunds and limitation read it
Index(
    "ix_account_balance_credit",
    account_balance.c.contributor_id,
    postgresql_where=account_balance.c.item == "credit",
    sqlite_where=account_balance.c.item == "credit",
)

registration_import = Table(
    "registration_import",
    metadata,
    Column("id", Id, primary_key=True),
    Column("file_name", String(255), nullable=False),
    Column("file_sha256", String(64), nullable=False, unique=True),
    Column("format", String(8), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("records", Integer, nullable=False),
    Column("applied", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
)

registration_reject = Table(
    "registration_reject",
    metadata,
    Column("id", Id, primary_key=True),
    Column("import_id", ForeignKey("registration_import.id"), nullable=False, index=True),
    Column("line", Integer, nullable=False),
    Column("field", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("code", String(32), nullable=False),
    Column("record", JSON, nullable=False),
    Column("status", String(16), nullable=False, default="open"),
)

# Every applied registration record, keyed by its record id, so a replay applies nothing twice.
registration_applied = Table(
    "registration_applied",
    metadata,
    Column("record_id", String(100), primary_key=True),
    Column("import_id", ForeignKey("registration_import.id"), nullable=False),
    Column("contributor_id", BigInteger),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

agent = Table(
    "agent",
    metadata,
    Column("id", Id, primary_key=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("organisation_id", ForeignKey("organisation.id"), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("contributor_id", BigInteger),  # set for a contributor's own portal login
    Column("active", Boolean, nullable=False, default=True),
    Column("password_hash", String(255)),  # argon2id; None: no web login, tokens only
)

api_token = Table(
    "api_token",
    metadata,
    Column("id", Id, primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("agent_id", ForeignKey("agent.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Organisations that share their contributors' files (a joint organisation, ISU agreement art. 3-6).
partnership = Table(
    "partnership",
    metadata,
    Column("organisation_id", ForeignKey("organisation.id"), primary_key=True),
    Column("partner_id", ForeignKey("organisation.id"), primary_key=True),
)

audit_event = Table(
    "audit_event",
    metadata,
    Column("id", Id, primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("organisation_code", String(64)),
    Column("action", String(64), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(100), nullable=False),
    Column("outcome", String(16), nullable=False, default="done"),
    Column("detail", JSON, nullable=False),
    Column("source", String(64), nullable=False, default=""),
    # Hash chain: each event's hash covers its content and the previous event's hash.
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

JOURNAL_TABLES = ("journal_entry", "journal_posting", "audit_event")


# People and rights (migration 0004). An authorization is a dated right of an agent on one
# activity, optionally conditioned on a training; revoking stamps it, never deletes it.
# (AUTHORIZATION is a reserved word in SQL, hence the table's name.)
authorization = Table(
    "agent_authorization",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agent_id", ForeignKey("agent.id"), nullable=False, index=True),
    Column("activity", String(64), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Column("training", String(64)),
    Column("granted_by", String(64), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("revoked_by", String(64)),
    Column("revoked_at", DateTime(timezone=True)),
    CheckConstraint("valid_to is null or valid_to >= valid_from", name="dates"),
)

training = Table(
    "training",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agent_id", ForeignKey("agent.id"), nullable=False, index=True),
    Column("training", String(64), nullable=False),
    Column("completed_on", Date, nullable=False),
    Column("expires_on", Date),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("agent_id", "training", "completed_on"),
    CheckConstraint("expires_on is null or expires_on >= completed_on", name="dates"),
)

# A web session is known by the SHA-256 of its cookie value only, like API tokens.
web_session = Table(
    "web_session",
    metadata,
    Column("id_sha256", String(64), primary_key=True),
    Column("agent_id", ForeignKey("agent.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("ip", String(64), nullable=False, default=""),
    Column("ended_at", DateTime(timezone=True)),
)

# Cases (dossiers) of the shared activities: one table for every case type, its history append-only.
case_table = Table(
    "case",
    metadata,
    Column("id", Id, primary_key=True),
    Column("case_type", String(32), nullable=False),
    Column("state", String(32), nullable=False),
    Column("activity", String(48), nullable=False),
    Column("agreement", String(32), nullable=False),
    Column("owner_organisation_id", ForeignKey("organisation.id"), nullable=False),
    Column("assignee_id", ForeignKey("agent.id")),
    Column("contributor_id", BigInteger),
    Column("priority", String(8), nullable=False, default="normal"),
    Column("calendar", String(16), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("opened_by", String(64), nullable=False),
    Column("due_on", Date),
    Column("paused_since", Date),
    Column("paused_business_days", Integer, nullable=False, default=0),
    Column("breached_on", Date),
    Column("last_event_on", Date, nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_on", Date),
    Column("payload", JSON, nullable=False),
)
Index("ix_case_queue", case_table.c.activity, case_table.c.closed_on, case_table.c.assignee_id)
Index(
    "ix_case_unbreached",
    case_table.c.due_on,
    postgresql_where=case_table.c.closed_on.is_(None) & case_table.c.breached_on.is_(None),
    sqlite_where=case_table.c.closed_on.is_(None) & case_table.c.breached_on.is_(None),
)
Index("ix_case_contributor", case_table.c.contributor_id)

case_event = Table(
    "case_event",
    metadata,
    Column("id", Id, primary_key=True),
    Column("case_id", ForeignKey("case.id"), nullable=False, index=True),
    Column("action", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("from_state", String(32)),
    Column("to_state", String(32), nullable=False),
    Column("on", Date, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("detail", JSON, nullable=False),
)

case_comment = Table(
    "case_comment",
    metadata,
    Column("id", Id, primary_key=True),
    Column("case_id", ForeignKey("case.id"), nullable=False, index=True),
    Column("author", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("text", Text, nullable=False),
)

case_attachment = Table(
    "case_attachment",
    metadata,
    Column("id", Id, primary_key=True),
    Column("case_id", ForeignKey("case.id"), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("media_type", String(127), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("added_by", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

agent_absence = Table(
    "agent_absence",
    metadata,
    Column("id", Id, primary_key=True),
    Column("agent_id", ForeignKey("agent.id"), nullable=False, index=True),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("reason", String(255), nullable=False, default=""),
    CheckConstraint("starts_on <= ends_on", name="period"),
)
