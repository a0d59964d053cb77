"""Bank receipts (encaissements): import a statement, list the receipts, match one in suspense.

Each bank transaction is recorded and posted once, whatever the number of imports: its key is the
bank's own reference on the collector's account (`receipt:<IBAN>:<AcctSvcrRef>`). A credit whose
payment reference names an open account pays its debts in the legal order (services/allocation.py,
CSS L133-4-11, Code civil art. 1342-10); any other credit goes to `suspense` and opens an
`unmatched_receipt` case in the suspense queue, until an agent matches it (`match_receipt`). A
direct-debit reject reverses the original receipt's entry, so the debt it paid is owed again
(the reversal is exact; a credit the receipt left and that had since paid other debts is taken
back from them, `allocation.reallocate`).

What is all or nothing and what is line by line: see docs/receipts.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from recouvrement.adapters.db.receipt_tables import RECEIPT_STATUSES, receipt, receipt_import
from recouvrement.adapters.db.tables import (
    account_balance,
    agent,
    case_event,
    case_table,
    contributor,
)
from recouvrement.adapters.files.bank_statements import StatementReader
from recouvrement.domain import cases as case_rules
from recouvrement.domain.actors import (
    Actor,
    Permission,
    Role,
    require,
    require_contributor,
    system_actor,
)
from recouvrement.domain.allocation import CREDIT_ITEM
from recouvrement.domain.errors import Conflict, DomainError, Forbidden, NotFound
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.domain.money import format_euros_fr
from recouvrement.services import audit, cases
from recouvrement.services import receipts_bulk as bulk
from recouvrement.services.allocation import allocation_postings, reallocate
from recouvrement.services.cases_bulk import CaseDraft, open_cases_bulk
from recouvrement.services.ledger import post_entries
from recouvrement.services.unit_of_work import UnitOfWork

MAX_PAGE = 1000
IMPORT_ACTION = "receipts.import"
MATCH_ACTION = "receipts.match"


def _system(actor: Actor) -> Actor:
    """Posts and case openings are made by the collection system on behalf of the agent, whose
    own rights were checked first (as services/payroll.py does)."""
    return system_actor(f"encaissements:{actor.login}")


# ---------------------------------------------------------------------------------------------
# Import


def import_statement(
    engine: Engine,
    actor: Actor,
    source: bytes | str | Path,
    *,
    file_format: str | None = None,
    file_name: str | None = None,
    on: date | None = None,
    batch_size: int = bulk.BATCH,
    progress: bulk.Progress | None = None,
) -> dict:
    """Import a camt.053 or CSV statement (bytes or a path) and return its report.

    `on` is the day the suspense cases are received (default: the latest booking date of the
    file). Raises DomainError (field "file" or "format") when the file is refused as a whole:
    then nothing is recorded and nothing posted.
    """
    require(actor, Permission.RECEIPTS_IMPORT)
    if not isinstance(source, bytes):
        file_name = file_name or Path(source).name
    file_name = (file_name or "relevé")[:255]
    started = bulk.clock()
    for earlier in bulk.unposted_imports(engine):
        _post_and_finish(engine, actor, earlier, on, batch_size, None)
    reader = StatementReader(source, file_format)
    try:
        with UnitOfWork(engine) as uow:
            import_id = uow.conn.execute(
                insert(receipt_import).values(
                    file_name=file_name,
                    file_sha256="",
                    format=reader.format.value,
                    status="recorded",
                    imported_by=actor.login,
                    imported_at=datetime.now(UTC),
                    transactions=0,
                    allocated=0,
                    suspense=0,
                    returned=0,
                    rejected=0,
                    already_imported=0,
                    amount=0,
                )
            ).inserted_primary_key[0]
            counts = bulk.record_statement(uow.conn, import_id, reader, batch_size, progress)
            figures = {
                "transactions": counts.transactions,
                "allocated": counts.allocated,
                "suspense": counts.suspense,
                "returned": counts.returned,
                "rejected": counts.rejected,
                "already_imported": counts.already_imported,
                "amount": counts.amount,
            }
            uow.conn.execute(
                update(receipt_import)
                .where(receipt_import.c.id == import_id)
                .values(file_sha256=reader.sha256, **figures)
            )
            audit.record(
                uow.conn,
                actor,
                IMPORT_ACTION,
                "receipt_import",
                import_id,
                {"file_name": file_name, "sha256": reader.sha256, "format": reader.format.value}
                | figures,
            )
            uow.commit()
    except DomainError as err:
        audit.record_refusal(engine, actor, IMPORT_ACTION, "receipt_import", file_name, str(err))
        audit.mark_recorded(err)
        raise
    outcome = _post_and_finish(
        engine, actor, import_id, on or counts.latest_booking, batch_size, progress
    )
    report = get_import(engine, actor, import_id)
    timings = counts.timings | outcome.pop("timings")
    cpu = counts.cpu | outcome.pop("cpu")
    total = bulk.clock()
    timings["total"] = total[0] - started[0]
    cpu["total"] = total[1] - started[1]
    report.update(
        outcome,
        timings={k: round(v, 3) for k, v in timings.items()},
        cpu={k: round(v, 3) for k, v in cpu.items()},
    )
    return report


def _post_and_finish(
    engine: Engine,
    actor: Actor,
    import_id: int,
    on: date | None,
    batch_size: int,
    progress: bulk.Progress | None,
) -> dict:
    """Steps 2 and 3 of receipts_bulk: post, reopen what a reversed credit paid, open cases."""
    spent = bulk.ImportCounts()
    start = bulk.clock()
    posted, already, reversed_for = bulk.post_import(engine, actor, import_id, batch_size, progress)
    spent.time("post", start)
    start = bulk.clock()
    with UnitOfWork(engine) as uow:
        owing = _owing_credit(uow.conn, [cid for cid, _ in reversed_for])
        for cid, day in reversed_for:
            if cid in owing:
                reallocate(uow.conn, _system(actor), cid, day)
        bulk.mark_posted(uow.conn, import_id)
        uow.commit()
    spent.time("finish", start)
    start = bulk.clock()
    cases_report = _open_suspense_cases(engine, actor, on) if on else {"opened": 0}
    cases_report["closed"] = _close_returned_cases(engine, actor, import_id, on)
    spent.time("cases", start)
    return {
        "entries_posted": posted,
        "entries_already_posted": already,
        "cases": cases_report,
        "timings": spent.timings,
        "cpu": spent.cpu,
    }


def _owing_credit(conn: Connection, contributor_ids: list[int]) -> set[int]:
    """The contributors whose credit key is positive after the reversals: only they have a
    credit to take back from the debts it paid (`reallocate` does nothing for the others), read
    in one query instead of one per contributor."""
    found: set[int] = set()
    ids = sorted(set(contributor_ids))
    for i in range(0, len(ids), 500):
        found.update(
            conn.scalars(
                select(account_balance.c.contributor_id).where(
                    account_balance.c.contributor_id.in_(ids[i : i + 500]),
                    account_balance.c.ledger_account == LedgerAccount.RECEIVABLE.value,
                    account_balance.c.fund == "",
                    account_balance.c.item == CREDIT_ITEM,
                    account_balance.c.period == "",
                    account_balance.c.balance > 0,
                )
            )
        )
    return found


def _open_suspense_cases(engine: Engine, actor: Actor, on: date) -> dict:
    """One case per receipt in suspense that has none yet, received on `on`."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                receipt.c.id,
                receipt.c.reason,
                receipt.c.amount,
                receipt.c.bank_reference,
                receipt.c.debtor_name,
                receipt.c.remittance,
            )
            .where(receipt.c.status == "suspense", receipt.c.case_id.is_(None))
            .order_by(receipt.c.id)
        ).all()
        ids = [r.id for r in rows]
        opened_before = _cases_of(conn, ids)
    drafts = [
        CaseDraft(
            case_rules.CaseType.UNMATCHED_RECEIPT.value,
            {
                "receipt_id": r.id,
                "reason": r.reason,
                "amount": r.amount,
                "bank_reference": r.bank_reference,
                "debtor_name": r.debtor_name,
                "remittance": r.remittance[:500],
            },
        )
        for r in rows
        if r.id not in opened_before
    ]
    report: dict = {"opened": 0}
    if drafts:
        try:
            report["opened"] = open_cases_bulk(
                engine, _system(actor), drafts, on=on, source="receipts"
            ).opened
        except DomainError as err:
            # E.g. no agreement in force on that day: the receipts stay listed in suspense.
            report["not_opened"] = len(drafts)
            report["reason"] = str(err)
    if ids:
        with UnitOfWork(engine) as uow:
            found = _cases_of(uow.conn, ids)
            if found:
                uow.conn.execute(
                    update(receipt)
                    .where(receipt.c.id == bindparam("rid"))
                    .values(case_id=bindparam("cid")),
                    [{"rid": rid, "cid": cid} for rid, cid in found.items()],
                )
            uow.commit()
    return report


def _cases_of(conn: Connection, receipt_ids: list[int]) -> dict[int, int]:
    """receipt id → the unmatched_receipt case opened for it."""
    out: dict[int, int] = {}
    rid = case_table.c.payload["receipt_id"].as_integer()
    for chunk in bulk._chunks(receipt_ids):
        for case_id, receipt_id in conn.execute(
            select(case_table.c.id, rid).where(
                case_table.c.case_type == case_rules.CaseType.UNMATCHED_RECEIPT.value,
                rid.in_(chunk),
            )
        ):
            out[receipt_id] = case_id
    return out


def _close_returned_cases(engine: Engine, actor: Actor, import_id: int, on: date | None) -> int:
    """A receipt in suspense that the bank returns no longer needs matching: its case closes."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(receipt.c.case_id, receipt.c.returned_by_id, case_table.c.last_event_on)
            .join(case_table, case_table.c.id == receipt.c.case_id)
            .where(
                receipt.c.status == "returned",
                receipt.c.returned_by_id.in_(
                    select(receipt.c.id).where(receipt.c.import_id == import_id)
                ),
                case_table.c.closed_on.is_(None),
            )
        ).all()
    closed = 0
    for r in rows:
        cases.transition(
            engine,
            _system(actor),
            r.case_id,
            "close_returned",
            on=max(on or r.last_event_on, r.last_event_on),
            data={"return_receipt_id": r.returned_by_id},
        )
        closed += 1
    return closed


# ---------------------------------------------------------------------------------------------
# Reading


def _view(r) -> dict:
    return {
        "id": r.id,
        "import_id": r.import_id,
        "line": r.line,
        "account_iban": r.account_iban,
        "bank_reference": r.bank_reference,
        "statement_id": r.statement_id,
        "direction": r.direction,
        "amount": r.amount,
        "unit": "cents",
        "currency": r.currency,
        "booking_date": r.booking_date.isoformat() if r.booking_date else None,
        "value_date": r.value_date.isoformat() if r.value_date else None,
        "end_to_end_id": r.end_to_end_id,
        "debtor_name": r.debtor_name,
        "debtor_iban": r.debtor_iban,
        "remittance": r.remittance,
        "return_reason": r.return_reason,
        "contributor_id": r.contributor_id,
        "status": r.status,
        "reason": r.reason,
        "entry_key": r.entry_key,
        "returned_by_id": r.returned_by_id,
        "match_entry_key": r.match_entry_key,
        "matched_by": r.matched_by,
        "case_id": r.case_id,
    }


def _reach_filter(query, actor: Actor):
    """An agent sees the receipts in suspense and those of the accounts they reach."""
    if actor.is_system or Role.ADMINISTRATOR in actor.roles:
        return query
    reachable = select(contributor.c.id).where(
        contributor.c.organisation_id.in_(sorted(actor.reachable_organisation_ids))
    )
    return query.where(receipt.c.contributor_id.is_(None) | receipt.c.contributor_id.in_(reachable))


def list_receipts(
    engine: Engine,
    actor: Actor,
    *,
    status: str | None = None,
    import_id: int | None = None,
    limit: int = 100,
    after: int | None = None,
) -> list[dict]:
    """Receipts by id, optionally of one status or import; `after` is the last id of a page."""
    require(actor, Permission.RECEIPTS_READ)
    if status is not None and status not in RECEIPT_STATUSES:
        raise DomainError.single(
            "status",
            f"statut inconnu : {status!r} (connus : {', '.join(RECEIPT_STATUSES)})",
            "unknown_status",
        )
    if not 1 <= limit <= MAX_PAGE:
        raise DomainError.single("limit", f"entre 1 et {MAX_PAGE}", "bad_limit")
    query = select(receipt).order_by(receipt.c.id).limit(limit)
    if status:
        query = query.where(receipt.c.status == status)
    if import_id is not None:
        query = query.where(receipt.c.import_id == import_id)
    if after is not None:
        query = query.where(receipt.c.id > after)
    with engine.connect() as conn:
        return [_view(r) for r in conn.execute(_reach_filter(query, actor))]


def get_receipt(engine: Engine, actor: Actor, receipt_id: int) -> dict:
    require(actor, Permission.RECEIPTS_READ)
    with engine.connect() as conn:
        row = conn.execute(
            _reach_filter(select(receipt).where(receipt.c.id == receipt_id), actor)
        ).first()
    if row is None:
        raise NotFound.single("receipt_id", f"encaissement {receipt_id} inconnu", "not_found")
    return _view(row)


def get_import(engine: Engine, actor: Actor, import_id: int) -> dict:
    require(actor, Permission.RECEIPTS_READ)
    with engine.connect() as conn:
        row = conn.execute(select(receipt_import).where(receipt_import.c.id == import_id)).first()
    if row is None:
        raise NotFound.single("import_id", f"import {import_id} inconnu", "not_found")
    out = dict(row._mapping)
    out["imported_at"] = row.imported_at.isoformat()
    out["unit"] = "cents"
    return out


# ---------------------------------------------------------------------------------------------
# Matching a receipt in suspense


def match_receipt(
    engine: Engine,
    actor: Actor,
    receipt_id: int,
    contributor_id: int,
    *,
    on: date,
    designation: list[str] | None = None,
    note: str = "",
) -> dict:
    """Assign a receipt in suspense to an account: debit `suspense`, credit the debts paid in the
    legal order (what is left becomes a credit), and close its case."""
    require(actor, Permission.RECEIPTS_MATCH)
    with UnitOfWork(engine) as uow:
        conn = uow.conn
        query = select(receipt).where(receipt.c.id == receipt_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise NotFound.single("receipt_id", f"encaissement {receipt_id} inconnu", "not_found")
        if row.status != "suspense":
            raise Conflict.single(
                "receipt_id",
                f"l'encaissement {receipt_id} n'est pas en attente d'affectation "
                f"(statut {row.status})",
                "not_in_suspense",
            )
        who = conn.execute(
            select(contributor.c.id, contributor.c.organisation_id).where(
                contributor.c.id == contributor_id
            )
        ).first()
        if who is None:
            raise NotFound.single(
                "contributor_id", f"cotisant {contributor_id} inconnu", "not_found"
            )
        require_contributor(actor, who.id, who.organisation_id)
        if row.case_id is not None:
            _close_matched_case(conn, actor, row.case_id, on, contributor_id, note)
        credits = allocation_postings(conn, contributor_id, row.amount, designation, on=on)
        key = f"{row.entry_key}:match"
        entry = Entry(
            key,
            on,
            Cause.PAYMENT.value,
            (Posting(LedgerAccount.SUSPENSE.value, None, "", "", "", row.amount), *credits),
            f"Affectation de l'encaissement {row.bank_reference} au cotisant {contributor_id} : "
            f"{format_euros_fr(row.amount)}",
        )
        post_entries(conn, _system(actor), [entry])
        conn.execute(
            update(receipt)
            .where(receipt.c.id == receipt_id)
            .values(
                status="allocated",
                contributor_id=contributor_id,
                match_entry_key=key,
                matched_by=actor.login,
            )
        )
        audit.record(
            conn,
            actor,
            MATCH_ACTION,
            "receipt",
            receipt_id,
            {"contributor_id": contributor_id, "amount": row.amount, "entry": key},
        )
        uow.commit()
    return get_receipt(engine, actor, receipt_id)


def _close_matched_case(
    conn: Connection, actor: Actor, case_id: int, on: date, contributor_id: int, note: str
) -> None:
    """The case closes as the case engine allows: its assignee (or a manager), authorized on the
    suspense queue's activity on `on` (ISU agreement art. 3 and 6)."""
    row = (
        conn.execute(
            select(case_table, agent.c.login.label("assignee"))
            .outerjoin(agent, agent.c.id == case_table.c.assignee_id)
            .where(case_table.c.id == case_id)
        )
        .mappings()
        .first()
    )
    if row is None or row["closed_on"] is not None:
        return
    if on < row["last_event_on"]:
        raise DomainError.single(
            "on",
            f"date antérieure au dernier événement du dossier ({row['last_event_on']})",
            "date_before_last_event",
        )
    agreement = cases.resolve_agreement(row["agreement"], row["opened_on"])
    refusal = cases.activity_refusal(
        conn, actor, row["activity"], on, agreement, row["owner_organisation_id"]
    )
    problem = case_rules.authority_problem(
        actor, case_rules.Authority.WORKER, agreement, row["assignee"], refusal
    )
    if problem is not None:
        raise Forbidden(problem)
    detail = {"contributor_id": contributor_id}
    conn.execute(
        update(case_table)
        .where(case_table.c.id == case_id)
        .values(
            state="matched",
            last_event_on=on,
            closed_on=on,
            closed_at=datetime.now(UTC),
            payload={**row["payload"], "contributor_id": contributor_id},
        )
    )
    conn.execute(
        insert(case_event).values(
            case_id=case_id,
            action="match",
            actor=actor.login,
            from_state=row["state"],
            to_state="matched",
            on=on,
            at=datetime.now(UTC),
            note=note[:10_000],
            detail=detail,
        )
    )
    audit.record(
        conn,
        actor,
        "case.transition",
        "case",
        case_id,
        {"action": "match", "from": row["state"], "to": "matched", **detail},
    )
