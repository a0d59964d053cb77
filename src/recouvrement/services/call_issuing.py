"""Daily-cycle steps on calls: issue the calls whose issue date has come, and detect payment
incidents at the due date.

A call becomes `issued` on the first cycle day on or after its issue date, with its notice
produced once (a `document` row, unique per kind and reference). The day after its due date
(exigibilité: CSS art. R243-6 for employers, R131-1 and following for the self-employed), a call
whose principal was still owed at the end of the due date becomes `overdue` and leaves one
`payment_incident` row: the fact from which the late-payment surcharges run (CSS art. R243-18,
R243-16 since décret 2019-1050) and amicable collection starts. A call whose principal is paid
becomes `paid`; an overdue call becomes `paid` once settled.

Both steps are set-based and commit in batches of calls (by id range); each batch only moves calls
still in the state it expects, so a re-run after a crash picks up where the last commit stopped.
They post nothing to the ledger.

Notices: rendered by the documents module (`render_many("call_notice", contexts)`), written under
the documents directory (`RECOUVREMENT_DOCUMENTS_DIR`, default `var/documents`) as
`call_notice/<period>/<reference>.pdf`, atomically, before the batch that records them commits: a
crash leaves at worst a file that the re-run overwrites. `RECOUVREMENT_CALL_NOTICES=none` issues
calls without producing notices (mass benchmarks; calls delivered by another channel).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    Engine,
    and_,
    any_,
    case,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.cycle_tables import document, payment_incident
from recouvrement.adapters.db.tables import (
    account_balance,
    contributor,
    journal_entry,
    journal_posting,
    organisation,
)
from recouvrement.domain.actors import system_actor
from recouvrement.domain.allocation import (
    CREDIT_ITEM,
    PENALTY_PREFIX,
    SURCHARGE_ITEMS,
    item_kind,
)
from recouvrement.domain.payment_reference import account_reference
from recouvrement.services import audit
from recouvrement.services.daily_cycle_report import Progress, StepReport
from recouvrement.services.unit_of_work import UnitOfWork

ISSUE_BATCH = 2_000  # notices rendered per commit
STATUS_BATCH = 10_000  # calls moved per commit (an IN list on SQLite: under its 32,766 parameters)
INCIDENT_UNPAID = "unpaid_at_due_date"
NOTICE = "call_notice"
ACTOR = system_actor("cycle quotidien")


def _batch(default: int) -> int:
    """`RECOUVREMENT_CYCLE_BATCH` overrides the batch sizes (small batches in crash tests)."""
    value = os.environ.get("RECOUVREMENT_CYCLE_BATCH", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else default


def documents_dir() -> Path:
    return Path(os.environ.get("RECOUVREMENT_DOCUMENTS_DIR", "").strip() or "var/documents")


def notices_enabled() -> bool:
    return os.environ.get("RECOUVREMENT_CALL_NOTICES", "pdf").strip().lower() != "none"


def _insert(conn: Connection, table):
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _id_batches(conn: Connection, where, size: int) -> list[list[int]]:
    """The ids of the calls matching `where`, in id order, by batches of at most `size`.

    Batches are lists rather than id ranges: the calls a step looks at (overdue ones of many
    months, say) are scattered, and a range would make each batch read every call in between."""
    ids = conn.execute(select(call.c.id).where(where).order_by(call.c.id)).scalars().all()
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def _among(conn: Connection, ids: Sequence[int]):
    """`call.id` in `ids`."""
    return _any(conn, call.c.id, ids)


def _principal(b=account_balance):
    """Receivable balances of contribution items: not a surcharge, a penalty or the credit key."""
    return and_(
        b.c.ledger_account == "receivable",
        b.c.item.not_in(sorted(SURCHARGE_ITEMS)),
        b.c.item.not_like(PENALTY_PREFIX.replace("_", "\\_") + "%", escape="\\"),
        b.c.item != CREDIT_ITEM,
    )


def _of_call(b=account_balance):
    return and_(b.c.contributor_id == call.c.contributor_id, b.c.period == call.c.period)


# --- issuing -------------------------------------------------------------------------------


def issue_calls_step(engine: Engine, day: date, progress: Progress | None = None) -> StepReport:
    """Scheduled calls whose issue date has come → `issued` on `day`, each with its notice."""
    report = StepReport("issue_calls")
    due = and_(call.c.status == "scheduled", call.c.issue_date <= day)
    render = _renderer() if notices_enabled() else None
    with engine.connect() as conn:
        batches = _id_batches(conn, due, _batch(ISSUE_BATCH if render else STATUS_BATCH))
    for i, ids in enumerate(batches, 1):
        with UnitOfWork(engine) as uow:
            among = _among(uow.conn, ids)
            notices = 0
            if render is not None:
                notices = _produce_notices(
                    uow.conn, _notice_rows(uow.conn, and_(due, among)), day, render
                )
            amount = int(
                uow.conn.scalar(select(func.coalesce(func.sum(call.c.amount), 0)).where(due, among))
            )
            issued = uow.conn.execute(
                update(call).where(due, among).values(status="issued", issued_on=day)
            ).rowcount
            audit.record(
                uow.conn,
                ACTOR,
                "call.issue",
                "cycle_day",
                day.isoformat(),
                {"calls": issued, "notices": notices, "amount": amount, "ids": [ids[0], ids[-1]]},
            )
            uow.commit()
        report.add("calls_issued", issued, amount)
        report.add("call_notices", notices)
        if progress is not None:
            progress(i, len(batches))
    return report


def _notice_rows(conn: Connection, where) -> list:
    """The calls to print, with what the letter shows of their contributor and its issuer."""
    return conn.execute(
        select(
            call,
            contributor.c.name,
            contributor.c.address,
            contributor.c.kind.label("contributor_kind"),
            contributor.c.siren,
            contributor.c.nir,
            organisation.c.code.label("organisation_code"),
            organisation.c.name.label("organisation_name"),
        )
        .join(contributor, contributor.c.id == call.c.contributor_id)
        .join(organisation, organisation.c.id == contributor.c.organisation_id)
        .where(where)
        .order_by(call.c.id)
    ).all()


def _renderer():
    """The documents module's batch renderer (imported only when notices are produced)."""
    from recouvrement.adapters.documents.pdf import render_many

    return render_many


def notice_context(row, lines: Sequence[dict], outstanding: int) -> dict:
    """The context of the `call_notice` template (keys listed at the template's top)."""
    employer = row.contributor_kind == "employer"
    return {
        "document_date": row.issue_date.isoformat(),
        "organisation": {"code": row.organisation_code, "name": row.organisation_name},
        "contributor": {
            "id": row.contributor_id,
            "name": row.name,
            "address_lines": [x.strip() for x in (row.address or "").splitlines() if x.strip()],
            "identifier_label": "SIREN" if employer else "N° de sécurité sociale",
            "identifier": (row.siren if employer else row.nir) or "",
        },
        "call": {
            "id": row.id,
            "period": row.period,
            "kind": row.kind,
            "reference": row.reference,
            "issue_date": row.issue_date.isoformat(),
            "due_date": row.due_date.isoformat(),
            "amount": row.amount,
            "status": "issued",
        },
        "lines": list(lines),
        "total": sum(line["amount"] for line in lines),
        "outstanding": outstanding,
        "payment_reference": account_reference(row.contributor_id),
    }


CALLED_CAUSES = ("declaration", "assessment", "call")
"""Causes of the entries that make up what a call calls; payments and allocations are not."""


def _notice_figures(conn: Connection, rows) -> dict[int, tuple[list[dict], int]]:
    """For each call: the principal called by fund and item, and what remains unpaid, both as of
    the notice's date (its issue date), so that a notice produced late says what it would have
    said on time."""
    p, e = journal_posting, journal_entry
    by_key = {(r.contributor_id, r.period): r for r in rows}
    sums: dict[int, dict[tuple[str, str], list[int]]] = {r.id: {} for r in rows}
    found = conn.execute(
        select(
            p.c.contributor_id,
            p.c.period,
            p.c.fund,
            p.c.item,
            p.c.value_date,
            p.c.amount,
            e.c.cause,
        )
        .join(e, e.c.id == p.c.entry_id)
        .where(_principal(p), p.c.contributor_id.in_(sorted({r.contributor_id for r in rows})))
    )
    for f in found:
        row = by_key.get((f.contributor_id, f.period))
        if row is None or f.value_date > row.issue_date:
            continue
        called_net = sums[row.id].setdefault((f.fund, f.item), [0, 0])
        called_net[1] += f.amount
        if f.cause in CALLED_CAUSES:
            called_net[0] += f.amount
    out = {}
    for r in rows:
        lines = [
            {"fund": fund, "item": item, "amount": called}
            for (fund, item), (called, _) in sorted(sums[r.id].items())
            if called
        ]
        outstanding = sum(max(net, 0) for _, net in sums[r.id].values())
        out[r.id] = (lines, outstanding)
    return out


def _produce_notices(conn: Connection, rows, day: date, render_many) -> int:
    if not rows:
        return 0
    figures = _notice_figures(conn, rows)
    contexts = [notice_context(r, *figures[r.id]) for r in rows]
    root = documents_dir()
    records = []
    for row, content in zip(rows, render_many(NOTICE, contexts), strict=True):
        relative = Path(NOTICE) / row.period / f"{row.reference.replace(' ', '_')}.pdf"
        _write_atomically(root / relative, content)
        records.append(
            {
                "contributor_id": row.contributor_id,
                "kind": NOTICE,
                "reference": row.reference,
                "created_on": day,
                "sha256": hashlib.sha256(content).hexdigest(),
                "size": len(content),
                "path": relative.as_posix(),
            }
        )
    stmt = _insert(conn, document).on_conflict_do_nothing(index_elements=["kind", "reference"])
    conn.execute(stmt, records)
    return len(records)


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


# --- payment incidents ---------------------------------------------------------------------


def _any(conn: Connection, column, values: Sequence[int]):
    """`column` in `values`: one array parameter on PostgreSQL, an IN list on SQLite."""
    if conn.dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(BigInteger)))
    return column.in_(list(values))


def _owed(conn: Connection, calls: Sequence, day: date) -> dict[int, tuple[int, int]]:
    """Principal owed on each call's (contributor, period) at two dates: the end of its due date
    (for a call still `issued`; `day` for the others) and `day`. Each is the cached balance less
    the postings dated after it, each item floored at zero (an item overpaid does not pay
    another; allocation moves money, not this check). As of dates, so that a range of days run
    late finds what running each day on time would have found.

    Read by contributor and period through the primary key and the contributor index, and summed
    here: plain index reads whatever the planner's statistics say."""
    by_key = {(c.contributor_id, c.period): c for c in calls}
    cutoff = {c.id: c.due_date if c.status == "issued" else day for c in calls}
    sums: dict[int, dict[tuple[str, str], list[int]]] = {c.id: {} for c in calls}
    contributors = sorted({c.contributor_id for c in calls})
    periods = sorted({c.period for c in calls})
    b, p = account_balance, journal_posting
    for r in conn.execute(
        select(b.c.contributor_id, b.c.period, b.c.fund, b.c.item, b.c.balance).where(
            _any(conn, b.c.contributor_id, contributors),
            b.c.ledger_account == "receivable",
            b.c.period.in_(periods),
        )
    ):
        c = by_key.get((r.contributor_id, r.period))
        if c is not None and item_kind(r.item) == "principal":
            both = sums[c.id].setdefault((r.fund, r.item), [0, 0])
            both[0] += r.balance
            both[1] += r.balance
    for r in conn.execute(
        select(
            p.c.contributor_id, p.c.period, p.c.fund, p.c.item, p.c.value_date, p.c.amount
        ).where(
            _any(conn, p.c.contributor_id, contributors),
            p.c.value_date > min(cutoff.values()),
            p.c.ledger_account == "receivable",
            p.c.period.in_(periods),
        )
    ):
        c = by_key.get((r.contributor_id, r.period))
        if c is None or item_kind(r.item) != "principal" or r.value_date <= cutoff[c.id]:
            continue
        both = sums[c.id].setdefault((r.fund, r.item), [0, 0])
        both[0] -= r.amount
        if r.value_date > day:
            both[1] -= r.amount
    return {
        call_id: (
            sum(max(a, 0) for a, _ in items.values()),
            sum(max(t, 0) for _, t in items.values()),
        )
        for call_id, items in sums.items()
    }


def _calls_and_owed(conn: Connection, ids: Sequence[int], day: date):
    """The batch's calls past due, and what each owes at its due date and on `day`.

    Fast path, one statement: the cached principal of each call's (contributor, period), exact
    unless the contributor has postings dated after the cutoff (its due date for a call still
    `issued`, else `day`), which only happens when days are caught up; those few are summed
    as of their dates by `_owed`."""
    b, p = account_balance, journal_posting
    cutoff = case((call.c.status == "issued", call.c.due_date), else_=literal(day, Date))
    cached = (
        select(func.coalesce(func.sum(case((b.c.balance > 0, b.c.balance), else_=0)), 0))
        .where(_of_call(b), _principal(b))
        .scalar_subquery()
    )
    later = exists().where(p.c.contributor_id == call.c.contributor_id, p.c.value_date > cutoff)
    rows = [
        r
        for r in conn.execute(
            select(
                call.c.id,
                call.c.contributor_id,
                call.c.period,
                call.c.status,
                call.c.due_date,
                cached.label("cached"),
                later.label("later"),
            ).where(_among(conn, ids))
        )
        if r.status in ("issued", "overdue") and r.due_date < day
    ]
    owed = {r.id: (int(r.cached), int(r.cached)) for r in rows if not r.later}
    exact = [r for r in rows if r.later]
    if exact:
        owed.update(_owed(conn, exact, day))
    return rows, owed


def payment_incidents_step(
    engine: Engine, day: date, progress: Progress | None = None
) -> StepReport:
    """Calls past their due date: principal owed at the due date → `overdue` with a payment
    incident; principal paid as of `day` → `paid`."""
    report = StepReport("payment_incidents")
    past_due = and_(call.c.status.in_(("issued", "overdue")), call.c.due_date < day)
    with engine.connect() as conn:
        batches = _id_batches(conn, past_due, _batch(STATUS_BATCH))
    for i, ids in enumerate(batches, 1):
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            calls, owed = _calls_and_owed(conn, ids, day)
            incidents = [
                {
                    "call_id": r.id,
                    "contributor_id": r.contributor_id,
                    "period": r.period,
                    "kind": INCIDENT_UNPAID,
                    "detected_on": day,
                    "unpaid_amount": owed[r.id][0],
                }
                for r in calls
                if r.status == "issued" and owed.get(r.id, (0, 0))[0] > 0
            ]
            overdue = paid = 0
            if incidents:
                conn.execute(
                    _insert(conn, payment_incident).on_conflict_do_nothing(
                        index_elements=["call_id", "kind"]
                    ),
                    incidents,
                )
            # Paid by the due date but owed again today (a reversed receipt): overdue, no incident.
            late = [r.id for r in calls if r.status == "issued" and max(owed.get(r.id, (0, 0))) > 0]
            if late:
                overdue = conn.execute(
                    update(call)
                    .where(call.c.status == "issued", _among(conn, late))
                    .values(status="overdue")
                ).rowcount
            settled = [r.id for r in calls if owed.get(r.id, (0, 0))[1] <= 0]
            if settled:
                paid = conn.execute(
                    update(call).where(past_due, _among(conn, settled)).values(status="paid")
                ).rowcount
            unpaid_total = sum(r["unpaid_amount"] for r in incidents)
            if overdue or paid:
                audit.record(
                    conn,
                    ACTOR,
                    "call.payment_incidents",
                    "cycle_day",
                    day.isoformat(),
                    {
                        "overdue": overdue,
                        "paid": paid,
                        "unpaid": unpaid_total,
                        "ids": [ids[0], ids[-1]],
                    },
                )
            uow.commit()
        report.add("calls_overdue", overdue, unpaid_total)
        report.add("calls_paid", paid)
        if progress is not None:
            progress(i, len(batches))
    return report
