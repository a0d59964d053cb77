"""Tables of the CACM debt stock taken over by the CSSM (migration 0017), on the shared metadata.

Avenant du 18 décembre 2013, art. 3.2.1: the stock of debts at 31 December 2012 and its accounting
pieces. `legacy_import` records each file read (once per content: a replay changes nothing) with
its reconciliation against the control total; `legacy_reject` keeps every line refused, with its
line, field and reason; `legacy_debt` keeps every piece applied, once per piece reference, with the
state of its recovery at the stock date (amicable, enforced, payment incident), the call that now
carries it and the key of its opening entry.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)

from recouvrement.adapters.db.tables import Id, metadata

legacy_import = Table(
    "legacy_import",
    metadata,
    Column("id", Id, primary_key=True),
    Column("file_name", String(255), nullable=False),
    Column("file_sha256", String(64), nullable=False, unique=True),
    Column("format", String(8), nullable=False),
    Column("issuer", String(32), nullable=False),
    Column("stock_date", Date, nullable=False),
    Column("control_total", BigInteger),  # cents; null when neither the header nor the option
    Column("control_source", String(8)),  # header, option
    Column("lines", Integer, nullable=False),
    Column("applied", Integer, nullable=False),
    Column("already_applied", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("file_total", BigInteger, nullable=False),
    Column("applied_total", BigInteger, nullable=False),
    Column("rejected_total", BigInteger, nullable=False),
    Column("imported_by", String(64), nullable=False),
    Column("imported_on", Date, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)

legacy_reject = Table(
    "legacy_reject",
    metadata,
    Column("id", Id, primary_key=True),
    Column("import_id", ForeignKey("legacy_import.id"), nullable=False, index=True),
    Column("line", Integer, nullable=False),
    Column("field", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("code", String(32), nullable=False),
    Column("amount", BigInteger),
    Column("record", JSON, nullable=False),
)

legacy_debt = Table(
    "legacy_debt",
    metadata,
    Column("id", Id, primary_key=True),
    Column("import_id", ForeignKey("legacy_import.id"), nullable=False, index=True),
    Column("line", Integer, nullable=False),
    Column("piece_reference", String(64), nullable=False, unique=True),
    Column("piece_date", Date, nullable=False),
    Column("contributor_id", BigInteger, nullable=False, index=True),
    Column("siren", String(9), nullable=False),
    Column("siret", String(14)),
    Column("period", String(16), nullable=False),
    Column("fund", String(32), nullable=False),
    Column("item", String(48), nullable=False),
    Column("principal", BigInteger, nullable=False),
    Column("surcharges", BigInteger, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("status", String(16), nullable=False),  # amicable, enforced, payment_incident, overpaid
    Column("status_date", Date),
    Column("call_id", BigInteger),  # null for a credit (trop versé): no call carries it
    Column("entry_key", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
)
