"""The bulk path: many entries posted set-based, in one transaction, all or nothing.

Entries are validated, fingerprinted and formatted in Python, batch by batch, in a producer thread
while the database writes the previous batch (the driver releases the GIL while PostgreSQL works,
so both cores are busy).

- PostgreSQL: each batch looks up which of its keys the journal already holds (one index probe per
  key): a key with the same fingerprint is a replay, counted as already posted; with another
  fingerprint it is a conflict naming the key, and the call is refused. The new entries get their
  ids from the sequence and are COPied straight into journal_entry, their postings into
  journal_posting (the unique index on the key still guards against a concurrent writer).
- SQLite: executemany in the same transaction, ids allocated under SQLite's single-writer lock.
- The account_balance cache: the deltas of the entries inserted are summed per key across the
  whole call and added once, keys sorted, just before the commit (a key hit by several entries
  costs one upsert, and two bulk calls adding to the same balances take their row locks in the
  same order). Past MAX_PENDING_KEYS keys they are added and started afresh, to bound memory.

Reversals are rare; they go through the per-entry path (services.ledger) once their batch is in.
One audit event per batch records the counts and the range of ids; the events are written at the
end of the transaction, which is when the audit chain's lock is taken.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from sqlalchemy import Connection, Engine, bindparam, select, text

from recouvrement.adapters.db.tables import journal_entry
from recouvrement.domain.actors import Actor, Permission, require
from recouvrement.domain.errors import Conflict, DomainError, Problem
from recouvrement.domain.ledger import Entry, entry_problems, fingerprint_of_lines, posting_line
from recouvrement.services import audit
from recouvrement.services.ledger import _post_one, check_contributors
from recouvrement.services.unit_of_work import UnitOfWork

DEFAULT_BATCH = 20_000
MAX_PROBLEMS = 100
# The cache deltas are summed across batches and added once at the end of the call (a key hit by
# several entries costs one upsert), unless they grow past this many keys (memory: about 200
# bytes a key), when they are added and started afresh.
MAX_PENDING_KEYS = 250_000
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass
class BulkResult:
    """What a bulk call did.

    Attributes:
        posted: entries inserted by this call.
        already_posted: entries whose key and content were already in the journal (replays),
            or that came twice in the call.
        first_id, last_id: the range of journal ids inserted (None when nothing was).
        batches: how many batches were written.
    """

    posted: int = 0
    already_posted: int = 0
    first_id: int | None = None
    last_id: int | None = None
    batches: int = 0

    def add(self, posted: int, already: int, lo: int | None, hi: int | None) -> None:
        self.posted += posted
        self.already_posted += already
        self.batches += 1
        if lo is not None:
            self.first_id = lo if self.first_id is None else min(self.first_id, lo)
        if hi is not None:
            self.last_id = hi if self.last_id is None else max(self.last_id, hi)


@dataclass
class _Batch:
    """One batch, checked and formatted for the database.

    `entries` are the plain entries to insert set-based, in order; entry i has key keys[i],
    fingerprint fingerprints[i] and the postings lines posting_tails[i], each ending a COPY line
    of journal_posting after the entry id.
    """

    start: int  # index of its first entry in the whole call
    size: int = 0
    entries: list[Entry] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    fingerprints: list[str] = field(default_factory=list)
    entry_tails: list[str] = field(default_factory=list)  # COPY line of the entry after its id
    posting_tails: list[list[str]] = field(default_factory=list)
    duplicates: int = 0  # same key and content twice in the batch: counted as already posted
    contributors: set[int] = field(default_factory=set)
    reversals: list[tuple[Entry, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    deltas: dict[tuple, int] = field(default_factory=dict)  # cache deltas of `entries`


def post_entries_bulk(
    engine: Engine,
    actor: Actor,
    entries: Iterable[Entry],
    batch_size: int = DEFAULT_BATCH,
    source: str = "",
) -> BulkResult:
    """Post many entries in one transaction: every one, or none if any is refused.

    A replay of entries already posted posts nothing more and counts them as already posted.
    """
    require(actor, Permission.LEDGER_POST)
    if batch_size < 1:
        raise DomainError.single("batch_size", "taille de lot invalide", "bad_batch_size")
    postgres = engine.dialect.name == "postgresql"
    result = BulkResult()
    with UnitOfWork(engine) as uow:
        conn = uow.conn
        writer = _PostgresWriter(conn) if postgres else _SqliteWriter(conn)
        checked: set[int] = set()
        events: list[tuple[str, str, str, dict]] = []
        pending: dict[tuple, int] = {}  # cache deltas of the entries inserted, by key
        for batch in _prepared(entries, batch_size, postgres):
            if batch.problems:
                raise DomainError(*batch.problems[:MAX_PROBLEMS])
            new = batch.contributors - checked
            check_contributors(conn, actor, new)
            checked |= new
            posted, lo, hi, deltas = writer.write(batch)
            for k, v in deltas.items():
                pending[k] = pending.get(k, 0) + v
            if len(pending) > MAX_PENDING_KEYS:
                writer.add_to_cache(pending)
                pending = {}
            already = len(batch.keys) - posted + batch.duplicates
            now = datetime.now(UTC)
            for entry, fp in batch.reversals:
                r = _post_one(conn, actor, entry, fp, now, deferred_audit=events)
                if r.posted:
                    posted += 1
                    lo = r.entry_id if lo is None else min(lo, r.entry_id)
                    hi = r.entry_id if hi is None else max(hi, r.entry_id)
                else:
                    already += 1
            result.add(posted, already, lo, hi)
            events.append(
                (
                    "ledger.post_bulk",
                    "journal_batch",
                    f"{lo}-{hi}" if lo is not None else "-",
                    {
                        "entries": batch.size,
                        "posted": posted,
                        "already_posted": already,
                        "first_id": lo,
                        "last_id": hi,
                    },
                )
            )
        writer.add_to_cache(pending)
        # Recorded last: appending to the audit chain locks it until commit (on PostgreSQL), and
        # other transactions must not wait for the whole bulk call.
        for action, object_type, object_id, detail in events:
            audit.record(conn, actor, action, object_type, object_id, detail, source=source)
        uow.commit()
    return result


# ---------------------------------------------------------------------------------------------
# Preparing batches (pure Python, in a producer thread)


def _prepared(entries: Iterable[Entry], batch_size: int, postgres: bool) -> Iterator[_Batch]:
    """Batches prepared one ahead in a thread, so Python and the database work at once."""
    out: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            it = iter(entries)
            start = 0
            while not stop.is_set():
                chunk = list(islice(it, batch_size))
                if not chunk:
                    break
                batch = _prepare(chunk, start, postgres)
                start += len(chunk)
                out.put(batch)
                if batch.problems:
                    break
            out.put(done)
        except BaseException as err:  # handed to the consumer, which raises it
            out.put(err)

    worker = threading.Thread(target=produce, name="ledger-bulk-prepare", daemon=True)
    worker.start()
    try:
        while True:
            item = out.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                out.get_nowait()
            except queue.Empty:
                worker.join(0.05)


def _prepare(chunk: list[Entry], start: int, postgres: bool) -> _Batch:
    batch = _Batch(start=start, size=len(chunk))
    date_text: dict = {}
    problems = batch.problems
    contributors = batch.contributors
    deltas = batch.deltas
    in_batch: dict[str, str] = {}
    for offset, entry in enumerate(chunk):
        found = entry_problems(entry)
        if found:
            prefix = f"entries[{start + offset}]."
            problems.extend(Problem(prefix + p.field, p.reason, p.code) for p in found)
            if len(problems) >= MAX_PROBLEMS:
                break
            continue
        vd = entry.value_date
        vd_text = date_text.get(vd)
        if vd_text is None:
            vd_text = date_text[vd] = vd.isoformat()
        postings = entry.postings
        lines = [posting_line(p) for p in postings]
        fp = fingerprint_of_lines(vd_text, entry.cause, entry.reverses, lines)
        key = entry.idempotency_key
        # Within a batch a key is posted once; a later copy is a replay or a conflict. Across
        # batches the database tells (ON CONFLICT, then the fingerprints are compared).
        earlier = in_batch.get(key)
        if earlier is not None:
            if earlier != fp:
                problems.append(
                    Problem(
                        f"entries[{start + offset}].idempotency_key",
                        f"clé d'idempotence {key} donnée deux fois pour des écritures différentes",
                        "duplicate_key",
                    )
                )
            else:
                batch.duplicates += 1
            continue
        in_batch[key] = fp
        if entry.reverses is not None:
            contributors.update(p.contributor_id for p in postings if p.contributor_id is not None)
            batch.reversals.append((entry, fp))
            continue
        for p in postings:
            cid = p.contributor_id
            if cid is not None:
                contributors.add(cid)
                k = (cid, p.ledger_account, p.fund, p.item, p.period)
                deltas[k] = deltas.get(k, 0) + p.amount
        batch.entries.append(entry)
        batch.keys.append(key)
        batch.fingerprints.append(fp)
        if postgres:
            batch.entry_tails.append(
                f"\t{_copy_text(key)}\t{fp}\t{vd_text}\t{entry.cause}\t"
                f"{_copy_text(entry.description)}\n"
            )
            batch.posting_tails.append(
                [f"\t{n}\t{vd_text}\t{line}\n" for n, line in enumerate(lines, start=1)]
            )
    return batch


def _copy_text(value: str) -> str:
    """A text field for COPY's text format."""
    return value.translate(_COPY_ESCAPES) if value else value


def _cache_deltas(entries: Iterable[Entry]) -> dict[tuple, int]:
    sums: dict[tuple, int] = {}
    for e in entries:
        for p in e.postings:
            if p.contributor_id is not None:
                k = (p.contributor_id, p.ledger_account, p.fund, p.item, p.period)
                sums[k] = sums.get(k, 0) + p.amount
    return sums


def _raise_conflicts(keys: list[str]) -> None:
    if keys:
        raise Conflict(
            *(
                Problem(
                    "idempotency_key",
                    f"clé d'idempotence {k} déjà utilisée pour une autre écriture",
                    "idempotency_conflict",
                )
                for k in keys[:20]
            )
        )


# ---------------------------------------------------------------------------------------------
# PostgreSQL


_STAGING = """
CREATE TEMPORARY TABLE IF NOT EXISTS ledger_stage_cache (
    contributor_id bigint, ledger_account text, fund text, item text, period text,
    delta bigint) ON COMMIT DROP;
"""

# Keys of the batch already in the journal, with what they say: a replay when the fingerprints
# agree, a conflict otherwise. One index probe per key, instead of a speculative insertion per row.
_EXISTING = """
SELECT idempotency_key, fingerprint FROM journal_entry WHERE idempotency_key = ANY(%s)
"""

_COPY_ENTRIES = (
    "COPY journal_entry (id, idempotency_key, fingerprint, value_date, cause, description, "
    "recorded_at) FROM STDIN"
)

# Keys in a fixed order, so that two bulk calls adding to the same balances cannot deadlock.
_ADD_TO_CACHE = """
INSERT INTO account_balance (contributor_id, ledger_account, fund, item, period, balance)
SELECT contributor_id, ledger_account, fund, item, period, delta FROM ledger_stage_cache
ORDER BY contributor_id, ledger_account, fund, item, period
ON CONFLICT (contributor_id, ledger_account, fund, item, period)
DO UPDATE SET balance = account_balance.balance + excluded.balance
"""

_COPY_POSTINGS = (
    "COPY journal_posting (entry_id, line_no, value_date, ledger_account, contributor_id, fund, "
    "item, period, amount) FROM STDIN"
)


class _PostgresWriter:
    def __init__(self, conn: Connection):
        # The staging tables have no statistics: the planner would overestimate the statements
        # a thousandfold and JIT-compile each batch's, seconds lost for nothing.
        conn.exec_driver_sql("SET LOCAL jit = off")
        conn.exec_driver_sql(_STAGING)
        self.raw = conn.connection.dbapi_connection
        self.sequence = conn.scalar(text("SELECT pg_get_serial_sequence('journal_entry', 'id')"))

    def write(self, batch: _Batch) -> tuple[int, int | None, int | None, dict[tuple, int]]:
        """Entries whose key is new are COPied straight into the journal; the unique index on
        the key still guards against a concurrent writer (its COPY would fail, nothing half
        done: the whole call is one transaction and may be replayed)."""
        n = len(batch.keys)
        if not n:
            return 0, None, None, {}
        with self.raw.cursor() as cur:
            cur.execute(_EXISTING, (batch.keys,))
            existing = dict(cur.fetchall())
            keep: list[int] | range = range(n)
            if existing:
                _raise_conflicts(
                    [
                        k
                        for k, fp in zip(batch.keys, batch.fingerprints, strict=True)
                        if k in existing and existing[k] != fp
                    ]
                )
                keep = [i for i, k in enumerate(batch.keys) if k not in existing]
                if not keep:
                    return 0, None, None, {}
            cur.execute(
                "SELECT nextval(%s) FROM generate_series(1, %s)",
                (self.sequence, len(keep)),
                prepare=False,
            )
            ids = [r[0] for r in cur.fetchall()]
            stamp = "\t" + datetime.now(UTC).isoformat() + "\n"
            tails = batch.entry_tails
            with cur.copy(_COPY_ENTRIES) as copy:
                copy.write(
                    "".join([f"{i}{tails[k][:-1]}{stamp}" for i, k in zip(ids, keep, strict=True)])
                )
            with cur.copy(_COPY_POSTINGS) as copy:
                ptails = batch.posting_tails
                copy.write(
                    "".join([f"{i}{t}" for i, k in zip(ids, keep, strict=True) for t in ptails[k]])
                )
            deltas = (
                batch.deltas if len(keep) == n else _cache_deltas(batch.entries[k] for k in keep)
            )
        return len(keep), ids[0], ids[-1], deltas

    def add_to_cache(self, deltas: dict[tuple, int]) -> None:
        """Adds the deltas to account_balance in one statement, keys sorted."""
        rows = [(k, d) for k, d in deltas.items() if d]
        if not rows:
            return
        with self.raw.cursor() as cur:
            cur.execute("TRUNCATE ledger_stage_cache")
            with cur.copy("COPY ledger_stage_cache FROM STDIN") as copy:
                copy.write(
                    "".join([f"{c}\t{a}\t{f}\t{i}\t{p}\t{d}\n" for (c, a, f, i, p), d in rows])
                )
            cur.execute(_ADD_TO_CACHE)


# ---------------------------------------------------------------------------------------------
# SQLite


class _SqliteWriter:
    def __init__(self, conn: Connection):
        # Take SQLite's write lock first (as BEGIN IMMEDIATE would): ids are allocated above
        # max(id), which holds only while no other connection writes.
        conn.exec_driver_sql("UPDATE account_balance SET balance = balance WHERE 0")
        self.conn = conn

    def write(self, batch: _Batch) -> tuple[int, int | None, int | None, dict[tuple, int]]:
        conn = self.conn
        if not batch.keys:
            return 0, None, None, {}
        existing: dict[str, str] = {}
        q = select(journal_entry.c.idempotency_key, journal_entry.c.fingerprint).where(
            journal_entry.c.idempotency_key.in_(bindparam("keys", expanding=True))
        )
        for i in range(0, len(batch.keys), 500):
            existing.update(conn.execute(q, {"keys": batch.keys[i : i + 500]}).all())
        if existing:
            _raise_conflicts(
                [
                    k
                    for k, fp in zip(batch.keys, batch.fingerprints, strict=True)
                    if k in existing and existing[k] != fp
                ]
            )
        top = conn.scalar(text("SELECT coalesce(max(id), 0) FROM journal_entry"))
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")  # as SQLAlchemy writes it
        entry_rows, posting_rows, fresh = [], [], []
        next_id = top
        for key, fp, e in zip(batch.keys, batch.fingerprints, batch.entries, strict=True):
            if key in existing:
                continue
            next_id += 1
            fresh.append(e)
            vd = e.value_date.isoformat()
            entry_rows.append((next_id, key, fp, vd, now, e.cause, e.description))
            posting_rows.extend(
                (
                    next_id,
                    n,
                    p.ledger_account,
                    p.contributor_id,
                    p.fund,
                    p.item,
                    p.period,
                    vd,
                    p.amount,
                )
                for n, p in enumerate(e.postings, start=1)
            )
        if not entry_rows:
            return 0, None, None, {}
        conn.exec_driver_sql(
            "INSERT INTO journal_entry (id, idempotency_key, fingerprint, value_date, recorded_at, "
            "cause, description) VALUES (?, ?, ?, ?, ?, ?, ?)",
            entry_rows,
        )
        conn.exec_driver_sql(
            "INSERT INTO journal_posting (entry_id, line_no, ledger_account, contributor_id, fund, "
            "item, period, value_date, amount) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            posting_rows,
        )
        deltas = batch.deltas if len(fresh) == len(batch.entries) else _cache_deltas(fresh)
        return len(entry_rows), top + 1, next_id, deltas

    def add_to_cache(self, deltas: dict[tuple, int]) -> None:
        rows = [(*k, d) for k, d in deltas.items() if d]
        if rows:
            self.conn.exec_driver_sql(
                "INSERT INTO account_balance (contributor_id, ledger_account, fund, item, period, "
                "balance) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (contributor_id, ledger_account, fund, item, period) "
                "DO UPDATE SET balance = balance + excluded.balance",
                sorted(rows),
            )


__all__ = ["BulkResult", "post_entries_bulk"]
