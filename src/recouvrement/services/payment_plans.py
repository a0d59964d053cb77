"""Payment plans (délais de paiement): request, examination, grant or refusal, follow-up.

CSS art. R243-21 gives the director the power to grant delays once the employee contributions are
paid; the joint organisation's agents examine the requests by delegation (ISU agreement art. 4,
activity `payment_plan_requests`, with its service commitment). A request is a case of type
`payment_plan` and a row of `payment_plan`; the case closes with the decision, the plan lives on:

- request (the contributor on their portal, for their own account only, or an agent): the request
  interrupts limitation (`services/limitation.record_interruption`, event
  `payment_plan_request`, one per period owed);
- examination: the conditions of `rules/parameters/payment_plans.yaml` (domain/payment_plans.py);
  a failed condition refuses the request with its reasons, named in French;
- grant: the debts due that day, spread monthly (exact cents, remainder on the last instalment,
  business days of the territory); a `payment_plan` hold suspends escalation
  (`services/collection_holds`); the schedule letter is produced (template `payment_plan`);
- follow-up, by the daily cycle (`payment_plans_step`): instalments paid as the payments since the
  grant cover the schedule; an instalment still uncovered after the grace period lapses the plan
  and lifts the hold, so escalation resumes; the last one covered completes it.

Late surcharges are not suspended (see domain/payment_plans.py).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, and_, exists, func, insert, select, update

from recouvrement.adapters.db.call_tables import self_employed_year
from recouvrement.adapters.db.cycle_tables import document
from recouvrement.adapters.db.payment_plan_tables import payment_plan, payment_plan_instalment
from recouvrement.adapters.db.payroll_tables import payroll_declaration
from recouvrement.adapters.db.tables import (
    agent,
    case_event,
    case_table,
    contributor,
    journal_posting,
    organisation,
)
from recouvrement.domain import cases as case_rules
from recouvrement.domain import payment_plans as rules
from recouvrement.domain.actors import (
    Actor,
    Permission,
    require,
    require_contributor,
    system_actor,
)
from recouvrement.domain.allocation import Debt
from recouvrement.domain.calendars import calendar_for
from recouvrement.domain.errors import Conflict, DomainError, Forbidden, NotFound, Problem
from recouvrement.domain.payment_reference import account_reference
from recouvrement.rules.parameters import ParameterError, load_parameters
from recouvrement.services import audit, cases, collection_holds
from recouvrement.services.allocation import open_debts
from recouvrement.services.call_issuing import documents_dir
from recouvrement.services.daily_cycle_report import Progress, StepReport
from recouvrement.services.unit_of_work import UnitOfWork

KIND = "payment_plan"
BATCH = 500
CYCLE = system_actor("cycle quotidien")


def parameter(name: str, on: date, territory: str):
    try:
        return load_parameters().value(f"payment_plans.{name}", on, territory)
    except ParameterError as err:
        raise DomainError.single("on", str(err), "no_parameter") from None


def plan_rules(on: date, territory: str) -> rules.Rules:
    items = parameter("employee_share_items", on, territory) or ""
    return rules.Rules(
        max_months=parameter("max_months", on, territory),
        employee_share_required=bool(parameter("employee_share_paid_required", on, territory)),
        employee_share_items=frozenset(i.strip() for i in items.split(",") if i.strip()),
        declarations_required=bool(parameter("declarations_required", on, territory)),
    )


def hold_source(plan_id: int) -> str:
    return f"payment_plan:{plan_id}"


def _contributor(conn: Connection, contributor_id: int):
    row = conn.execute(
        select(contributor, organisation.c.code.label("org_code"), organisation.c.name.label("org"))
        .join(organisation, organisation.c.id == contributor.c.organisation_id)
        .where(contributor.c.id == contributor_id)
    ).first()
    if row is None:
        raise NotFound.single("contributor_id", f"cotisant {contributor_id} inconnu", "not_found")
    return row


# ---------------------------------------------------------------------------------------------
# Conditions read from the account


def _add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + n
    return index // 12, index % 12 + 1


def missing_declarations(conn: Connection, who, on: date) -> list[str]:
    """Periods (employers: months; self-employed: years) whose declaration is due by `on` and not
    filed, within the look-back of the parameters."""
    if who.kind == "employer":
        filed = set(
            conn.scalars(
                select(payroll_declaration.c.period)
                .where(payroll_declaration.c.contributor_id == who.id)
                .distinct()
            )
        )
        first = min(filed) if filed else None
        if who.activity_start is not None:
            first = f"{who.activity_start.year:04d}-{who.activity_start.month:02d}"
        if first is None:
            return []
        deadline_day = parameter("declaration_deadline_day", on, who.territory)
        back = _add_months(
            on.year, on.month, -parameter("declarations_lookback_months", on, who.territory)
        )
        year, month = max((int(first[:4]), int(first[5:7])), back)
        out = []
        while True:
            ny, nm = _add_months(year, month, 1)
            if date(ny, nm, deadline_day) >= on:
                return out
            if f"{year:04d}-{month:02d}" not in filed:
                out.append(f"{year:04d}-{month:02d}")
            year, month = ny, nm
    years = conn.execute(
        select(self_employed_year.c.year).where(
            self_employed_year.c.contributor_id == who.id,
            self_employed_year.c.declared_income.is_(None),
        )
    ).scalars()
    out = []
    for year in sorted(years):
        if year >= on.year:
            continue
        known = load_parameters().value(
            "self_employed.income_declaration.online_deadline", date(year + 1, 1, 1), who.territory
        )
        if known:
            deadline = date.fromisoformat(known)
        else:
            month_day = parameter("income_declaration_fallback", on, who.territory)
            deadline = date.fromisoformat(f"{year + 1}-{month_day}")
        if deadline < on:
            out.append(str(year))
    return out


def _examination(conn: Connection, who, months: int, on: date) -> tuple[list[Debt], list[Problem]]:
    debts = rules.covered_debts(open_debts(conn, who.id, as_of=on), on)
    problems = rules.examine(
        employer=who.kind == "employer",
        months=months,
        debts=debts,
        missing_declarations=missing_declarations(conn, who, on),
        rules=plan_rules(on, who.territory),
    )
    return debts, problems


def _record_interruption(conn: Connection, contributor_id: int, periods, on: date, source: str):
    """A request for delays interrupts limitation (issue #6, Limitation); the limitation module is
    another area's: when it is not installed, nothing is recorded and the request says so."""
    try:
        from recouvrement.services import limitation
    except ModuleNotFoundError as err:
        if err.name != "recouvrement.services.limitation":
            raise
        return False
    for period in sorted(periods):
        limitation.record_interruption(
            conn, contributor_id, period, "payment_plan_request", on, source
        )
    return True


# ---------------------------------------------------------------------------------------------
# Request


def request_plan(
    engine: Engine,
    actor: Actor,
    contributor_id: int,
    *,
    months: int,
    on: date,
    reason: str = "",
) -> dict:
    """Ask for delays over `months` months, received on `on`."""
    with cases.refusals_audited(engine, actor, "payment_plan.request", contributor_id):
        require(actor, Permission.PAYMENT_PLANS_REQUEST)
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            who = _contributor(conn, contributor_id)
            require_contributor(actor, who.id, who.organisation_id)
            months = rules.check_months(months)
            by_agent = not actor.is_contributor
            # The portal's request is opened by the system on the contributor's behalf: a
            # contributor holds no authorization on the joint organisation's activity.
            opener = actor if by_agent else system_actor(f"portail:{actor.login}")
            case_id = cases.open_case_in(
                conn,
                opener,
                KIND,
                on=on,
                payload={"months": months, "requested_by": actor.login},
                contributor_id=contributor_id,
            )
            plan_id = conn.execute(
                insert(payment_plan).values(
                    case_id=case_id,
                    contributor_id=contributor_id,
                    status="requested",
                    months=months,
                    requested_on=on,
                    requested_by=actor.login,
                    reason=(reason or "").strip()[:500],
                    created_at=datetime.now(UTC),
                )
            ).inserted_primary_key[0]
            periods = {d.period for d in rules.covered_debts(open_debts(conn, who.id, on), on)}
            interrupted = _record_interruption(
                conn, contributor_id, periods, on, f"payment_plan:{plan_id}"
            )
            audit.record(
                conn,
                actor,
                "payment_plan.request",
                "payment_plan",
                plan_id,
                {
                    "contributor_id": contributor_id,
                    "case_id": case_id,
                    "months": months,
                    "limitation_interrupted": sorted(periods) if interrupted else None,
                },
            )
            uow.commit()
    return get_plan(engine, actor, plan_id)


# ---------------------------------------------------------------------------------------------
# Examination and decision


def _load(conn: Connection, plan_id: int, for_update: bool = False) -> dict:
    query = (
        select(
            payment_plan,
            case_table.c.state.label("case_state"),
            case_table.c.activity,
            case_table.c.agreement,
            case_table.c.opened_on,
            case_table.c.owner_organisation_id,
            case_table.c.last_event_on,
            agent.c.login.label("assignee"),
        )
        .join(case_table, case_table.c.id == payment_plan.c.case_id)
        .outerjoin(agent, agent.c.id == case_table.c.assignee_id)
        .where(payment_plan.c.id == plan_id)
    )
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update(of=payment_plan)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound.single("plan_id", f"échéancier {plan_id} inconnu", "not_found")
    return dict(row)


STATUS_FR = {
    "requested": "demandé",
    "eligible": "recevable",
    "refused": "refusé",
    "granted": "accordé",
    "lapsed": "caduc",
    "completed": "soldé",
}


def _prepare(conn: Connection, actor: Actor, plan_id: int, states: tuple[str, ...], on: date):
    """The plan locked, in a state the act allows, its case workable by the actor on `on`."""
    row = _load(conn, plan_id, for_update=True)
    who = _contributor(conn, row["contributor_id"])
    require_contributor(actor, who.id, who.organisation_id)
    if row["status"] not in states or row["case_state"] not in states:
        state = STATUS_FR.get(row["status"], row["status"])
        if row["case_state"] == case_rules.WAITING:
            state = "en attente du cotisant"
        raise Conflict.single("plan_id", f"l'échéancier {plan_id} est {state}", "wrong_state")
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
    return row, who


def _case_step(
    conn: Connection, actor: Actor, row: Mapping, action: str, to_state: str, on: date, note: str
) -> None:
    closes = to_state in ("refused", "granted")
    conn.execute(
        update(case_table)
        .where(case_table.c.id == row["case_id"])
        .values(state=to_state, last_event_on=on, **({"closed_on": on} if closes else {}))
    )
    conn.execute(
        insert(case_event).values(
            case_id=row["case_id"],
            action=action,
            actor=actor.login,
            from_state=row["case_state"],
            to_state=to_state,
            on=on,
            at=datetime.now(UTC),
            note=(note or "")[:10_000],
            detail={"plan_id": row["id"]},
        )
    )


def _problems(problems) -> list[dict]:
    return [{"field": p.field, "reason": p.reason, "code": p.code} for p in problems]


def examine_plan(engine: Engine, actor: Actor, plan_id: int, *, on: date) -> dict:
    """Examine the request on `on`: a failed condition refuses it, with every reason."""
    with cases.refusals_audited(engine, actor, "payment_plan.examine", plan_id):
        require(actor, Permission.PAYMENT_PLANS_DECIDE)
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            row, who = _prepare(conn, actor, plan_id, ("requested",), on)
            _debts, problems = _examination(conn, who, row["months"], on)
            status = "refused" if problems else "eligible"
            conn.execute(
                update(payment_plan)
                .where(payment_plan.c.id == plan_id)
                .values(
                    status=status,
                    examined_on=on,
                    problems=_problems(problems),
                    **({"decided_on": on, "decided_by": actor.login} if problems else {}),
                )
            )
            note = "; ".join(p.reason for p in problems)
            _case_step(conn, actor, row, "examine", status, on, note)
            audit.record(
                conn,
                actor,
                "payment_plan.examine",
                "payment_plan",
                plan_id,
                {"status": status, "problems": [p.code for p in problems]},
            )
            uow.commit()
    return get_plan(engine, actor, plan_id)


def refuse_plan(engine: Engine, actor: Actor, plan_id: int, *, on: date, reason: str) -> dict:
    """Refuse the request with a reason (e.g. guarantees judged insufficient, R243-21)."""
    with cases.refusals_audited(engine, actor, "payment_plan.refuse", plan_id):
        require(actor, Permission.PAYMENT_PLANS_DECIDE)
        reason = (reason or "").strip()
        if not reason:
            raise DomainError.single("reason", "le motif du refus est obligatoire", "required")
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            row, _who = _prepare(conn, actor, plan_id, ("requested", "eligible"), on)
            problem = {"field": "decision", "reason": reason[:500], "code": "refused_by_director"}
            conn.execute(
                update(payment_plan)
                .where(payment_plan.c.id == plan_id)
                .values(
                    status="refused",
                    decided_on=on,
                    decided_by=actor.login,
                    problems=[*(row["problems"] or []), problem],
                )
            )
            _case_step(conn, actor, row, "refuse", "refused", on, reason)
            audit.record(
                conn, actor, "payment_plan.refuse", "payment_plan", plan_id, {"reason": reason}
            )
            uow.commit()
    return get_plan(engine, actor, plan_id)


def grant_plan(
    engine: Engine,
    actor: Actor,
    plan_id: int,
    *,
    on: date,
    months: int | None = None,
    note: str = "",
) -> dict:
    """Grant an eligible request on `on`: the schedule over `months` (default: the length asked),
    the hold on escalation, the schedule letter. The conditions are checked again that day."""
    with cases.refusals_audited(engine, actor, "payment_plan.grant", plan_id):
        require(actor, Permission.PAYMENT_PLANS_DECIDE)
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            row, who = _prepare(conn, actor, plan_id, ("eligible",), on)
            length = rules.check_months(months if months is not None else row["months"])
            debts, problems = _examination(conn, who, length, on)
            if problems:
                raise DomainError(*problems)
            total = sum(d.amount for d in debts)
            cal = calendar_for(who.territory)
            day = parameter("instalment_day", on, who.territory)
            instalments = rules.schedule(total, length, on, day, cal)
            grace = parameter("grace_days", on, who.territory)
            conn.execute(
                insert(payment_plan_instalment),
                [
                    {
                        "plan_id": plan_id,
                        "contributor_id": who.id,
                        "rank": i.rank,
                        "due_date": i.due_date,
                        "amount": i.amount,
                        "cumulative": i.cumulative,
                    }
                    for i in instalments
                ],
            )
            hold_id = collection_holds.place_hold(conn, who.id, KIND, hold_source(plan_id), on)
            covered = [
                {
                    "fund": d.fund,
                    "item": d.item,
                    "period": d.period,
                    "due_date": d.due_date.isoformat(),
                    "amount": d.amount,
                }
                for d in debts
            ]
            reference = f"ECH-{plan_id:08d}"
            values = {
                "status": "granted",
                "months": len(instalments),
                "decided_on": on,
                "decided_by": actor.login,
                "total": total,
                "debts": covered,
                "grace_days": grace,
                "hold_id": hold_id,
                "document_reference": reference,
            }
            conn.execute(update(payment_plan).where(payment_plan.c.id == plan_id).values(**values))
            _store_letter(conn, who, {**row, **values}, covered, instalments, on)
            _case_step(conn, actor, row, "grant", "granted", on, note)
            audit.record(
                conn,
                actor,
                "payment_plan.grant",
                "payment_plan",
                plan_id,
                {"total": total, "instalments": len(instalments), "hold_id": hold_id},
            )
            uow.commit()
    return get_plan(engine, actor, plan_id)


def letter_context(who, plan: Mapping, covered, instalments, on: date) -> dict:
    """The context of the `payment_plan` template (keys listed at the template's top)."""
    employer = who.kind == "employer"
    return {
        "document_date": on.isoformat(),
        "organisation": {"code": who.org_code, "name": who.org},
        "contributor": {
            "id": who.id,
            "name": who.name,
            "address_lines": [x.strip() for x in (who.address or "").splitlines() if x.strip()],
            "identifier_label": "SIREN" if employer else "N° de sécurité sociale",
            "identifier": (who.siren if employer else who.nir) or "",
        },
        "plan": {
            "id": plan["id"],
            "reference": plan["document_reference"],
            "requested_on": plan["requested_on"].isoformat(),
            "granted_on": on.isoformat(),
            "months": len(instalments),
            "total": plan["total"],
            "grace_days": plan["grace_days"],
        },
        "debts": list(covered),
        "instalments": [
            {"rank": i.rank, "due_date": i.due_date.isoformat(), "amount": i.amount}
            for i in instalments
        ],
        "payment_reference": account_reference(who.id),
    }


def _store_letter(conn: Connection, who, plan: Mapping, covered, instalments, on: date) -> None:
    from recouvrement.adapters.documents.pdf import render_pdf

    content = render_pdf(KIND, letter_context(who, plan, covered, instalments, on))
    relative = Path(KIND) / f"{plan['document_reference']}.pdf"
    path = documents_dir() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    conn.execute(
        insert(document).values(
            contributor_id=who.id,
            kind=KIND,
            reference=plan["document_reference"],
            created_on=on,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            path=relative.as_posix(),
        )
    )


# ---------------------------------------------------------------------------------------------
# Reading


def _view(conn: Connection, row: Mapping) -> dict:
    instalments = conn.execute(
        select(payment_plan_instalment)
        .where(payment_plan_instalment.c.plan_id == row["id"])
        .order_by(payment_plan_instalment.c.rank)
    ).mappings()
    iso = lambda d: d.isoformat() if d is not None else None  # noqa: E731
    return {
        "id": row["id"],
        "case_id": row["case_id"],
        "contributor_id": row["contributor_id"],
        "status": row["status"],
        "case_state": row["case_state"],
        "months": row["months"],
        "requested_on": iso(row["requested_on"]),
        "requested_by": row["requested_by"],
        "assignee": row.get("assignee"),
        "examined_on": iso(row["examined_on"]),
        "problems": row["problems"] or [],
        "decided_on": iso(row["decided_on"]),
        "decided_by": row["decided_by"],
        "total": row["total"],
        "unit": "cents",
        "debts": row["debts"] or [],
        "grace_days": row["grace_days"],
        "hold_id": row["hold_id"],
        "document_reference": row["document_reference"],
        "lapsed_on": iso(row["lapsed_on"]),
        "completed_on": iso(row["completed_on"]),
        "instalments": [
            {
                "rank": i["rank"],
                "due_date": iso(i["due_date"]),
                "amount": i["amount"],
                "paid_on": iso(i["paid_on"]),
            }
            for i in instalments
        ],
    }


def _require_reader(conn: Connection, actor: Actor, row: Mapping) -> None:
    require(actor, Permission.LEDGER_READ)
    who = _contributor(conn, row["contributor_id"])
    try:
        require_contributor(actor, who.id, who.organisation_id)
    except Forbidden:
        raise Forbidden(
            Problem("plan_id", "cet échéancier n'est pas accessible", "forbidden")
        ) from None


def get_plan(engine: Engine, actor: Actor, plan_id: int) -> dict:
    """A plan as its contributor or an agent in reach sees it."""
    with engine.connect() as conn:
        row = _load(conn, plan_id)
        _require_reader(conn, actor, row)
        return _view(conn, row)


def list_plans(
    engine: Engine,
    actor: Actor,
    *,
    contributor_id: int | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[dict]:
    """Plans in the actor's reach, newest first; a contributor sees only their own."""
    require(actor, Permission.LEDGER_READ)
    if actor.is_contributor:
        contributor_id = actor.contributor_id
    query = select(payment_plan.c.id).order_by(payment_plan.c.id.desc())
    if contributor_id is not None:
        query = query.where(payment_plan.c.contributor_id == contributor_id)
    if status:
        query = query.where(payment_plan.c.status == status)
    out = []
    with engine.connect() as conn:
        for plan_id in conn.scalars(query.limit(max(1, min(limit, 1000)))):
            row = _load(conn, plan_id)
            try:
                _require_reader(conn, actor, row)
            except Forbidden:
                continue
            out.append(_view(conn, row))
    return out


def plan_letter(engine: Engine, actor: Actor, plan_id: int) -> bytes:
    """The schedule letter's PDF, as stored when the plan was granted."""
    with engine.connect() as conn:
        row = _load(conn, plan_id)
        _require_reader(conn, actor, row)
        path = conn.scalar(
            select(document.c.path).where(
                document.c.kind == KIND, document.c.reference == row["document_reference"]
            )
        )
    if path is None:
        raise NotFound.single("plan_id", "aucun échéancier envoyé pour ce dossier", "not_found")
    return (documents_dir() / path).read_bytes()


# ---------------------------------------------------------------------------------------------
# Daily follow-up


def _payments(conn: Connection, contributor_ids: list[int], after: date, day: date):
    """Net payments per contributor and value date in (after, day): the receivable movement of
    the entries that move the bank (receipts, less their reversals); allocations, surcharges and
    declarations do not touch the bank and are not payments."""
    p, b = journal_posting, journal_posting.alias("b")
    moves_bank = exists().where(and_(b.c.entry_id == p.c.entry_id, b.c.ledger_account == "bank"))
    rows = conn.execute(
        select(p.c.contributor_id, p.c.value_date, func.sum(p.c.amount))
        .where(
            p.c.ledger_account == "receivable",
            p.c.contributor_id.in_(contributor_ids),
            p.c.value_date > after,
            p.c.value_date < day,
            moves_bank,
        )
        .group_by(p.c.contributor_id, p.c.value_date)
    )
    out: dict[int, list[tuple[date, int]]] = {}
    for cid, value_date, amount in rows:
        out.setdefault(cid, []).append((value_date, -int(amount)))
    return out


def payment_plans_step(engine: Engine, day: date, progress: Progress | None = None) -> StepReport:
    """Follow the granted plans on `day` (see the module's docstring). Judgements are made as of
    each instalment's deadline and every update is conditioned on the state it expects, so a
    re-run or a catch-up over several days ends in the same state."""
    report = StepReport("payment_plans")
    with engine.connect() as conn:
        ids = list(
            conn.scalars(
                select(payment_plan.c.id)
                .where(payment_plan.c.status == "granted", payment_plan.c.decided_on < day)
                .order_by(payment_plan.c.id)
            )
        )
    for start in range(0, len(ids), BATCH):
        with UnitOfWork(engine) as uow:
            _follow_batch(uow.conn, ids[start : start + BATCH], day, report)
            uow.commit()
        if progress is not None:
            progress(min(start + BATCH, len(ids)), len(ids))
    return report


def _follow_batch(conn: Connection, ids: list[int], day: date, report: StepReport) -> None:
    plans = conn.execute(select(payment_plan).where(payment_plan.c.id.in_(ids))).mappings().all()
    schedules: dict[int, list] = {}
    for i in conn.execute(
        select(payment_plan_instalment)
        .where(payment_plan_instalment.c.plan_id.in_(ids))
        .order_by(payment_plan_instalment.c.plan_id, payment_plan_instalment.c.rank)
    ).mappings():
        schedules.setdefault(i["plan_id"], []).append(i)
    after = min(p["decided_on"] for p in plans)
    payments = _payments(conn, sorted({p["contributor_id"] for p in plans}), after, day)
    for plan in plans:
        rows = schedules.get(plan["id"], [])
        instalments = [
            rules.Instalment(r["rank"], r["due_date"], r["amount"], r["cumulative"]) for r in rows
        ]
        mine = [
            (d, a) for d, a in payments.get(plan["contributor_id"], []) if d > plan["decided_on"]
        ]
        result = rules.follow_up(instalments, mine, day, plan["grace_days"])
        report.add("payment_plans_followed")
        for r in rows:
            paid_on = result.paid.get(r["rank"])
            if paid_on is not None and r["paid_on"] is None:
                conn.execute(
                    update(payment_plan_instalment)
                    .where(payment_plan_instalment.c.id == r["id"])
                    .values(paid_on=paid_on)
                )
                report.add("plan_instalments_paid", 1, r["amount"])
        ended = result.lapsed_on or result.completed_on
        if ended is None:
            continue
        status = "lapsed" if result.lapsed_on else "completed"
        done = conn.execute(
            update(payment_plan)
            .where(payment_plan.c.id == plan["id"], payment_plan.c.status == "granted")
            .values(status=status, **{f"{status}_on": ended})
        ).rowcount
        if not done:
            continue
        lifted = collection_holds.lift_hold(conn, hold_source(plan["id"]), ended)
        unpaid = plan["total"] - sum(r["amount"] for r in rows if r["rank"] in result.paid)
        report.add(f"payment_plans_{status}", 1, unpaid if status == "lapsed" else plan["total"])
        audit.record(
            conn,
            CYCLE,
            f"payment_plan.{'lapse' if status == 'lapsed' else 'complete'}",
            "payment_plan",
            plan["id"],
            {"on": ended.isoformat(), "holds_lifted": lifted, "unpaid_instalments": unpaid},
        )
