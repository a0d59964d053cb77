"""The shared queues: listing cases, each organisation's share and backlog, the daily check of the
service commitments, and the absences the balanced assignment respects.

The daily check is one set-based UPDATE: a case breaches its commitment on the first day the check
finds it open, past its due date, with its clock running (ISU agreement art. 5: the operations
committee follows the commitments). Its date is kept, so a later check never counts it again.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, and_, case, func, insert, or_, select, update

from recouvrement.adapters.db.tables import agent, agent_absence, case_table, organisation
from recouvrement.domain import cases as rules
from recouvrement.domain.actors import Actor, Role, system_actor
from recouvrement.domain.errors import DomainError, Forbidden, NotFound, Problem
from recouvrement.services import audit
from recouvrement.services.cases import (
    DEFAULT_AGREEMENT,
    MAX_PAGE,
    _select_case,
    assignable_agents,
    case_view,
    resolve_agreement,
)
from recouvrement.services.unit_of_work import UnitOfWork


def _require_agent(actor: Actor) -> None:
    if actor.is_contributor or (not actor.is_system and actor.organisation_id is None):
        raise Forbidden(Problem("", "réservé aux agents des organismes", "forbidden"))


def _overdue(on: date):
    """Open, past its due date, and not paused since before that date (the clock was running)."""
    return and_(
        case_table.c.closed_on.is_(None),
        case_table.c.due_on < on,
        or_(case_table.c.paused_since.is_(None), case_table.c.paused_since > case_table.c.due_on),
    )


def list_cases(
    engine: Engine,
    actor: Actor,
    *,
    on: date,
    case_type: str | None = None,
    state: str | None = None,
    activity: str | None = None,
    assignee: str | None = None,
    owner: str | None = None,
    contributor_id: int | None = None,
    priority: str | None = None,
    open_only: bool | None = None,
    breached: bool | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    after: int | None = None,
) -> dict:
    """A page of the cases the actor may reach, by ascending id; `next` is the cursor."""
    _require_agent(actor)
    if not 1 <= limit <= MAX_PAGE:
        raise DomainError.single("limit", f"limit doit être entre 1 et {MAX_PAGE}", "bad_limit")
    conds = []
    if not actor.is_system:
        conds.append(
            case_table.c.owner_organisation_id.in_(sorted(actor.reachable_organisation_ids))
        )
    if case_type:
        conds.append(case_table.c.case_type == rules.parse_case_type(case_type).value)
    if priority:
        conds.append(case_table.c.priority == rules.parse_priority(priority).value)
    if state:
        conds.append(case_table.c.state == state)
    if activity:
        conds.append(case_table.c.activity == activity)
    if owner:
        conds.append(organisation.c.code == owner)
    if contributor_id is not None:
        conds.append(case_table.c.contributor_id == contributor_id)
    if open_only is not None:
        conds.append(
            case_table.c.closed_on.is_(None) if open_only else case_table.c.closed_on.is_not(None)
        )
    if breached is not None:
        conds.append(
            case_table.c.breached_on.is_not(None)
            if breached
            else case_table.c.breached_on.is_(None)
        )
    if overdue is not None:
        # A case without a due date (a referral) is never overdue; NOT of its NULL would hide it.
        conds.append(_overdue(on) if overdue else or_(case_table.c.due_on.is_(None), ~_overdue(on)))
    if assignee:
        conds.append(
            case_table.c.assignee_id
            == select(agent.c.id).where(agent.c.login == assignee).scalar_subquery()
        )
    base = _select_case().where(*conds)
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(base.subquery()))
        page = base.where(case_table.c.id > after) if after is not None else base
        rows = conn.execute(page.order_by(case_table.c.id).limit(limit + 1)).mappings().all()
    items = [case_view(r, on) for r in rows[:limit]]
    nxt = str(items[-1]["id"]) if len(rows) > limit else None
    return {"items": items, "total": total, "next": nxt}


def queue_report(
    engine: Engine,
    actor: Actor,
    *,
    on: date,
    agreement_code: str = DEFAULT_AGREEMENT,
    as_of: date | None = None,
) -> dict:
    """Per queue (activity): each organisation's share of the open cases, backlog, cases overdue
    on `on`, breaches recorded, and the agents available; the gap between the two shares is
    compared with the agreement's workload-balance target.

    `as_of` is the date the agreement is read at (default `on`), for a region whose agreement has
    since ended."""
    _require_agent(actor)
    agreement = resolve_agreement(agreement_code, as_of or on)
    target = next(
        (t.target for t in agreement.agreement.targets if t.indicator == "workload_balance"), None
    )
    open_ = case_table.c.closed_on.is_(None)
    query = (
        select(
            case_table.c.activity,
            organisation.c.code,
            func.count().label("open"),
            func.sum(case((case_table.c.assignee_id.is_(None), 1), else_=0)).label("unassigned"),
            func.sum(case((case_table.c.paused_since.is_not(None), 1), else_=0)).label("paused"),
            func.sum(case((_overdue(on), 1), else_=0)).label("overdue"),
            func.sum(case((case_table.c.breached_on.is_not(None), 1), else_=0)).label("breached"),
        )
        .join(organisation, organisation.c.id == case_table.c.owner_organisation_id)
        .where(open_, case_table.c.agreement == agreement_code)
        .group_by(case_table.c.activity, organisation.c.code)
    )
    if not actor.is_system:
        query = query.where(
            case_table.c.owner_organisation_id.in_(sorted(actor.reachable_organisation_ids))
        )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        queues = []
        for activity in sorted({r["activity"] for r in rows}):
            mine = [r for r in rows if r["activity"] == activity]
            total = sum(r["open"] for r in mine)
            orgs = rules.activity_organisations(agreement, activity)
            team = assignable_agents(conn, agreement, activity, on)
            by_org = {r["code"]: r for r in mine}
            organisations = []
            for code in sorted(set(orgs) | set(by_org)):
                r = by_org.get(code)
                count = r["open"] if r else 0
                organisations.append(
                    {
                        "organisation": code,
                        "open": count,
                        "share": round(count / total, 4) if total else 0.0,
                        "unassigned": int(r["unassigned"]) if r else 0,
                        "paused": int(r["paused"]) if r else 0,
                        "overdue": int(r["overdue"]) if r else 0,
                        "breached": int(r["breached"]) if r else 0,
                        "agents_available": sum(a["organisation_code"] == code for a in team),
                    }
                )
            shares = [o["share"] for o in organisations if o["organisation"] in orgs]
            gap = round(max(shares) - min(shares), 4) if len(shares) > 1 else 0.0
            queues.append(
                {
                    "activity": activity,
                    "open": total,
                    "organisations": organisations,
                    "balance_gap": gap,
                    "balance_target": target,
                    "balanced": target is None or gap <= float(target),
                }
            )
    return {
        "on": on.isoformat(),
        "agreement": agreement_code,
        "queues": queues,
        "open": sum(q["open"] for q in queues),
        "overdue": sum(o["overdue"] for q in queues for o in q["organisations"]),
    }


def check_commitments(engine: Engine, on: date, actor: Actor | None = None) -> dict:
    """The daily cycle's check: mark every case breaching its commitment on `on`; set-based.

    Returns the counts: open cases, paused ones, breaches found today, breaches open in all."""
    actor = actor or system_actor("cycle quotidien")
    if not actor.is_system:
        raise Forbidden(Problem("", "contrôle réservé au cycle quotidien", "forbidden"))
    with UnitOfWork(engine) as uow:
        found = uow.conn.execute(
            update(case_table)
            .where(_overdue(on), case_table.c.breached_on.is_(None))
            .values(breached_on=on)
        ).rowcount
        counts = (
            uow.conn.execute(
                select(
                    func.count().label("open"),
                    func.coalesce(
                        func.sum(case((case_table.c.paused_since.is_not(None), 1), else_=0)), 0
                    ).label("paused"),
                    func.coalesce(
                        func.sum(case((case_table.c.breached_on.is_not(None), 1), else_=0)), 0
                    ).label("breached"),
                ).where(case_table.c.closed_on.is_(None))
            )
            .mappings()
            .one()
        )
        result = {
            "on": on.isoformat(),
            "open": int(counts["open"]),
            "paused": int(counts["paused"]),
            "new_breaches": int(found),
            "breached": int(counts["breached"]),
        }
        audit.record(uow.conn, actor, "case.check_commitments", "day", on.isoformat(), result)
        uow.commit()
    return result


def add_absence(
    engine: Engine,
    actor: Actor,
    agent_login: str,
    starts_on: date,
    ends_on: date,
    reason: str = "",
) -> int:
    """Record an agent's absence; the queue gives them nothing on those days (first and last
    included). A manager records the absences of their own organisation's agents."""
    try:
        if ends_on < starts_on:
            raise DomainError.single("ends_on", "fin d'absence avant son début", "bad_period")
        with UnitOfWork(engine) as uow:
            row = uow.conn.execute(
                select(agent.c.id, agent.c.organisation_id).where(agent.c.login == agent_login)
            ).first()
            if row is None:
                raise NotFound.single("agent", f"agent inconnu : {agent_login}", "not_found")
            if not actor.is_system and not (
                Role.MANAGER in actor.roles and actor.organisation_id == row.organisation_id
            ):
                raise Forbidden(
                    Problem(
                        "agent",
                        "seul un responsable de l'organisme de l'agent enregistre ses absences",
                        "forbidden",
                    )
                )
            aid = uow.conn.execute(
                insert(agent_absence).values(
                    agent_id=row.id, starts_on=starts_on, ends_on=ends_on, reason=reason[:255]
                )
            ).inserted_primary_key[0]
            audit.record(
                uow.conn,
                actor,
                "agent.absence",
                "agent",
                agent_login,
                {"from": starts_on.isoformat(), "to": ends_on.isoformat()},
            )
            uow.commit()
    except DomainError as err:
        audit.record_refusal(engine, actor, "agent.absence", "agent", agent_login, str(err))
        audit.mark_recorded(err)
        raise
    return aid
