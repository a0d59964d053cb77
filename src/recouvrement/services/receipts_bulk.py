"""The set-based import of a bank statement: record every transaction, then post them in bulk.

Three steps, so that a statement of a million transactions imports at tens of thousands a second
and a crash anywhere converges on a re-run:

1. **Record** (one transaction for the whole file): the statement is read as a stream, batch by
   batch; each batch is matched to accounts by reference (one query for the contributors it names)
   and inserted with ON CONFLICT (account, bank reference) DO NOTHING. A transaction already
   recorded by an earlier import is counted, not recorded again. A malformed file rolls everything
   back: nothing is recorded, nothing posted. The import is left "recorded".
2. **Post** (`post_entries_bulk`, one transaction): the receipts the import recorded, read back in
   order, become entries — `bank` against the receivables paid (the legal order of allocation,
   computed in memory from one balance query per batch) or against `suspense`; a direct-debit
   reject reverses the original receipt's entry. Keys already in the journal are skipped, so an
   import left "recorded" by a crash is finished by the next import.
3. **Finish**: the debts a reversed credit had paid reopen (`allocation.reallocate`), the import
   becomes "posted", and the receipts in suspense get their case in the suspense queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from itertools import islice

from sqlalchemy import Connection, Engine, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from recouvrement.adapters.db.receipt_tables import receipt, receipt_import
from recouvrement.adapters.db.tables import contributor, journal_entry
from recouvrement.adapters.files.bank_statements import BankTransaction, StatementReader
from recouvrement.domain.actors import Actor, system_actor
from recouvrement.domain.allocation import CREDIT_ITEM, Debt
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting, reversal_of
from recouvrement.domain.money import format_euros_fr
from recouvrement.domain.payment_reference import contributor_of_reference, designated_period
from recouvrement.rules.allocation import allocation_order
from recouvrement.services.allocation_batch import allocate_fast, open_debts_many, schemes_of
from recouvrement.services.ledger import load_entry
from recouvrement.services.ledger_bulk import post_entries_bulk

BATCH = 20_000
_CHUNK = 500  # ids per IN (...) lookup, under SQLite's bound-parameter limit
RECEIVABLE = LedgerAccount.RECEIVABLE.value
_BANK = Posting(LedgerAccount.BANK.value, None, "", "", "", 0)
_SUSPENSE = Posting(LedgerAccount.SUSPENSE.value, None, "", "", "", 0)
Progress = Callable[[str, int], None]


# A statement names each account several times (a payment a month, direct debits and their
# rejects): the reference is read once per distinct text.
_contributor_of = lru_cache(maxsize=1 << 16)(contributor_of_reference)
_designated = lru_cache(maxsize=1 << 16)(designated_period)


def receipt_key(account_iban: str, bank_reference: str) -> str:
    """The idempotency key of a receipt's entry: the bank's own reference on its account."""
    return f"receipt:{account_iban}:{bank_reference}"


@dataclass
class ImportCounts:
    """What an import found and did; amounts in cents."""

    transactions: int = 0
    allocated: int = 0
    suspense: int = 0
    returned: int = 0
    rejected: int = 0
    already_imported: int = 0
    amount: int = 0
    latest_booking: date | None = None
    timings: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # this process's CPU, all threads

    def time(self, phase: str, start: tuple[float, float]) -> None:
        """Add the wall-clock and CPU time since `start` (from `clock()`) to the phase."""
        wall, cpu = clock()
        self.timings[phase] = self.timings.get(phase, 0.0) + wall - start[0]
        self.cpu[phase] = self.cpu.get(phase, 0.0) + cpu - start[1]


def clock() -> tuple[float, float]:
    """Wall-clock and process CPU time: on a shared machine the first alone says little."""
    return time.perf_counter(), time.process_time()


def _insert(conn: Connection):
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(receipt)


def _chunks(values: Iterable, size: int = _CHUNK) -> Iterator[list]:
    it = iter(values)
    while chunk := list(islice(it, size)):
        yield chunk


def _timed_batches(
    reader: Iterable[BankTransaction], size: int, counts: ImportCounts
) -> Iterator[list[BankTransaction]]:
    """The statement's batches, read in the caller's thread. Reading one batch ahead in a thread
    was measured slower: parsing holds the interpreter lock, and every query of the writing
    thread then waits for it on its return (docs/benchmarks.md, Receipts)."""
    it = iter(reader)
    while True:
        start = clock()
        batch = list(islice(it, size))
        counts.time("parse", start)
        if not batch:
            return
        yield batch


# ---------------------------------------------------------------------------------------------
# 1. Record


def record_statement(
    conn: Connection,
    import_id: int,
    reader: StatementReader,
    batch_size: int = BATCH,
    progress: Progress | None = None,
) -> ImportCounts:
    """Record every transaction of the statement under the import, in the caller's transaction."""
    counts = ImportCounts()
    for batch in _timed_batches(reader, batch_size, counts):
        start = clock()
        counts.transactions += len(batch)
        for t in batch:
            if t.booking_date and (
                counts.latest_booking is None or t.booking_date > counts.latest_booking
            ):
                counts.latest_booking = t.booking_date
        rows, returns = _classify(conn, import_id, batch)
        counts.time("match", start)
        start = clock()
        inserted = _insert_rows(conn, rows)
        for row in rows:
            if (row["account_iban"], row["bank_reference"]) in inserted:
                _count(counts, row)
            else:
                counts.already_imported += 1
        counts.time("record", start)
        start = clock()
        return_rows = _resolve_returns(conn, import_id, returns)
        inserted = _insert_rows(conn, return_rows)
        originals = []
        for row in return_rows:
            key = (row["account_iban"], row["bank_reference"])
            if key not in inserted:
                counts.already_imported += 1
                continue
            _count(counts, row)
            if row["status"] == "reversal":
                originals.append({"oid": row.pop("_original"), "rid": inserted[key]})
        if originals:
            conn.execute(
                update(receipt)
                .where(receipt.c.id == bindparam("oid"))
                .values(status="returned", returned_by_id=bindparam("rid")),
                originals,
            )
        counts.time("match", start)
        if progress:
            progress("lecture", counts.transactions)
    return counts


def _count(counts: ImportCounts, row: dict) -> None:
    status = row["status"]
    if status == "reversal":
        counts.returned += 1
    else:
        setattr(counts, status, getattr(counts, status) + 1)
    if status in ("allocated", "suspense"):
        counts.amount += row["amount"]


def _base_row(import_id: int, t: BankTransaction) -> dict:
    remittance = " ".join(x for x in (t.reference, t.remittance) if x)
    return {
        "import_id": import_id,
        "line": t.index,
        "account_iban": t.account_iban,
        "bank_reference": t.bank_reference[:80],
        "statement_id": t.statement_id[:35],
        "direction": t.direction,
        "amount": t.amount,
        "currency": t.currency[:3],
        "booking_date": t.booking_date,
        "value_date": t.value_date,
        "end_to_end_id": t.end_to_end_id[:35],
        "debtor_name": t.debtor_name[:140],
        "debtor_iban": t.debtor_iban[:34],
        "remittance": remittance,
        "return_reason": t.return_reason[:4],
        "contributor_id": None,
        "status": "rejected",
        "reason": "",
        "entry_key": None,
    }


def _classify(
    conn: Connection, import_id: int, batch: list[BankTransaction]
) -> tuple[list[dict], list[tuple[dict, BankTransaction]]]:
    """Rows of the batch's credits and rejects; the returns are resolved once they are in."""
    rows: list[dict] = []
    returns: list[tuple[dict, BankTransaction]] = []
    wanted: dict[int, int] = {}  # row index → contributor named by the reference
    for t in batch:
        row = _base_row(import_id, t)
        if t.problems:
            row["reason"] = " ; ".join(p.reason for p in t.problems)
        elif t.direction == "debit":
            if t.return_reason or t.original_reference:
                returns.append((row, t))
                continue
            row["reason"] = (
                f"{t.where} : débit sans information de retour (RtrInf) : hors du périmètre "
                "des encaissements"
            )
        else:
            row["entry_key"] = receipt_key(t.account_iban, row["bank_reference"])
            cid = _contributor_of(t.reference) or _contributor_of(t.remittance)
            if cid is None:
                row["status"] = "suspense"
                row["reason"] = "aucune référence de paiement valide et non ambiguë"
            else:
                wanted[len(rows)] = cid
        rows.append(row)
    status_of: dict[int, str] = {}
    for chunk in _chunks(sorted(set(wanted.values()))):
        status_of.update(
            conn.execute(
                select(contributor.c.id, contributor.c.status).where(contributor.c.id.in_(chunk))
            ).all()
        )
    for i, cid in wanted.items():
        row = rows[i]
        status = status_of.get(cid)
        if status is None:
            row["status"] = "suspense"
            row["reason"] = f"référence de paiement d'un cotisant inconnu (n° {cid})"
        elif status != "active":
            row["status"] = "suspense"
            row["reason"] = f"référence de paiement d'un compte clos (cotisant n° {cid}, {status})"
        else:
            row["status"] = "allocated"
            row["contributor_id"] = cid
    return rows, returns


def _resolve_returns(
    conn: Connection, import_id: int, returns: list[tuple[dict, BankTransaction]]
) -> list[dict]:
    """A direct-debit reject names its original receipt by end-to-end id or bank reference."""
    if not returns:
        return []
    e2e = sorted({t.end_to_end_id for _, t in returns if t.end_to_end_id})
    refs = sorted({t.original_reference for _, t in returns if t.original_reference})
    cols = (
        receipt.c.id,
        receipt.c.account_iban,
        receipt.c.end_to_end_id,
        receipt.c.bank_reference,
        receipt.c.status,
        receipt.c.amount,
        receipt.c.contributor_id,
    )
    # The account leads both indexes (account, end-to-end id) and (account, bank reference):
    # without it each batch's lookup would scan every receipt ever recorded.
    accounts = sorted({t.account_iban for _, t in returns})
    found = []
    for chunk in _chunks(e2e):
        found += conn.execute(
            select(*cols).where(
                receipt.c.account_iban.in_(accounts),
                receipt.c.end_to_end_id.in_(chunk),
                receipt.c.direction == "credit",
            )
        ).all()
    for chunk in _chunks(refs):
        found += conn.execute(
            select(*cols).where(
                receipt.c.account_iban.in_(accounts),
                receipt.c.bank_reference.in_(chunk),
                receipt.c.direction == "credit",
            )
        ).all()
    by_e2e: dict[tuple[str, str], list] = {}
    by_ref: dict[tuple[str, str], list] = {}
    for r in sorted(set(found), key=lambda r: -r.id):  # the latest presentation first
        by_e2e.setdefault((r.account_iban, r.end_to_end_id), []).append(r)
        by_ref.setdefault((r.account_iban, r.bank_reference), []).append(r)
    claimed: set[int] = set()
    out = []
    for row, t in returns:
        candidates = by_ref.get((t.account_iban, t.original_reference), []) + by_e2e.get(
            (t.account_iban, t.end_to_end_id), []
        )
        named = t.end_to_end_id or t.original_reference
        original = next(
            (
                r
                for r in candidates
                if r.status in ("allocated", "suspense") and r.id not in claimed
            ),
            None,
        )
        if original is None:
            already = any(r.status == "returned" or r.id in claimed for r in candidates)
            row["reason"] = (
                f"{t.where} : rejet ({t.return_reason or 'sans motif'}) d'un paiement "
                + ("déjà rejeté" if already else "d'origine introuvable")
                + f" (référence {named or 'absente'})"
            )
        elif original.amount != t.amount:
            row["reason"] = (
                f"{t.where} : rejet de {format_euros_fr(t.amount or 0)} pour un paiement "
                f"d'origine de {format_euros_fr(original.amount)} : rejet partiel à traiter "
                "à part"
            )
        else:
            claimed.add(original.id)
            row.update(
                status="reversal",
                contributor_id=original.contributor_id,
                entry_key=receipt_key(t.account_iban, row["bank_reference"]),
                reason=f"rejet {t.return_reason or ''} du paiement n° {original.id}".replace(
                    "  ", " "
                ),
                _original=original.id,
            )
        out.append(row)
    return out


_COLUMNS = (
    "import_id",
    "line",
    "account_iban",
    "bank_reference",
    "statement_id",
    "direction",
    "amount",
    "currency",
    "booking_date",
    "value_date",
    "end_to_end_id",
    "debtor_name",
    "debtor_iban",
    "remittance",
    "return_reason",
    "contributor_id",
    "status",
    "reason",
    "entry_key",
)
_STAGE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS receipt_stage ON COMMIT DROP AS "
    f"SELECT {', '.join(_COLUMNS)} FROM receipt WITH NO DATA"
)
_FROM_STAGE = (
    f"INSERT INTO receipt ({', '.join(_COLUMNS)}) SELECT {', '.join(_COLUMNS)} "
    "FROM receipt_stage ORDER BY line "
    "ON CONFLICT (account_iban, bank_reference) DO NOTHING "
    "RETURNING id, account_iban, bank_reference"
)


def _insert_rows(conn: Connection, rows: list[dict]) -> dict[tuple[str, str], int]:
    """Insert what is new; the (account, bank reference) → id of the rows actually inserted.

    PostgreSQL: COPY into a staging table, then one INSERT … SELECT … ON CONFLICT DO NOTHING
    (a multi-row VALUES statement of 20,000 rows costs more to build than to run)."""
    if not rows:
        return {}
    if conn.dialect.name != "postgresql":
        clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
        stmt = (
            _insert(conn)
            .on_conflict_do_nothing(index_elements=["account_iban", "bank_reference"])
            .returning(receipt.c.id, receipt.c.account_iban, receipt.c.bank_reference)
        )
        return {(r.account_iban, r.bank_reference): r.id for r in conn.execute(stmt, clean)}
    conn.exec_driver_sql(_STAGE)
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur:
        cur.execute("TRUNCATE receipt_stage")
        with cur.copy(f"COPY receipt_stage ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([r[c] for c in _COLUMNS])
        cur.execute(_FROM_STAGE)
        return {(a, b): i for i, a, b in cur.fetchall()}


# ---------------------------------------------------------------------------------------------
# 2. Post


class _Balances:
    """The open debts of the contributors an import touches, kept up to date in memory as its
    entries are built: the database sees them only when the bulk transaction commits, and a
    contributor may pay twice in one statement. A debt reopened by a reversal within the same
    import is dated by the reversal (its call's due date is read again by the next import)."""

    def __init__(self) -> None:
        self.keys: dict[int, dict[tuple[str, str, str], list]] = {}  # key → [due date, balance]
        self.kind: dict[int, str] = {}

    def load(self, conn: Connection, ids: Iterable[int]) -> None:
        """Read the debts of the contributors not seen yet (services/allocation_batch.py)."""
        missing = set(ids) - self.keys.keys()
        if not missing:
            return
        self.kind.update(schemes_of(conn, missing))
        for cid, debts in open_debts_many(conn, missing).items():
            self.keys[cid] = {(d.fund, d.item, d.period): [d.due_date, d.amount] for d in debts}

    def debts(self, cid: int) -> list[Debt]:
        return [
            Debt(fund, item, period, due, balance)
            for (fund, item, period), (due, balance) in self.keys[cid].items()
            if balance > 0
        ]

    def apply(self, entry: Entry, on: date) -> None:
        for p in entry.postings:
            if p.ledger_account != RECEIVABLE or p.contributor_id not in self.keys:
                continue
            slot = self.keys[p.contributor_id].setdefault((p.fund, p.item, p.period), [on, 0])
            slot[1] += p.amount


def payment_entry(
    key: str,
    value_date: date,
    amount: int,
    contributor_id: int,
    debts: list[Debt],
    scheme: str,
    designation: str | None,
    description: str,
    debit: str = LedgerAccount.BANK.value,
) -> Entry:
    """`debit` (bank or suspense) against the receivables paid in the legal order, the rest to
    the account's credit (services/allocation.py does the same, one account at a time)."""
    order = allocation_order(scheme, value_date)
    allocation = allocate_fast(
        debts, amount, order, [designation] if designation else None, value_date
    )
    postings = [Posting(debit, None, "", "", "", amount)]
    postings += [
        Posting(RECEIVABLE, contributor_id, line.fund, line.item, line.period, -line.amount)
        for line in allocation.lines
    ]
    if allocation.remainder:
        postings.append(
            Posting(RECEIVABLE, contributor_id, "", CREDIT_ITEM, "", -allocation.remainder)
        )
    return Entry(key, value_date, Cause.PAYMENT.value, tuple(postings), description)


def _suspense_entry(row) -> Entry:
    return Entry(
        row.entry_key,
        row.value_date,
        Cause.PAYMENT.value,
        (_BANK._replace(amount=row.amount), _SUSPENSE._replace(amount=-row.amount)),
        f"Encaissement non affecté {row.bank_reference} : {format_euros_fr(row.amount)}",
    )


def _import_rows(read: Connection, import_id: int, first: int, last: int):
    """The import's receipts with an entry whose ids lie in [first, last], in order.

    Batches are ranges of ids, not LIMIT after a join: each query touches its own rows only, so
    reading a statement of a million receipts back stays linear."""
    return read.execute(
        select(
            receipt.c.id,
            receipt.c.status,
            receipt.c.entry_key,
            receipt.c.value_date,
            receipt.c.amount,
            receipt.c.contributor_id,
            receipt.c.remittance,
            receipt.c.bank_reference,
            receipt.c.return_reason,
            journal_entry.c.id.label("posted_id"),
        )
        .outerjoin(journal_entry, journal_entry.c.idempotency_key == receipt.c.entry_key)
        .where(
            receipt.c.import_id == import_id,
            receipt.c.id.between(first, last),
            receipt.c.entry_key.is_not(None),
        )
        .order_by(receipt.c.id)
    ).all()


def _originals(read: Connection, import_id: int) -> dict[int, tuple[str | None, str | None]]:
    """For each reversal of the import, the entry keys of the receipt it returns (its payment
    entry, and its matching entry when it had been matched from suspense): one query for the
    import rather than a join per batch."""
    return {
        r.returned_by_id: (r.entry_key, r.match_entry_key)
        for r in read.execute(
            select(receipt.c.returned_by_id, receipt.c.entry_key, receipt.c.match_entry_key).where(
                receipt.c.returned_by_id.in_(
                    select(receipt.c.id).where(
                        receipt.c.import_id == import_id, receipt.c.status == "reversal"
                    )
                )
            )
        )
    }


def import_entries(
    engine: Engine, import_id: int, batch_size: int, progress: Progress | None, seen: list
) -> Iterator[Entry]:
    """The entries of an import's receipts not yet in the journal, in the order of the file.

    Runs in the bulk path's producer thread, on a connection of its own."""
    balances = _Balances()
    built: dict[str, Entry] = {}
    with engine.connect() as read:
        originals = _originals(read, import_id)
        targets = {key for key, _ in originals.values() if key}
        ids = list(
            read.scalars(
                select(receipt.c.id)
                .where(receipt.c.import_id == import_id, receipt.c.entry_key.is_not(None))
                .order_by(receipt.c.id)
            )
        )
        done = 0
        for start in range(0, len(ids), batch_size):
            chunk = ids[start : start + batch_size]
            rows = _import_rows(read, import_id, chunk[0], chunk[-1])
            balances.load(read, {r.contributor_id for r in rows if r.contributor_id is not None})
            for r in rows:
                if r.posted_id is not None:  # posted by an earlier attempt (a crash after it)
                    continue
                for entry in _entries_of(read, r, balances, built, originals):
                    if entry.idempotency_key in targets:
                        built[entry.idempotency_key] = entry
                    balances.apply(entry, entry.value_date)
                    if entry.reverses is not None:
                        seen.append((r.contributor_id, r.value_date))
                    yield entry
            done += len(rows)
            if progress:
                progress("écritures", done)


def _entries_of(
    read: Connection,
    r,
    balances: _Balances,
    built: dict[str, Entry],
    originals: dict[int, tuple[str | None, str | None]],
) -> list[Entry]:
    if r.status == "reversal":
        out = []
        original_key, original_match_key = originals.get(r.id, (None, None))
        for key, suffix in ((original_key, ""), (original_match_key, ":match")):
            if not key:
                continue
            original = built.pop(key, None) or load_entry(read, key)
            out.append(
                reversal_of(
                    original,
                    r.entry_key + suffix,
                    r.value_date,
                    f"Rejet {r.return_reason} de {key}".replace("  ", " "),
                )
            )
        return out
    if r.contributor_id is None:
        return [_suspense_entry(r)]
    cid = r.contributor_id
    return [
        payment_entry(
            r.entry_key,
            r.value_date,
            r.amount,
            cid,
            balances.debts(cid),
            balances.kind[cid],
            _designated(r.remittance, cid),
            f"Encaissement {r.bank_reference} : {format_euros_fr(r.amount)}",
        )
    ]


def post_import(
    engine: Engine,
    actor: Actor,
    import_id: int,
    batch_size: int = BATCH,
    progress: Progress | None = None,
) -> tuple[int, int, list[tuple[int, date]]]:
    """Post an import's entries; (posted, already posted, the contributors whose receipt was
    reversed, each with the latest value date of its reversals)."""
    reversed_for: list[tuple[int, date]] = []
    result = post_entries_bulk(
        engine,
        system_actor(f"encaissements:{actor.login}"),
        import_entries(engine, import_id, batch_size, progress, reversed_for),
        batch_size=batch_size,
        source=f"receipt_import:{import_id}",
    )
    latest: dict[int, date] = {}
    for cid, day in reversed_for:
        if cid is not None:
            latest[cid] = max(day, latest.get(cid, day))
    return result.posted, result.already_posted, sorted(latest.items())


def unposted_imports(engine: Engine, but: int | None = None) -> list[int]:
    """Imports recorded whose posting did not complete (a crash): the next import finishes them."""
    with engine.connect() as conn:
        return list(
            conn.scalars(
                select(receipt_import.c.id)
                .where(receipt_import.c.status == "recorded", receipt_import.c.id != (but or 0))
                .order_by(receipt_import.c.id)
            )
        )


def mark_posted(conn: Connection, import_id: int) -> None:
    conn.execute(
        update(receipt_import).where(receipt_import.c.id == import_id).values(status="posted")
    )


def now() -> datetime:
    return datetime.now(UTC)
