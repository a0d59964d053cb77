"""Posting to the journal and reading balances.

The journal is append-only: this module offers no way to change or remove an entry; a correction is
a reversing entry (`reverse_entry`). Every entry is posted once: its idempotency key is unique, and a
replay with the same content is a no-op that returns the entry already posted, while a reused key
with other content is a conflict. The account_balance cache is updated in the same transaction as
the postings it sums, and `check_ledger` (services.ledger_check) proves it equal to the journal.

Other services post inside their own transaction with `post_entries(conn, actor, entries)`; a batch
of many entries goes through `post_entries_bulk` (services.ledger_bulk), which is set-based.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, and_, func, insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from recouvrement.adapters.db.tables import account_balance, contributor, journal_entry
from recouvrement.adapters.db.tables import journal_posting as posting_t
from recouvrement.domain.actors import Actor, Permission, require, require_contributor
from recouvrement.domain.errors import Conflict, DomainError, NotFound, Problem
from recouvrement.domain.ledger import (
    Cause,
    Entry,
    LedgerAccount,
    Posting,
    entry_problems,
    fingerprint,
    reversal_of,
    reversal_problems,
)
from recouvrement.services import audit
from recouvrement.services.unit_of_work import UnitOfWork

MAX_PAGE = 500
_POSTING_COLS = (
    posting_t.c.ledger_account,
    posting_t.c.contributor_id,
    posting_t.c.fund,
    posting_t.c.item,
    posting_t.c.period,
    posting_t.c.amount,
)


@dataclass(frozen=True)
class PostResult:
    """What became of one entry.

    Attributes:
        entry_id: the journal id of the entry (the one already there for a replay).
        idempotency_key: the entry's key.
        posted: True when this call posted it, False when it was already posted (a replay).
    """

    entry_id: int
    idempotency_key: str
    posted: bool

    @property
    def status(self) -> str:
        return "posted" if self.posted else "already_posted"


# ---------------------------------------------------------------------------------------------
# Posting


def post_entry(target: Engine | Connection, actor: Actor, entry: Entry) -> PostResult:
    """Post one entry; on an Engine in its own transaction, on a Connection in the caller's."""
    return post_entries(target, actor, [entry])[0]


def post_entries(
    target: Engine | Connection, actor: Actor, entries: Sequence[Entry]
) -> list[PostResult]:
    """Post entries in order, all or nothing.

    Each bad entry is reported with the rule it breaks and nothing is posted. With a Connection the
    caller's transaction is used and the caller commits (an error leaves it to the caller to roll
    back); with an Engine the entries are committed together.
    """
    require(actor, Permission.LEDGER_POST)
    entries = list(entries)
    _raise_problems(entries)
    if isinstance(target, Engine):
        with UnitOfWork(target) as uow:
            results = _post_validated(uow.conn, actor, entries)
            uow.commit()
        return results
    return _post_validated(target, actor, entries)


def reverse_entry(
    target: Engine | Connection,
    actor: Actor,
    reversed_key: str,
    idempotency_key: str,
    value_date: date,
    description: str = "",
) -> PostResult:
    """Cancel a posted entry with a reversing entry built from the journal's own lines."""
    require(actor, Permission.LEDGER_POST)
    if isinstance(target, Engine):
        with target.connect() as conn:
            original = load_entry(conn, reversed_key)
    else:
        original = load_entry(target, reversed_key)
    return post_entry(
        target, actor, reversal_of(original, idempotency_key, value_date, description)
    )


def _raise_problems(entries: Sequence[Entry]) -> None:
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    many = len(entries) > 1
    for i, entry in enumerate(entries):
        prefix = f"entries[{i}]." if many else ""
        found = entry_problems(entry)
        problems.extend(Problem(prefix + p.field, p.reason, p.code) for p in found)
        if found:
            continue
        fp = fingerprint(entry)
        if seen.get(entry.idempotency_key, fp) != fp:
            problems.append(
                Problem(
                    f"{prefix}idempotency_key",
                    f"clé d'idempotence {entry.idempotency_key} donnée deux fois "
                    "pour des écritures différentes",
                    "duplicate_key",
                )
            )
        seen[entry.idempotency_key] = fp
    if problems:
        raise DomainError(*problems)


def check_contributors(conn: Connection, actor: Actor, contributor_ids: Iterable[int]) -> None:
    """Every contributor named on a posting exists and is within the actor's reach."""
    wanted = sorted(set(contributor_ids))
    if not wanted:
        return
    found: dict[int, int] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        found.update(
            conn.execute(
                select(contributor.c.id, contributor.c.organisation_id).where(
                    contributor.c.id.in_(chunk)
                )
            ).all()
        )
    missing = [c for c in wanted if c not in found]
    if missing:
        shown = ", ".join(str(c) for c in missing[:20])
        more = f" (et {len(missing) - 20} autres)" if len(missing) > 20 else ""
        raise NotFound.single(
            "contributor_id", f"cotisant inconnu sur une ligne : {shown}{more}", "not_found"
        )
    if not actor.is_system:
        for cid, org in found.items():
            require_contributor(actor, cid, org)


def _post_validated(conn: Connection, actor: Actor, entries: list[Entry]) -> list[PostResult]:
    check_contributors(
        conn, actor, (p.contributor_id for e in entries for p in e.postings if p.contributor_id)
    )
    now = datetime.now(UTC)
    results: list[PostResult] = []
    for entry in entries:
        results.append(_post_one(conn, actor, entry, fingerprint(entry), now))
    return results


def _dialect_insert(conn: Connection, table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _post_one(
    conn: Connection,
    actor: Actor,
    entry: Entry,
    fp: str,
    now: datetime,
    deferred_audit: list | None = None,
) -> PostResult:
    """Post one validated entry; its audit event is recorded now, or appended to deferred_audit
    as (action, object_type, object_id, detail) for the caller to record before it commits."""
    key = entry.idempotency_key
    existing = conn.execute(
        select(journal_entry.c.id, journal_entry.c.fingerprint).where(
            journal_entry.c.idempotency_key == key
        )
    ).first()
    if existing is not None:
        return _replay(key, fp, existing)
    reverses_id = None
    if entry.reverses is not None:
        reverses_id = _check_reversal(conn, entry)
    stmt = (
        _dialect_insert(conn, journal_entry)
        .values(
            idempotency_key=key,
            fingerprint=fp,
            value_date=entry.value_date,
            recorded_at=now,
            cause=entry.cause,
            description=entry.description,
            reverses_id=reverses_id,
        )
        .on_conflict_do_nothing()
        .returning(journal_entry.c.id)
    )
    entry_id = conn.scalar(stmt)
    if entry_id is None:  # another transaction got there first
        existing = conn.execute(
            select(journal_entry.c.id, journal_entry.c.fingerprint).where(
                journal_entry.c.idempotency_key == key
            )
        ).first()
        if existing is not None:
            return _replay(key, fp, existing)
        raise Conflict.single(
            "reverses", f"l'écriture {entry.reverses} est déjà annulée", "already_reversed"
        )
    conn.execute(
        insert(posting_t),
        [
            {
                "entry_id": entry_id,
                "line_no": line_no,
                "ledger_account": p.ledger_account,
                "contributor_id": p.contributor_id,
                "fund": p.fund,
                "item": p.item,
                "period": p.period,
                "value_date": entry.value_date,
                "amount": p.amount,
            }
            for line_no, p in enumerate(entry.postings, start=1)
        ],
    )
    add_to_cache(conn, entry.postings)
    detail = {
        "entry_id": entry_id,
        "cause": entry.cause,
        "postings": len(entry.postings),
        "reverses": entry.reverses,
    }
    if deferred_audit is None:
        audit.record(conn, actor, "ledger.post", "journal_entry", key, detail)
    else:
        deferred_audit.append(("ledger.post", "journal_entry", key, detail))
    return PostResult(entry_id, key, True)


def _replay(key: str, fp: str, existing) -> PostResult:
    if existing.fingerprint != fp:
        raise Conflict.single(
            "idempotency_key",
            f"clé d'idempotence {key} déjà utilisée pour une autre écriture",
            "idempotency_conflict",
        )
    return PostResult(existing.id, key, False)


def _check_reversal(conn: Connection, entry: Entry) -> int:
    target = conn.execute(
        select(journal_entry.c.id).where(journal_entry.c.idempotency_key == entry.reverses)
    ).scalar()
    if target is None:
        raise NotFound.single(
            "reverses", f"écriture à annuler inconnue : {entry.reverses}", "not_found"
        )
    if conn.scalar(select(journal_entry.c.id).where(journal_entry.c.reverses_id == target)):
        raise Conflict.single(
            "reverses", f"l'écriture {entry.reverses} est déjà annulée", "already_reversed"
        )
    original = conn.execute(select(*_POSTING_COLS).where(posting_t.c.entry_id == target)).all()
    problems = reversal_problems([Posting(*row) for row in original], entry)
    if problems:
        raise DomainError(*problems)
    return target


def add_to_cache(conn: Connection, postings: Iterable[Posting]) -> None:
    """Add contributor postings to the account_balance cache (one upsert per key)."""
    sums: dict[tuple, int] = {}
    for p in postings:
        if p.contributor_id is not None:
            k = (p.contributor_id, p.ledger_account, p.fund, p.item, p.period)
            sums[k] = sums.get(k, 0) + p.amount
    if not sums:
        return
    stmt = _dialect_insert(conn, account_balance)
    stmt = stmt.on_conflict_do_update(
        index_elements=[
            account_balance.c.contributor_id,
            account_balance.c.ledger_account,
            account_balance.c.fund,
            account_balance.c.item,
            account_balance.c.period,
        ],
        set_={"balance": account_balance.c.balance + stmt.excluded.balance},
    )
    conn.execute(
        stmt,
        [
            {
                "contributor_id": k[0],
                "ledger_account": k[1],
                "fund": k[2],
                "item": k[3],
                "period": k[4],
                "balance": v,
            }
            for k, v in sums.items()
        ],
    )


def load_entry(conn: Connection, idempotency_key: str) -> Entry:
    """An entry as the journal holds it."""
    row = conn.execute(
        select(
            journal_entry.c.id,
            journal_entry.c.value_date,
            journal_entry.c.cause,
            journal_entry.c.description,
            journal_entry.c.reverses_id,
        ).where(journal_entry.c.idempotency_key == idempotency_key)
    ).first()
    if row is None:
        raise NotFound.single(
            "idempotency_key", f"écriture inconnue : {idempotency_key}", "not_found"
        )
    reverses = None
    if row.reverses_id is not None:
        reverses = conn.scalar(
            select(journal_entry.c.idempotency_key).where(journal_entry.c.id == row.reverses_id)
        )
    postings = conn.execute(
        select(*_POSTING_COLS).where(posting_t.c.entry_id == row.id).order_by(posting_t.c.line_no)
    ).all()
    return Entry(
        idempotency_key=idempotency_key,
        value_date=row.value_date,
        cause=row.cause,
        postings=tuple(Posting(*p) for p in postings),
        description=row.description,
        reverses=reverses,
    )


# ---------------------------------------------------------------------------------------------
# Balances


def _reader(engine: Engine) -> Connection:
    """A connection for a single-statement read: on PostgreSQL in autocommit, which spares the
    BEGIN and ROLLBACK round trips (a third of a balance read's time)."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


def _reach(conn: Connection, actor: Actor, contributor_id: int) -> None:
    require(actor, Permission.LEDGER_READ)
    org = conn.scalar(
        select(contributor.c.organisation_id).where(contributor.c.id == contributor_id)
    )
    if org is None:
        raise NotFound.single("contributor_id", f"cotisant {contributor_id} inconnu", "not_found")
    require_contributor(actor, contributor_id, org)


def _check_account(ledger_account: str | None) -> None:
    if ledger_account is not None and ledger_account not in {a.value for a in LedgerAccount}:
        raise DomainError.single(
            "ledger_account", f"compte comptable inconnu : {ledger_account!r}", "unknown_account"
        )


def _balance_query(
    contributor_id: int,
    ledger_account: str | None,
    fund: str | None,
    item: str | None,
    period: str | None,
    as_of: date | None,
    group: bool,
):
    """Without as_of, the cache; with as_of, the journal's postings dated on or before it."""
    if as_of is None:
        t = account_balance
        amount = t.c.balance
        conds = [t.c.contributor_id == contributor_id]
    else:
        t = posting_t
        amount = t.c.amount
        conds = [t.c.contributor_id == contributor_id, t.c.value_date <= as_of]
    for col, value in (
        (t.c.ledger_account, ledger_account),
        (t.c.fund, fund),
        (t.c.item, item),
        (t.c.period, period),
    ):
        if value is not None:
            conds.append(col == value)
    if not group:
        return select(func.coalesce(func.sum(amount), 0)).where(*conds)
    keys = (t.c.ledger_account, t.c.fund, t.c.item, t.c.period)
    total = func.sum(amount)
    return (
        select(*keys, total.label("balance"))
        .where(*conds)
        .group_by(*keys)
        .having(total != 0)
        .order_by(*keys)
    )


def balance(
    engine: Engine,
    actor: Actor,
    contributor_id: int,
    fund: str | None = None,
    item: str | None = None,
    period: str | None = None,
    as_of: date | None = None,
    ledger_account: str | None = LedgerAccount.RECEIVABLE.value,
) -> int:
    """A contributor's balance in cents (receivable by default: positive means owed), narrowed
    by fund, item and period, as of a value date if given."""
    require(actor, Permission.LEDGER_READ)
    _check_account(ledger_account)
    q = _balance_query(contributor_id, ledger_account, fund, item, period, as_of, False)
    with _reader(engine) as conn:
        # One statement: the contributor's organisation (for the reach) and the balance.
        row = conn.execute(
            select(contributor.c.organisation_id, q.scalar_subquery()).where(
                contributor.c.id == contributor_id
            )
        ).first()
    if row is None:
        raise NotFound.single("contributor_id", f"cotisant {contributor_id} inconnu", "not_found")
    require_contributor(actor, contributor_id, row[0])
    return int(row[1] or 0)


def balances(
    engine: Engine,
    actor: Actor,
    contributor_id: int,
    as_of: date | None = None,
    ledger_account: str | None = None,
) -> list[dict]:
    """A contributor's non-zero balances by ledger account · fund · item · period."""
    _check_account(ledger_account)
    with engine.connect() as conn:
        _reach(conn, actor, contributor_id)
        return _balances(conn, contributor_id, as_of, ledger_account)


def _balances(
    conn: Connection, contributor_id: int, as_of: date | None, ledger_account: str | None
) -> list[dict]:
    q = _balance_query(contributor_id, ledger_account, None, None, None, as_of, True)
    return [
        {
            "ledger_account": r.ledger_account,
            "fund": r.fund,
            "item": r.item,
            "period": r.period,
            "balance": int(r.balance),
        }
        for r in conn.execute(q)
    ]


def account_statement(
    engine: Engine,
    actor: Actor,
    contributor_id: int,
    as_of: date | None = None,
    limit: int = 50,
    after: str | None = None,
) -> dict:
    """A contributor's account: balances by fund and by fund · item · period, and a page of the
    entries touching it (latest value date first) with the contributor's own postings.

    `after` is the `next` cursor of the previous page.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise DomainError.single("limit", f"limit doit être entre 1 et {MAX_PAGE}", "bad_limit")
    cursor = _parse_cursor(after) if after else None
    with engine.connect() as conn:
        _reach(conn, actor, contributor_id)
        rows = _balances(conn, contributor_id, as_of, None)
        entries, nxt = _entries_page(conn, contributor_id, as_of, limit, cursor)
    receivable = [r for r in rows if r["ledger_account"] == LedgerAccount.RECEIVABLE.value]
    by_fund: dict[str, int] = {}
    for r in receivable:
        by_fund[r["fund"]] = by_fund.get(r["fund"], 0) + r["balance"]
    return {
        "contributor_id": contributor_id,
        "as_of": as_of.isoformat() if as_of else None,
        "unit": "cents",
        "balance": sum(r["balance"] for r in receivable),
        "by_fund": [{"fund": f, "balance": b} for f, b in sorted(by_fund.items()) if b],
        "balances": rows,
        "entries": {"items": entries, "next": nxt},
    }


def _parse_cursor(text: str) -> tuple[date, int]:
    try:
        day, _, ident = text.partition("~")
        return date.fromisoformat(day), int(ident)
    except ValueError:
        raise DomainError.single("after", "curseur invalide", "bad_cursor") from None


def _entries_page(
    conn: Connection,
    contributor_id: int,
    as_of: date | None,
    limit: int,
    cursor: tuple[date, int] | None,
) -> tuple[list[dict], str | None]:
    conds = [posting_t.c.contributor_id == contributor_id]
    if as_of is not None:
        conds.append(posting_t.c.value_date <= as_of)
    if cursor is not None:
        conds.append(tuple_(posting_t.c.value_date, posting_t.c.entry_id) < cursor)
    ids_q = (
        select(posting_t.c.value_date, posting_t.c.entry_id)
        .where(*conds)
        .distinct()
        .order_by(posting_t.c.value_date.desc(), posting_t.c.entry_id.desc())
        .limit(limit + 1)
    )
    page = conn.execute(ids_q).all()
    nxt = None
    if len(page) > limit:
        page = page[:limit]
        nxt = f"{page[-1].value_date.isoformat()}~{page[-1].entry_id}"
    ids = [r.entry_id for r in page]
    if not ids:
        return [], None
    reversed_by = journal_entry.alias("reversal")
    heads = {
        r.id: r
        for r in conn.execute(
            select(
                journal_entry.c.id,
                journal_entry.c.idempotency_key,
                journal_entry.c.value_date,
                journal_entry.c.recorded_at,
                journal_entry.c.cause,
                journal_entry.c.description,
                reversed_by.c.idempotency_key.label("reverses"),
            )
            .outerjoin(reversed_by, reversed_by.c.id == journal_entry.c.reverses_id)
            .where(journal_entry.c.id.in_(ids))
        )
    }
    lines: dict[int, list[dict]] = {i: [] for i in ids}
    for p in conn.execute(
        select(posting_t.c.entry_id, *_POSTING_COLS)
        .where(and_(posting_t.c.entry_id.in_(ids), posting_t.c.contributor_id == contributor_id))
        .order_by(posting_t.c.entry_id, posting_t.c.line_no)
    ):
        lines[p.entry_id].append(
            {
                "ledger_account": p.ledger_account,
                "fund": p.fund,
                "item": p.item,
                "period": p.period,
                "amount": int(p.amount),
            }
        )
    items = []
    for i in ids:
        h = heads[i]
        items.append(
            {
                "id": i,
                "idempotency_key": h.idempotency_key,
                "value_date": h.value_date.isoformat(),
                "recorded_at": _iso(h.recorded_at),
                "cause": h.cause,
                "description": h.description,
                "reverses": h.reverses,
                "postings": lines[i],
            }
        )
    return items, nxt


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite returns naive datetimes; they were written in UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


__all__ = [
    "Cause",
    "PostResult",
    "account_statement",
    "balance",
    "balances",
    "check_contributors",
    "load_entry",
    "post_entries",
    "post_entry",
    "reverse_entry",
]
