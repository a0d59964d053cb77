"""Keeping and reporting the convergence action plan (Mayotte amendment art. 10).

The party that runs the agreement's `convergence_plan` activity (the central agency) keeps the plan;
every party of the agreement may read it and its report, since the report is owed to them. An
action's history is append-only, so the report on any past day is reproducible.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, insert, select

from recouvrement.adapters.db.action_plan_tables import (
    action_plan_event,
    action_plan_item,
    action_plan_presentation,
)
from recouvrement.agreements.loader import AgreementError, shipped_agreements
from recouvrement.agreements.model import ResolvedAgreement
from recouvrement.domain import action_plan as plan
from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.errors import Conflict, DomainError, Forbidden, NotFound, Problem
from recouvrement.services import audit
from recouvrement.services.unit_of_work import UnitOfWork

ACTIVITY = "convergence_plan"
_KEEPERS = frozenset({Role.MANAGER, Role.DIRECTOR, Role.ACCOUNTING_OFFICER})


def _agreement(code: str, on: date) -> ResolvedAgreement:
    try:
        registry = shipped_agreements()
        start = max(on, registry.get(code).valid_from)
        return registry.resolve(code, start)
    except AgreementError as err:
        raise NotFound.single("agreement", str(err), "unknown_agreement") from None


def _keeper_of(agreement: ResolvedAgreement) -> str:
    if ACTIVITY in agreement.activities:
        return agreement.activities[ACTIVITY][0].run_by
    raise DomainError.single(
        "agreement",
        f"la convention {agreement.agreement.code} ne prévoit pas de plan d'actions de convergence",
        "no_action_plan",
    )


def _parties(agreement: ResolvedAgreement) -> set[str]:
    return {p.organisation for a in agreement.chain for p in a.parties}


def _require_reader(actor: Actor, agreement: ResolvedAgreement) -> None:
    if actor.is_system or Role.ADMINISTRATOR in actor.roles:
        return
    if actor.is_contributor or actor.organisation_code not in _parties(agreement):
        raise Forbidden(
            Problem(
                "agreement",
                f"le plan d'actions de {agreement.agreement.code} est réservé aux parties"
                " de la convention",
                "forbidden",
            )
        )


def _require_keeper(engine: Engine, actor: Actor, agreement: ResolvedAgreement, action: str):
    if actor.is_system or Role.ADMINISTRATOR in actor.roles:
        return
    keeper = _keeper_of(agreement)
    if actor.organisation_code != keeper or not (actor.roles & _KEEPERS):
        reason = (
            f"le plan d'actions est tenu par {keeper} (art. 10) : "
            "un responsable, un directeur ou l'agent comptable de cet organisme"
        )
        audit.record_refusal(engine, actor, action, "action_plan", agreement.agreement.code, reason)
        raise Forbidden(Problem("agreement", reason, "forbidden"))


def _item(conn: Connection, agreement: str, code: str) -> dict:
    row = (
        conn.execute(
            select(action_plan_item).where(
                action_plan_item.c.agreement == agreement, action_plan_item.c.code == code
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound.single("code", f"action {code} inconnue dans le plan de {agreement}")
    return dict(row)


def _status_on(conn: Connection, item_id: int, on: date | None = None) -> tuple[str, date] | None:
    query = select(action_plan_event.c.status, action_plan_event.c.on).where(
        action_plan_event.c.item_id == item_id
    )
    if on is not None:
        query = query.where(action_plan_event.c.on <= on)
    row = conn.execute(
        query.order_by(action_plan_event.c.on.desc(), action_plan_event.c.id.desc()).limit(1)
    ).first()
    return None if row is None else (row.status, row.on)


def add_action(
    engine: Engine,
    actor: Actor,
    *,
    agreement: str,
    code: str,
    topic: str,
    title: str,
    owner: str,
    due_on: date,
    on: date,
) -> dict:
    """Put an action in the plan, planned from `on`. The same action again is a replay."""
    resolved = _agreement(agreement, on)
    _require_keeper(engine, actor, resolved, "action_plan.add")
    plan.check_topic(topic)
    problems = []
    if not code or len(code) > 32:
        problems.append(
            Problem("code", "référence de l'action obligatoire (32 caractères au plus)")
        )
    if not title or not title.strip() or len(title) > 255:
        problems.append(Problem("title", "intitulé obligatoire (255 caractères au plus)"))
    if owner not in _parties(resolved):
        problems.append(
            Problem("owner", f"{owner!r} n'est pas partie à la convention {agreement}", "unknown")
        )
    if due_on < on:
        problems.append(Problem("due_on", "l'échéance précède la date d'inscription au plan"))
    if problems:
        raise DomainError(*problems)
    with UnitOfWork(engine) as uow:
        conn = uow.conn
        existing = (
            conn.execute(
                select(action_plan_item).where(
                    action_plan_item.c.agreement == agreement, action_plan_item.c.code == code
                )
            )
            .mappings()
            .first()
        )
        if existing is not None:
            same = (existing["topic"], existing["title"], existing["owner"], existing["due_on"])
            if same == (topic, title.strip(), owner, due_on):
                return _view(conn, dict(existing))
            raise Conflict.single("code", f"l'action {code} existe déjà avec un autre contenu")
        now = datetime.now(UTC)
        item_id = conn.execute(
            insert(action_plan_item).values(
                agreement=agreement,
                code=code,
                topic=topic,
                title=title.strip(),
                owner=owner,
                due_on=due_on,
                created_by=actor.login,
                created_at=now,
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(action_plan_event).values(
                item_id=item_id,
                on=on,
                status="planned",
                note="inscription au plan",
                recorded_by=actor.login,
                recorded_at=now,
            )
        )
        audit.record(
            conn,
            actor,
            "action_plan.add",
            "action_plan",
            f"{agreement}/{code}",
            {"topic": topic, "owner": owner, "due_on": due_on.isoformat()},
        )
        row = _item(conn, agreement, code)
        uow.commit()
        return _view(conn, row)


def update_action(
    engine: Engine, actor: Actor, *, agreement: str, code: str, status: str, on: date, note: str
) -> dict:
    """Record a new status of an action with its note (a difficulty must say what it is)."""
    resolved = _agreement(agreement, on)
    _require_keeper(engine, actor, resolved, "action_plan.update")
    if status == "blocked" and not note.strip():
        raise DomainError.single("note", "décrire la difficulté rencontrée (art. 10)", "required")
    with UnitOfWork(engine) as uow:
        conn = uow.conn
        row = _item(conn, agreement, code)
        current, since = _status_on(conn, row["id"])
        if on < since:
            raise DomainError.single(
                "on", f"date antérieure au dernier état connu ({since.isoformat()})", "backdated"
            )
        plan.check_transition(current, status)
        conn.execute(
            insert(action_plan_event).values(
                item_id=row["id"],
                on=on,
                status=status,
                note=note.strip(),
                recorded_by=actor.login,
                recorded_at=datetime.now(UTC),
            )
        )
        audit.record(
            conn,
            actor,
            "action_plan.update",
            "action_plan",
            f"{agreement}/{code}",
            {"from": current, "to": status, "on": on.isoformat(), "note": note.strip()},
        )
        uow.commit()
        return _view(conn, row)


def record_presentation(
    engine: Engine, actor: Actor, *, agreement: str, presented_on: date, presented_to: str
) -> dict:
    """Record the day the plan was presented to the funds (once)."""
    resolved = _agreement(agreement, presented_on)
    _require_keeper(engine, actor, resolved, "action_plan.present")
    if not presented_to.strip():
        raise DomainError.single("presented_to", "indiquer l'instance ou les destinataires")
    with UnitOfWork(engine) as uow:
        conn = uow.conn
        existing = (
            conn.execute(
                select(action_plan_presentation).where(
                    action_plan_presentation.c.agreement == agreement
                )
            )
            .mappings()
            .first()
        )
        if existing is not None:
            if existing["presented_on"] == presented_on:
                return dict(existing)
            raise Conflict.single(
                "presented_on",
                f"plan déjà présenté le {existing['presented_on'].isoformat()}",
                "duplicate",
            )
        values = {
            "agreement": agreement,
            "presented_on": presented_on,
            "presented_to": presented_to.strip(),
            "recorded_by": actor.login,
            "recorded_at": datetime.now(UTC),
        }
        conn.execute(insert(action_plan_presentation).values(**values))
        audit.record(
            conn,
            actor,
            "action_plan.present",
            "action_plan",
            agreement,
            {"presented_on": presented_on.isoformat(), "presented_to": values["presented_to"]},
        )
        uow.commit()
        return values


def _view(conn: Connection, row: dict, on: date | None = None) -> dict:
    state = _status_on(conn, row["id"], on)
    return {
        "code": row["code"],
        "topic": row["topic"],
        "title": row["title"],
        "owner": row["owner"],
        "due_on": row["due_on"].isoformat(),
        "status": None if state is None else state[0],
        "status_since": None if state is None else state[1].isoformat(),
    }


def _deadline(resolved: ResolvedAgreement) -> date | None:
    setting = resolved.settings.get("convergence.plan_deadline")
    return None if setting is None else date.fromisoformat(str(setting.value))


def progress_report(engine: Engine, actor: Actor, *, agreement: str, on: date) -> dict:
    """The plan as it stood on `on` and its progress report, for the parties of the agreement."""
    resolved = _agreement(agreement, on)
    _require_reader(actor, resolved)
    with engine.connect() as conn:
        rows = conn.execute(
            select(action_plan_item)
            .where(action_plan_item.c.agreement == agreement)
            .order_by(action_plan_item.c.due_on, action_plan_item.c.code)
        ).mappings()
        items, views = [], []
        for row in rows:
            view = _view(conn, dict(row), on)
            if view["status"] is None:
                continue  # not yet in the plan on that day
            done_on = None
            if view["status"] == "done":
                done_on = date.fromisoformat(view["status_since"])
            items.append(
                plan.ActionItem(
                    row["code"], row["topic"], row["owner"], row["due_on"], view["status"], done_on
                )
            )
            views.append(view)
        presented = conn.execute(
            select(action_plan_presentation.c.presented_on).where(
                action_plan_presentation.c.agreement == agreement,
                action_plan_presentation.c.presented_on <= on,
            )
        ).scalar()
    report = plan.report_of(items, on=on, plan_deadline=_deadline(resolved), presented_on=presented)
    return {
        "agreement": agreement,
        "on": on.isoformat(),
        "plan_deadline": report.plan_deadline and report.plan_deadline.isoformat(),
        "presented_on": report.presented_on and report.presented_on.isoformat(),
        "plan_late": report.plan_late,
        "by_status": report.by_status,
        "by_topic": {t: {"actions": n, "done": d} for t, (n, d) in report.by_topic.items()},
        "late": list(report.late),
        "blocked": list(report.blocked),
        "done_late": list(report.done_late),
        "completion": {"done": report.completion[0], "total": report.completion[1]},
        "actions": views,
    }
