"""The daily step that moves unpaid debt files along the escalation ladder and sends the letters.

A debt file is a call found unpaid at its due date (a `payment_incident`, daily-cycle step 3): the
debts of one contributor for one period. Each cycle day, set-based: the files whose next step has
fallen due (`domain/escalation.next_step`), leaving out those held (`collection_hold`: payment plan
respected, remission pending, dispute, promise — CSS R243-21 for the sursis à poursuites) and those
of a contributor with an open complaint (ISU agreement art. 4 « Gestion des réclamations »). What
is owed is read **as of the day** (cached balance less the postings dated after it), principal,
surcharges and penalties of the period, so a range of days run late finds what each day run on
time would have found, and a file paid meanwhile stops where it was.

Letters are rendered in batches (`render_many`), written under the documents directory as
`<step>/<period>/<reference>.pdf` before the batch commits, and recorded, in one transaction per
batch, as `document` rows and `collection_step` rows — unique per (contributor, period, step), so a
replay or a re-run after a crash sends nothing twice and picks up the files not yet done. The
mise en demeure and the contrainte interrupt the limitation (CSS L244-3, L244-8-1): recorded
through `services/limitation.record_interruption` when that module is installed.

The last step hands the file over to the commissaire de justice: no letter to the debtor, but a
line of the day's hand-over file (`bailiff_handover/<organisation>/<day>.json`, schema in
docs/collection.md), rebuilt from the table at the end of the step so that a crash loses nothing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    and_,
    cast,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite

from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.collection_tables import collection_hold, collection_step
from recouvrement.adapters.db.cycle_tables import document, payment_incident
from recouvrement.adapters.db.tables import (
    account_balance,
    case_table,
    contributor,
    journal_posting,
    organisation,
)
from recouvrement.domain import escalation as ladder_rules
from recouvrement.domain import limitation as limitation_rules
from recouvrement.domain.actors import system_actor
from recouvrement.domain.allocation import CREDIT_ITEM, item_kind
from recouvrement.domain.errors import DomainError
from recouvrement.domain.escalation import EscalationRules, Reached, Step
from recouvrement.domain.payment_reference import account_reference
from recouvrement.rules.parameters import ParameterError
from recouvrement.services import audit, limitation
from recouvrement.services.call_issuing import INCIDENT_UNPAID, documents_dir
from recouvrement.services.collection_holds import active_condition
from recouvrement.services.daily_cycle_report import Progress, StepReport
from recouvrement.services.unit_of_work import UnitOfWork

RULES_FILE = Path(__file__).resolve().parents[1] / "rules" / "escalation.yaml"
LETTER_BATCH = 500  # letters rendered per commit
HANDOVER = "bailiff_handover"
ACTOR = system_actor("cycle quotidien")


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_FILE) -> EscalationRules:
    with open(path, encoding="utf-8") as f:
        return ladder_rules.parse_rules(yaml.safe_load(f), path.name)


def _batch_size() -> int:
    value = os.environ.get("RECOUVREMENT_CYCLE_BATCH", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else LETTER_BATCH


@dataclass
class DueFile:
    contributor_id: int
    period: str
    scheme: str
    due_date: date
    step: Step
    owed: int


# --- reading ------------------------------------------------------------------------------


def _files(day: date, contributor_ids: list[int] | None = None):
    """The debt files known on `day`: calls found unpaid at their due date."""
    q = select(
        payment_incident.c.contributor_id, payment_incident.c.period, payment_incident.c.call_id
    ).where(payment_incident.c.kind == INCIDENT_UNPAID, payment_incident.c.detected_on <= day)
    if contributor_ids is not None:
        q = q.where(payment_incident.c.contributor_id.in_(contributor_ids))
    return q.subquery("files")


def owed_lines(
    conn: Connection, day: date, contributor_ids: list[int] | None = None
) -> dict[tuple[int, str], list[tuple[str, str, int]]]:
    """What each debt file owes as of the end of `day`, by (fund, item): principal, surcharges
    and penalties of the period, each item floored at zero (an item overpaid pays no other)."""
    b, p = account_balance, journal_posting
    f = _files(day, contributor_ids)
    receivable = and_(b.c.ledger_account == "receivable", b.c.item != CREDIT_ITEM)
    cached = (
        select(b.c.contributor_id, b.c.period, b.c.fund, b.c.item, b.c.balance.label("x"))
        .join(f, and_(b.c.contributor_id == f.c.contributor_id, b.c.period == f.c.period))
        .where(receivable)
    )
    later = (
        select(p.c.contributor_id, p.c.period, p.c.fund, p.c.item, -p.c.amount)
        .join(f, and_(p.c.contributor_id == f.c.contributor_id, p.c.period == f.c.period))
        .where(p.c.ledger_account == "receivable", p.c.item != CREDIT_ITEM, p.c.value_date > day)
    )
    u = union_all(cached, later).subquery()
    total = cast(func.sum(u.c.x), BigInteger)
    rows = conn.execute(
        select(u.c.contributor_id, u.c.period, u.c.fund, u.c.item, total.label("owed"))
        .group_by(u.c.contributor_id, u.c.period, u.c.fund, u.c.item)
        .having(total > 0)
        .order_by(u.c.contributor_id, u.c.period, u.c.fund, u.c.item)
    )
    out: dict[tuple[int, str], list[tuple[str, str, int]]] = defaultdict(list)
    for r in rows:
        out[(int(r.contributor_id), r.period)].append((r.fund, r.item, int(r.owed)))
    return out


def reached_steps(
    conn: Connection, day: date, contributor_ids: list[int] | None = None
) -> dict[tuple[int, str], Reached]:
    """The last step each file reached on or before `day`."""
    q = select(
        collection_step.c.contributor_id,
        collection_step.c.period,
        collection_step.c.rank,
        collection_step.c.reached_on,
        collection_step.c.pay_by,
    ).where(collection_step.c.reached_on <= day)
    if contributor_ids is not None:
        q = q.where(collection_step.c.contributor_id.in_(contributor_ids))
    out: dict[tuple[int, str], Reached] = {}
    for r in conn.execute(q):
        key = (int(r.contributor_id), r.period)
        if key not in out or out[key].rank < r.rank:
            out[key] = Reached(r.rank, r.reached_on, r.pay_by)
    return out


def suspensions(conn: Connection, day: date) -> tuple[dict[int, list[dict]], set[int]]:
    """Holds in force on `day` by contributor, and contributors with a complaint open on `day`."""
    holds: dict[int, list[dict]] = defaultdict(list)
    for r in conn.execute(
        select(
            collection_hold.c.contributor_id, collection_hold.c.kind, collection_hold.c.period
        ).where(active_condition(day))
    ).mappings():
        holds[int(r["contributor_id"])].append(dict(r))
    complaints = set(
        conn.execute(
            select(case_table.c.contributor_id).where(
                case_table.c.case_type == "complaint",
                case_table.c.contributor_id.isnot(None),
                case_table.c.opened_on <= day,
                or_(case_table.c.closed_on.is_(None), case_table.c.closed_on > day),
            )
        ).scalars()
    )
    return holds, complaints


def due_files(
    conn: Connection, rules: EscalationRules, day: date
) -> tuple[list[DueFile], dict[str, int]]:
    """The files that take their next step on `day`, in (contributor, period) order, and counts
    of the files left where they are (suspended, paid or under the minimum)."""
    f = _files(day)
    files = conn.execute(
        select(f.c.contributor_id, f.c.period, call.c.due_date, contributor.c.kind)
        .join(call, call.c.id == f.c.call_id)
        .join(contributor, contributor.c.id == f.c.contributor_id)
        .order_by(f.c.contributor_id, f.c.period)
    ).all()
    owed = {k: sum(a for _, _, a in v) for k, v in owed_lines(conn, day).items()}
    reached = reached_steps(conn, day)
    holds, complaints = suspensions(conn, day)
    out: list[DueFile] = []
    left = {"suspended": 0, "settled": 0, "without_ladder": 0}
    ladders = {}
    for scheme in {r.kind for r in files}:
        try:
            ladders[scheme] = rules.ladder(scheme, day)
        except DomainError:
            ladders[scheme] = None  # no ladder in force that day (before 2014): counted, left
    for r in files:
        key = (int(r.contributor_id), r.period)
        ladder = ladders[r.kind]
        if ladder is None:
            left["without_ladder"] += 1
            continue
        last = reached.get(key)
        step = ladder.following(last.rank if last else 0)
        if step is None:
            continue
        amount = owed.get(key, 0)
        if amount < max(step.min_amount, 1):
            left["settled"] += 1
            continue
        held, _why = ladder_rules.suspended(holds.get(key[0], []), r.period, key[0] in complaints)
        if ladder_rules.due_on(step, r.due_date, last) > day:
            continue
        if held:
            left["suspended"] += 1
            continue
        out.append(DueFile(key[0], r.period, r.kind, r.due_date, step, amount))
    return _not_prescribed(conn, out, day, left), left


def _not_prescribed(conn: Connection, files: list[DueFile], day: date, left: dict) -> list[DueFile]:
    """A prescribed debt cannot be pursued (CSS L244-3): its file takes no further step; the
    limitation step proposes it for write-off. One set-based reading for the day's files; where
    the limitation rules have a documented gap for a file, it is pursued (nothing says it is
    prescribed) and counted."""
    if not files:
        return files
    try:
        rows = limitation.limitation_dates(
            conn,
            contributor_ids=sorted({f.contributor_id for f in files}),
            periods=sorted({f.period for f in files}),
        )
    except ParameterError:
        rows = []
        for f in files:
            try:
                rows.extend(
                    limitation.limitation_dates(
                        conn, contributor_ids=[f.contributor_id], periods=[f.period]
                    )
                )
            except ParameterError:
                left["limitation_unknown"] = left.get("limitation_unknown", 0) + 1
    dates: dict[tuple[int, str], list[date | None]] = {}
    for row in rows:
        dates.setdefault((row.contributor_id, row.period), []).append(row.limitation_date)
    kept = []
    for f in files:
        known = [d for d in dates.get((f.contributor_id, f.period), []) if d is not None]
        if known and all(limitation_rules.is_prescribed(d, day) for d in known):
            left["prescribed"] = left.get("prescribed", 0) + 1
            continue
        kept.append(f)
    return kept


# --- letters ------------------------------------------------------------------------------


def _insert(conn: Connection, table):
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def _recipients(conn: Connection, ids: list[int]) -> dict[int, dict]:
    rows = conn.execute(
        select(
            contributor.c.id,
            contributor.c.name,
            contributor.c.address,
            contributor.c.kind,
            contributor.c.siren,
            contributor.c.nir,
            organisation.c.code,
            organisation.c.name.label("organisation_name"),
        )
        .join(organisation, organisation.c.id == contributor.c.organisation_id)
        .where(contributor.c.id.in_(ids))
    )
    return {int(r.id): r._asdict() for r in rows}


def _history(conn: Connection, ids: list[int]) -> dict[tuple[int, str], list[dict]]:
    out: dict[tuple[int, str], list[dict]] = defaultdict(list)
    for r in conn.execute(
        select(
            collection_step.c.contributor_id,
            collection_step.c.period,
            collection_step.c.step,
            collection_step.c.reference,
            collection_step.c.reached_on,
            collection_step.c.pay_by,
        )
        .where(collection_step.c.contributor_id.in_(ids))
        .order_by(collection_step.c.rank)
    ):
        out[(int(r.contributor_id), r.period)].append(
            {
                "step": r.step,
                "reference": r.reference,
                "reached_on": r.reached_on.isoformat(),
                "pay_by": r.pay_by.isoformat() if r.pay_by else None,
            }
        )
    return out


def letter_context(
    file: DueFile,
    who: dict,
    lines: list[tuple[str, str, int]],
    history: list[dict],
    day: date,
) -> dict:
    """The context of the ladder's templates (keys listed at the top of `reminder.html`)."""
    employer = who["kind"] == "employer"
    step = file.step
    deadline = ladder_rules.pay_by(step, day)
    split = {"principal": 0, "surcharge": 0, "penalty": 0}
    for _, item, amount in lines:
        kind = item_kind(item)
        split[kind if kind in split else "principal"] += amount
    return {
        "document_date": day.isoformat(),
        "organisation": {"code": who["code"], "name": who["organisation_name"]},
        "contributor": {
            "id": file.contributor_id,
            "name": who["name"],
            "address_lines": [x.strip() for x in (who["address"] or "").splitlines() if x.strip()],
            "identifier_label": "SIREN" if employer else "N° de sécurité sociale",
            "identifier": (who["siren"] if employer else who["nir"]) or "",
        },
        "letter": {
            "step": step.code,
            "reference": ladder_rules.letter_reference(step, file.contributor_id, file.period),
            "period": file.period,
            "due_date": file.due_date.isoformat(),
            "pay_by": deadline.isoformat() if deadline else None,
            "opposition_days": step.opposition_days,
        },
        "lines": [
            {"fund": fund, "item": item, "kind": item_kind(item), "amount": amount}
            for fund, item, amount in lines
        ],
        "principal": split["principal"],
        "surcharges": split["surcharge"] + split["penalty"],
        "total": sum(a for _, _, a in lines),
        "previous": history,
        "payment_reference": account_reference(file.contributor_id),
    }


def write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def _interruptions():
    """`services/limitation.record_interruption`, when the limitation module is installed."""
    if importlib.util.find_spec("recouvrement.services.limitation") is None:
        return None
    from recouvrement.services import limitation

    return getattr(limitation, "record_interruption", None)


def _take(conn: Connection, files: list[DueFile], day: date, render_many) -> dict[str, int]:
    """Render, store and record one batch of files; returns the steps recorded by code."""
    ids = sorted({f.contributor_id for f in files})
    who = _recipients(conn, ids)
    lines = owed_lines(conn, day, ids)
    history = _history(conn, ids)
    contexts: dict[str, list[tuple[DueFile, dict]]] = defaultdict(list)
    for f in files:
        key = (f.contributor_id, f.period)
        ctx = letter_context(f, who[f.contributor_id], lines[key], history.get(key, []), day)
        contexts[f.step.code].append((f, ctx))
    root = documents_dir()
    done: dict[str, int] = {}
    interrupt = _interruptions()
    for code, items in contexts.items():
        step = items[0][0].step
        documents: dict[str, dict] = {}
        if step.letter:
            pdfs = render_many(step.template, [ctx for _, ctx in items])
            for (f, ctx), content in zip(items, pdfs, strict=True):
                reference = ctx["letter"]["reference"]
                relative = Path(code) / f.period / f"{reference}.pdf"
                write_atomically(root / relative, content)
                documents[reference] = {
                    "contributor_id": f.contributor_id,
                    "kind": code,
                    "reference": reference,
                    "created_on": day,
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "size": len(content),
                    "path": relative.as_posix(),
                }
            conn.execute(
                _insert(conn, document).on_conflict_do_nothing(
                    index_elements=["kind", "reference"]
                ),
                list(documents.values()),
            )
            doc_ids = dict(
                conn.execute(
                    select(document.c.reference, document.c.id).where(
                        document.c.kind == code, document.c.reference.in_(list(documents))
                    )
                ).all()
            )
        else:
            doc_ids = {}
        rows = []
        for f, ctx in items:
            reference = ctx["letter"]["reference"]
            pay_by = ctx["letter"]["pay_by"]
            rows.append(
                {
                    "contributor_id": f.contributor_id,
                    "period": f.period,
                    "scheme": f.scheme,
                    "step": code,
                    "rank": step.rank,
                    "reached_on": day,
                    "pay_by": date.fromisoformat(pay_by) if pay_by else None,
                    "amount": f.owed,
                    "reference": reference,
                    "document_id": doc_ids.get(reference),
                }
            )
        inserted = conn.execute(
            _insert(conn, collection_step)
            .on_conflict_do_nothing(index_elements=["contributor_id", "period", "step"])
            .returning(collection_step.c.contributor_id, collection_step.c.period),
            rows,
        ).all()
        done[code] = len(inserted)
        if step.interrupts and interrupt is not None:
            for cid, period in inserted:
                reference = ladder_rules.letter_reference(step, int(cid), period)
                interrupt(conn, int(cid), period, step.interrupts, day, f"{code}:{reference}")
    return done


def escalation_step(engine: Engine, day: date, progress: Progress | None = None) -> StepReport:
    """Files whose next step falls due on `day` take it: letter, `collection_step` row, limitation
    interruption; then the day's hand-over files to the commissaire de justice."""
    report = StepReport("escalation")
    rules = load_rules()
    with engine.connect() as conn:
        files, left = due_files(conn, rules, day)
    for kind, n in left.items():
        if n:
            report.add(f"files_{kind}", n)
    from recouvrement.adapters.documents.pdf import render_many

    size = _batch_size()
    batches = [files[i : i + size] for i in range(0, len(files), size)]
    for i, batch in enumerate(batches, 1):
        with UnitOfWork(engine) as uow:
            done = _take(uow.conn, batch, day, render_many)
            audit.record(
                uow.conn,
                ACTOR,
                "collection.escalate",
                "cycle_day",
                day.isoformat(),
                {"steps": done, "files": len(batch), "amount": sum(f.owed for f in batch)},
            )
            uow.commit()
        amounts: dict[str, int] = defaultdict(int)
        for f in batch:
            amounts[f.step.code] += f.owed
        for code, n in done.items():
            report.add(code, n, amounts[code])
        if progress is not None:
            progress(i, len(batches))
    from recouvrement.services.bailiff_handover import write_handover_files

    handed = write_handover_files(engine, day)
    if handed:
        report.add("handover_files", handed)
    return report
