"""The audit plan (plan de contrôle): candidates, the plan signed by both parties, the audits
carried out by the collector, and their adjustments (redressements) posted as debts.

Convention type ISU, art. 4 « Contrôle des cotisants »: the plan « est construit de façon
concertée entre l'URSSAF et la caisse du RSI … La réalisation du plan de contrôle relève de
l'URSSAF ». The plan is a case of type `audit_plan` (activity `audit_plan_definition`): drafted
and submitted by an agent authorized on the activity, approved once a director of each party has
signed (the case engine's joint sign-off, never the submitter: four eyes). Its audits are started
and completed by an agent of a collector (organisation kind `collector`).

An audit's results are principal debts of their own periods, one entry per audit and period
(`audit:<audit id>:<period>`, cause `assessment`, value date the notice), each period carried by a
call of kind `audit_adjustment` issued on the notice (mise en demeure) and due a month later
(CSS R244-1, parameter `audits.notice_payment_months`): the surcharge step applies the audit
regime to it (R243-18 al. 3, R243-17). While an audit runs, escalation of the contributor is held
(hold kind `audit`, source `audit:<id>`).

Mayotte: the CSSM's first employer audits are in 2014 (avenant du 18 décembre 2013, art. 4,
setting `audits.first_year`): a Mayotte contributor is not a candidate of an earlier plan, and an
audit of one dated before 2014 is refused. Adjustments of its pre-2013 periods are allowed
(art. 3.2.1: « recouvrer les redressements suite à contrôle pour les périodes antérieures »).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import Connection, Engine, and_, func, insert, select, update

from recouvrement.adapters.db.audit_plan_tables import audit, audit_adjustment, audit_plan
from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.cycle_tables import payment_incident
from recouvrement.adapters.db.payroll_tables import payroll_declaration, payroll_declaration_line
from recouvrement.adapters.db.tables import (
    account_balance,
    case_table,
    contributor,
    establishment,
    organisation,
)
from recouvrement.agreements.loader import shipped_agreements
from recouvrement.domain import audit_plan as rules
from recouvrement.domain.actors import (
    Actor,
    Permission,
    Role,
    may_reach_contributor,
    require,
    require_contributor,
    system_actor,
)
from recouvrement.domain.errors import Conflict, DomainError, Forbidden, NotFound, Problem
from recouvrement.domain.money import format_euros
from recouvrement.rules.parameters import load_parameters
from recouvrement.services import audit as audit_trail
from recouvrement.services import calls, cases, collection_holds, limitation
from recouvrement.services.ledger import post_entries
from recouvrement.services.unit_of_work import UnitOfWork

RULES_FILE = Path(__file__).parents[1] / "rules" / "audit_risk.yaml"
DEFAULT_AGREEMENT = "isu-region"
MAYOTTE_AGREEMENT = "unedic-mayotte"
AUDIT_KIND = "audit_adjustment"
MAX_CANDIDATES = 1000


@lru_cache(maxsize=4)
def load_criteria(path: Path = RULES_FILE) -> list[rules.RiskCriteria]:
    with open(path, encoding="utf-8") as f:
        return rules.parse_criteria(yaml.safe_load(f), path.name)


def mayotte_first_year() -> int:
    return int(shipped_agreements().resolve(MAYOTTE_AGREEMENT).setting("audits.first_year"))


@contextmanager
def _refusals_audited(engine: Engine, actor: Actor, action: str, object_id: object) -> Iterator:
    """A refused attempt is recorded once its transaction is gone (as the case engine does)."""
    try:
        yield
    except DomainError as err:
        if not audit_trail.refusal_recorded(err):
            codes = ", ".join(sorted({p.code for p in err.problems}))
            audit_trail.record_refusal(
                engine, actor, action, "audit", str(object_id)[:100], f"{codes} : {err}"
            )
            audit_trail.mark_recorded(err)
        raise


# ---------------------------------------------------------------------------------------------
# Candidates


def _population(conn: Connection, actor: Actor) -> list:
    q = select(contributor.c.id, contributor.c.territory, contributor.c.organisation_id)
    if not (actor.is_system or Role.ADMINISTRATOR in actor.roles):
        q = q.where(contributor.c.organisation_id.in_(sorted(actor.reachable_organisation_ids)))
    return conn.execute(q.where(contributor.c.status == "active").order_by(contributor.c.id)).all()


def _principal(table):
    return and_(
        table.c.item.notlike("surcharge%"),
        table.c.item.notlike("penalty%"),
        table.c.item.notin_(["", "credit"]),
    )


def _payroll_by_year(conn: Connection, year: int) -> dict[int, int]:
    """Gross pay declared for the months of `year`, latest version of each declaration."""
    d, line = payroll_declaration, payroll_declaration_line
    latest = (
        select(d.c.establishment_id, d.c.period, func.max(d.c.version).label("version"))
        .where(d.c.period.like(f"{year:04d}-%"))
        .group_by(d.c.establishment_id, d.c.period)
        .subquery()
    )
    rows = conn.execute(
        select(d.c.contributor_id, func.sum(line.c.gross_pay))
        .join(line, line.c.declaration_id == d.c.id)
        .join(latest, and_(latest.c.establishment_id == d.c.establishment_id,
                           latest.c.period == d.c.period, latest.c.version == d.c.version))
        .group_by(d.c.contributor_id)
    )  # fmt: skip
    return {int(cid): int(total or 0) for cid, total in rows}


def account_facts(conn: Connection, ids: Sequence[int], on: date, months: int) -> list:
    """The facts the criteria read, for every contributor of `ids`, set-based."""
    b = account_balance
    overdue = dict(
        conn.execute(
            select(b.c.contributor_id, func.sum(b.c.balance))
            .join(call, and_(call.c.contributor_id == b.c.contributor_id,
                             call.c.period == b.c.period))
            .where(b.c.ledger_account == "receivable", b.c.balance > 0, _principal(b),
                   call.c.due_date < on)
            .group_by(b.c.contributor_id)
        ).all()
    )  # fmt: skip
    since = on - timedelta(days=round(months * 365.25 / 12))
    incidents = dict(
        conn.execute(
            select(payment_incident.c.contributor_id, func.count())
            .where(payment_incident.c.detected_on > since, payment_incident.c.detected_on <= on)
            .group_by(payment_incident.c.contributor_id)
        ).all()
    )
    audited = set(conn.scalars(select(audit.c.contributor_id).where(audit.c.status == "completed")))
    naf: dict[int, list[str]] = defaultdict(list)
    for cid, code in conn.execute(select(establishment.c.contributor_id, establishment.c.naf_code)):
        if code:
            naf[int(cid)].append(code)
    before, last = _payroll_by_year(conn, on.year - 2), _payroll_by_year(conn, on.year - 1)
    return [
        rules.AccountFacts(
            cid,
            overdue_principal=int(overdue.get(cid) or 0),
            incidents=int(incidents.get(cid) or 0),
            payroll_before=before.get(cid, 0),
            payroll_last=last.get(cid, 0),
            audited_before=cid in audited,
            naf_codes=tuple(naf.get(cid, ())),
        )
        for cid in ids
    ]


def _candidates(conn: Connection, actor: Actor, year: int, on: date, limit: int):
    version = rules.criteria_on(load_criteria(), on)
    first_year = mayotte_first_year()
    people = _population(conn, actor)
    allowed = [
        p.id for p in people if rules.mayotte_audit_problem(p.territory, year, first_year) is None
    ]
    facts = account_facts(conn, allowed, on, version.incident_months)
    return version, rules.rank(facts, version, limit)


def candidates(engine: Engine, actor: Actor, year: int, *, on: date, limit: int = 50) -> dict:
    """The contributors the criteria in force on `on` select for a plan of `year`, highest score
    first, with the reasons of each score."""
    require(actor, Permission.AUDITS_PLAN)
    if not 1 <= limit <= MAX_CANDIDATES:
        raise DomainError.single("limit", f"limite entre 1 et {MAX_CANDIDATES}", "bad_limit")
    with engine.connect() as conn:
        version, ranked = _candidates(conn, actor, year, on, limit)
    return {
        "year": year,
        "criteria_from": version.valid_from.isoformat(),
        "min_score": version.min_score,
        "items": [
            {"contributor_id": c.contributor_id, "score": c.score, "reasons": list(c.reasons)}
            for c in ranked
        ],
    }


# ---------------------------------------------------------------------------------------------
# The plan


def draft_plan(
    engine: Engine,
    actor: Actor,
    year: int,
    *,
    on: date,
    limit: int = 50,
    contributor_ids: Sequence[int] | None = None,
    agreement_code: str = DEFAULT_AGREEMENT,
) -> dict:
    """Draft the plan of `year`: the candidates selected (or the contributors named, each scored
    and checked), and the `audit_plan` case to be signed off by both parties."""
    require(actor, Permission.AUDITS_PLAN)
    with _refusals_audited(engine, actor, "audits.plan", year), UnitOfWork(engine) as uow:
        conn = uow.conn
        if conn.scalar(
            select(audit_plan.c.id).where(
                audit_plan.c.agreement == agreement_code, audit_plan.c.year == year
            )
        ):
            raise Conflict.single("year", f"un plan de contrôle {year} existe déjà", "plan_exists")
        if contributor_ids is None:
            version, chosen = _candidates(conn, actor, year, on, limit)
        else:
            version = rules.criteria_on(load_criteria(), on)
            chosen = _named(conn, actor, year, on, contributor_ids, version)
        if not chosen:
            raise DomainError.single("contributor_ids", "aucun cotisant à contrôler", "empty_plan")
        case_id = cases.open_case_in(
            conn,
            actor,
            "audit_plan",
            on=on,
            payload={"year": year, "audits": len(chosen)},
            agreement_code=agreement_code,
        )
        plan_id = conn.execute(
            insert(audit_plan)
            .values(agreement=agreement_code, year=year, case_id=case_id,
                    criteria_from=version.valid_from, created_by=actor.login, created_on=on,
                    created_at=datetime.now(UTC))
            .returning(audit_plan.c.id)
        ).scalar_one()  # fmt: skip
        conn.execute(
            insert(audit),
            [
                {"plan_id": plan_id, "contributor_id": c.contributor_id, "score": c.score,
                 "reasons": list(c.reasons), "status": "planned", "adjusted": 0}
                for c in chosen
            ],
        )  # fmt: skip
        audit_trail.record(
            conn, actor, "audits.plan", "audit_plan", plan_id,
            {"year": year, "case_id": case_id, "audits": len(chosen)},
        )  # fmt: skip
        uow.commit()
    return get_plan(engine, actor, plan_id, on=on)


def _named(conn, actor, year, on, ids, version) -> list[rules.Candidate]:
    rows = {
        r.id: r
        for r in conn.execute(
            select(contributor.c.id, contributor.c.territory, contributor.c.organisation_id).where(
                contributor.c.id.in_(list(ids))
            )
        )
    }
    problems = []
    first_year = mayotte_first_year()
    for i, cid in enumerate(ids):
        row = rows.get(cid)
        if row is None:
            raise NotFound.single(f"contributor_ids[{i}]", f"cotisant {cid} inconnu", "not_found")
        require_contributor(actor, cid, row.organisation_id)
        problem = rules.mayotte_audit_problem(row.territory, year, first_year)
        if problem is not None:
            problems.append(Problem(f"contributor_ids[{i}]", problem.reason, problem.code))
    if problems:
        raise DomainError(*problems)
    out = []
    for f in account_facts(conn, list(dict.fromkeys(ids)), on, version.incident_months):
        points, reasons = rules.score(f, version)
        out.append(rules.Candidate(f.contributor_id, points, tuple(reasons)))
    return out


def _plan_row(conn: Connection, plan_id: int):
    row = conn.execute(
        select(audit_plan, case_table.c.state.label("state"))
        .join(case_table, case_table.c.id == audit_plan.c.case_id)
        .where(audit_plan.c.id == plan_id)
    ).first()
    if row is None:
        raise NotFound.single("plan_id", f"plan de contrôle {plan_id} inconnu", "not_found")
    return row


def _read(actor: Actor) -> None:
    if not {Permission.AUDITS_PLAN, Permission.AUDITS_PERFORM} & actor.permissions():
        require(actor, Permission.AUDITS_PLAN)


def get_plan(engine: Engine, actor: Actor, plan_id: int, *, on: date | None = None) -> dict:
    """The plan, its state (the case's) and its audits within the actor's reach."""
    _read(actor)
    with engine.connect() as conn:
        row = _plan_row(conn, plan_id)
        audits = conn.execute(
            select(audit, contributor.c.organisation_id, contributor.c.name)
            .join(contributor, contributor.c.id == audit.c.contributor_id)
            .where(audit.c.plan_id == plan_id)
            .order_by(audit.c.score.desc(), audit.c.contributor_id)
        ).all()
    return {
        "id": row.id,
        "agreement": row.agreement,
        "year": row.year,
        "case_id": row.case_id,
        "state": row.state,
        "criteria_from": row.criteria_from.isoformat(),
        "created_by": row.created_by,
        "audits": [
            _audit_view(a) for a in audits
            if may_reach_contributor(actor, a.contributor_id, a.organisation_id)
        ],
    }  # fmt: skip


def _audit_view(a) -> dict:
    return {
        "id": a.id,
        "contributor_id": a.contributor_id,
        "name": a.name,
        "score": a.score,
        "reasons": a.reasons,
        "status": a.status,
        "started_on": a.started_on.isoformat() if a.started_on else None,
        "notice_date": a.notice_date.isoformat() if a.notice_date else None,
        "completed_on": a.completed_on.isoformat() if a.completed_on else None,
        "adjusted": a.adjusted,
    }


def move_plan(
    engine: Engine, actor: Actor, plan_id: int, action: str, *, on: date, reason: str = ""
) -> dict:
    """`submit`, `sign_off` (a director of each party), `decline` or `abandon` the plan's case."""
    require(actor, Permission.AUDITS_PLAN)
    with engine.connect() as conn:
        case_id = _plan_row(conn, plan_id).case_id
    data = {"reason": reason} if reason else {}
    cases.transition(engine, actor, case_id, action, on=on, data=data)
    return get_plan(engine, actor, plan_id, on=on)


# ---------------------------------------------------------------------------------------------
# Carrying out an audit


def _load_audit(conn: Connection, audit_id: int):
    row = conn.execute(
        select(audit, contributor.c.territory, contributor.c.organisation_id,
               audit_plan.c.case_id, case_table.c.state.label("plan_state"))
        .join(contributor, contributor.c.id == audit.c.contributor_id)
        .join(audit_plan, audit_plan.c.id == audit.c.plan_id)
        .join(case_table, case_table.c.id == audit_plan.c.case_id)
        .where(audit.c.id == audit_id)
        .with_for_update(of=audit)
    ).first()  # fmt: skip
    if row is None:
        raise NotFound.single("audit_id", f"contrôle {audit_id} inconnu", "not_found")
    return row


def _collector_check(conn: Connection, actor: Actor, row, day: date, year_field: str) -> None:
    """The collector carries the plan out (ISU art. 4); a Mayotte employer from 2014 only."""
    require(actor, Permission.AUDITS_PERFORM)
    if not actor.is_system:
        kind = conn.scalar(
            select(organisation.c.kind).where(organisation.c.id == actor.organisation_id)
        )
        if kind != "collector":
            raise Forbidden.single(
                "", "la réalisation du plan de contrôle relève de l'URSSAF (organisme de "
                "recouvrement) : convention type ISU, art. 4", "not_collector",
            )  # fmt: skip
    require_contributor(actor, row.contributor_id, row.organisation_id)
    problem = rules.mayotte_audit_problem(row.territory, day.year, mayotte_first_year())
    if problem is not None:
        raise DomainError(Problem(year_field, problem.reason, problem.code))


def start_audit(engine: Engine, actor: Actor, audit_id: int, *, on: date) -> dict:
    """Start an audit of an approved plan; escalation of the contributor is held meanwhile."""
    with _refusals_audited(engine, actor, "audits.start", audit_id), UnitOfWork(engine) as uow:
        require(actor, Permission.AUDITS_PERFORM)
        conn = uow.conn
        row = _load_audit(conn, audit_id)
        _collector_check(conn, actor, row, on, "on")
        if row.plan_state != "approved":
            raise Conflict.single(
                "audit_id",
                f"le plan de contrôle n'est pas approuvé par les deux parties (état {row.plan_state})",
                "plan_not_approved",
            )
        if row.status != "planned":
            raise Conflict.single("audit_id", f"contrôle déjà {row.status}", "already_started")
        hold = collection_holds.place_hold(
            conn, row.contributor_id, "audit", f"audit:{audit_id}", on
        )
        conn.execute(
            update(audit)
            .where(audit.c.id == audit_id)
            .values(status="in_progress", started_on=on, started_by=actor.login, hold_id=hold)
        )
        audit_trail.record(conn, actor, "audits.start", "audit", audit_id,
                           {"contributor_id": row.contributor_id, "on": on.isoformat()})  # fmt: skip
        uow.commit()
    return get_audit(engine, actor, audit_id)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def record_results(
    engine: Engine,
    actor: Actor,
    audit_id: int,
    adjustments: Sequence[Mapping],
    *,
    notice_date: date,
) -> dict:
    """Complete an audit: each adjustment line (period, fund, item, amount in euros) is posted as
    a debt of its period, called by a notice of `notice_date`; no line: nothing to adjust."""
    with _refusals_audited(engine, actor, "audits.results", audit_id), UnitOfWork(engine) as uow:
        require(actor, Permission.AUDITS_PERFORM)
        conn = uow.conn
        row = _load_audit(conn, audit_id)
        _collector_check(conn, actor, row, notice_date, "notice_date")
        if row.status != "in_progress":
            raise Conflict.single(
                "audit_id", f"contrôle {row.status} : résultats non attendus", "not_in_progress"
            )
        if notice_date < row.started_on:
            raise DomainError.single(
                "notice_date", "mise en demeure antérieure au début du contrôle", "bad_date"
            )
        lines = rules.parse_adjustments(adjustments) if adjustments else []
        total = _post_adjustments(conn, actor, row, lines, notice_date)
        conn.execute(
            update(audit)
            .where(audit.c.id == audit_id)
            .values(status="completed", notice_date=notice_date, completed_on=notice_date,
                    completed_by=actor.login, adjusted=total)
        )  # fmt: skip
        collection_holds.lift_hold(conn, f"audit:{audit_id}", notice_date)
        audit_trail.record(
            conn, actor, "audits.results", "audit", audit_id,
            {"contributor_id": row.contributor_id, "notice_date": notice_date.isoformat(),
             "adjusted": format_euros(total), "periods": sorted({a.period for a in lines})},
        )  # fmt: skip
        uow.commit()
    return get_audit(engine, actor, audit_id)


def _post_adjustments(conn, actor, row, lines, notice: date) -> int:
    by_period: dict[str, list[rules.Adjustment]] = defaultdict(list)
    for a in lines:
        by_period[a.period].append(a)
    existing = dict(
        conn.execute(
            select(call.c.period, call.c.kind).where(
                call.c.contributor_id == row.contributor_id, call.c.period.in_(list(by_period))
            )
        ).all()
    )
    clashes = [
        Problem("adjustments", f"la période {p} est déjà appelée ({k}) : redresser l'année ou "
                "le trimestre qui la contient", "period_already_called")
        for p, k in sorted(existing.items()) if k != AUDIT_KIND
    ]  # fmt: skip
    if clashes:
        raise Conflict(*clashes)
    months = load_parameters().value("audits.notice_payment_months", notice)
    entries = []
    for period, group in sorted(by_period.items()):
        entries.append(rules.adjustment_entry(row.id, row.contributor_id, period, group, notice))
        call_id = calls.record_call(
            conn,
            contributor_id=row.contributor_id,
            period=period,
            kind=AUDIT_KIND,
            issue_date=notice,
            due_date=_add_months(notice, months),
            delta=sum(a.amount for a in group),
        )
        conn.execute(
            insert(audit_adjustment),
            [
                {"audit_id": row.id, "contributor_id": row.contributor_id, "period": period,
                 "fund": a.fund, "item": a.item, "amount": a.amount,
                 "entry_key": f"audit:{row.id}:{period}", "call_id": call_id}
                for a in group
            ],
        )  # fmt: skip
    if entries:
        post_entries(conn, system_actor(f"contrôle:{actor.login}"), entries)
    for period in sorted(by_period):
        # the contradictory phase suspends the limitation (L244-3 al. 2), the notice interrupts it
        limitation.record_interruption(
            conn, row.contributor_id, period, "audit_contradictory_phase", row.started_on,
            f"audit:{row.id}", until=notice,
        )  # fmt: skip
        limitation.record_interruption(
            conn, row.contributor_id, period, "formal_notice", notice, f"audit:{row.id}"
        )
    return sum(a.amount for a in lines)


def get_audit(engine: Engine, actor: Actor, audit_id: int) -> dict:
    _read(actor)
    with engine.connect() as conn:
        row = conn.execute(
            select(audit, contributor.c.organisation_id, contributor.c.name)
            .join(contributor, contributor.c.id == audit.c.contributor_id)
            .where(audit.c.id == audit_id)
        ).first()
        if row is None:
            raise NotFound.single("audit_id", f"contrôle {audit_id} inconnu", "not_found")
        require_contributor(actor, row.contributor_id, row.organisation_id)
        lines = conn.execute(
            select(audit_adjustment)
            .where(audit_adjustment.c.audit_id == audit_id)
            .order_by(audit_adjustment.c.period, audit_adjustment.c.fund, audit_adjustment.c.item)
        ).all()
    view = _audit_view(row)
    view["plan_id"] = row.plan_id
    view["adjustments"] = [
        {"period": a.period, "fund": a.fund, "item": a.item, "amount": a.amount,
         "entry_key": a.entry_key, "call_id": a.call_id}
        for a in lines
    ]  # fmt: skip
    return view


def completed_audits(engine: Engine, year: int, territory: str | None = None) -> int:
    """Audits completed in `year` (of the territory's contributors): the base of the audit fee
    the fees module bills (amendment art. 7), which it takes as an input until it reads this."""
    q = (
        select(func.count())
        .select_from(audit.join(contributor, contributor.c.id == audit.c.contributor_id))
        .where(
            audit.c.status == "completed",
            audit.c.completed_on.between(date(year, 1, 1), date(year, 12, 31)),
        )
    )
    if territory is not None:
        q = q.where(contributor.c.territory == territory)
    with engine.connect() as conn:
        return int(conn.scalar(q) or 0)
