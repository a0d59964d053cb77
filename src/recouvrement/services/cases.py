"""Case work: open, move along the state machine, assign, comment, attach, read and list.

Every refused attempt (unknown transition, an agent without the authorization, self-approval, bad
input) is rolled back and then written to the audit trail as refused, in a transaction of its own:
nothing else changes. The rules themselves live in domain/cases.py and domain/workload.py.

Whether an agent may work a case's activity on the date of the act — a valid authorization
(habilitation), and its training when the agreement wants one (ISU agreement art. 3 and 6) — is
decided by `services.authorizations.decide_activity`, read inside the case's own transaction so
that no refusal waits on a lock: opening, working, commenting, attaching, and being given cases by
the queue all go through `activity_refusal`.

`open_case_in(conn, …)` is the entry point for a flow import that opens cases inside its own unit
of work (one case per registration reject).
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, and_, func, insert, select, text, update

from recouvrement.adapters.db.tables import (
    agent,
    agent_absence,
    case_attachment,
    case_comment,
    case_event,
    case_table,
    contributor,
    organisation,
)
from recouvrement.agreements.loader import AgreementError, shipped_agreements
from recouvrement.agreements.model import ResolvedAgreement
from recouvrement.domain import cases as rules
from recouvrement.domain.actors import Actor, Role, require_contributor
from recouvrement.domain.calendars import calendar_for
from recouvrement.domain.cases import CaseType, Priority
from recouvrement.domain.errors import DomainError, Forbidden, NotFound, Problem
from recouvrement.domain.four_eyes import require_different_people
from recouvrement.domain.workload import Candidate, pick
from recouvrement.services import audit
from recouvrement.services.authorizations import decide_activity
from recouvrement.services.unit_of_work import UnitOfWork

DEFAULT_AGREEMENT = "isu-region"
MAX_PAGE = 1000
MAX_ATTACHMENT = 10 * 1024 * 1024
MAX_TEXT = 10_000
QUEUE_LOCK = 727_100  # advisory-lock keys 727100–727999 serialize each queue's assignments
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


# ---------------------------------------------------------------------------------------------
# Shared helpers


def resolve_agreement(code: str, on: date) -> ResolvedAgreement:
    try:
        return shipped_agreements().resolve(code, on)
    except AgreementError as err:
        raise DomainError.single("agreement", str(err), "agreement") from None


@contextmanager
def refusals_audited(engine: Engine, actor: Actor, action: str, object_id: object) -> Iterator:
    """Run a use case; if it is refused, record the refused attempt once its transaction is gone."""
    try:
        yield
    except DomainError as err:
        codes = ", ".join(sorted({p.code for p in err.problems}))
        reason = f"{codes} : {err}"
        audit.record_refusal(engine, actor, action[:64], "case", str(object_id)[:100], reason)
        audit.mark_recorded(err)
        raise


def activity_refusal(
    conn: Connection,
    actor: Actor,
    activity: str,
    on: date,
    agreement: ResolvedAgreement,
    owner_organisation_id: int | None = None,
) -> Problem | None:
    """Why the actor may not work the activity on `on` (no authorization, expired authorization,
    training missing or expired, organisation not running it), or None when they may.

    An act dated when the case's agreement is not in force is authorized by nobody."""
    try:
        decision = decide_activity(
            conn,
            actor,
            activity,
            on,
            owner_organisation_id=owner_organisation_id,
            agreement=agreement.agreement.code,
        )
    except DomainError as err:
        if not any(p.code == "unknown_agreement" for p in err.problems):
            raise
        return Problem(
            "on",
            f"la convention {agreement.agreement.code} n'est pas en vigueur le {on.isoformat()} : "
            f"aucune habilitation sur l'activité « {activity} » ne vaut ce jour-là",
            "agreement_not_in_force",
        )
    return decision.problem()


def _actor_of(row: Mapping) -> Actor:
    """An agent row seen as an actor, to ask the domain whether it may work an activity."""
    return Actor(
        login=row["login"],
        organisation_id=row["organisation_id"],
        organisation_code=row["organisation_code"],
        roles=frozenset(Role(r) for r in row["roles"]),
    )


def _agents_of(conn: Connection, organisation_codes: tuple[str, ...]) -> list[dict]:
    rows = conn.execute(
        select(
            agent.c.id,
            agent.c.login,
            agent.c.roles,
            agent.c.organisation_id,
            organisation.c.code.label("organisation_code"),
        )
        .join(organisation, organisation.c.id == agent.c.organisation_id)
        .where(organisation.c.code.in_(organisation_codes), agent.c.active.is_(True))
        .order_by(agent.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def absent_on(conn: Connection, on: date) -> set[int]:
    return set(
        conn.execute(
            select(agent_absence.c.agent_id).where(
                agent_absence.c.starts_on <= on, agent_absence.c.ends_on >= on
            )
        ).scalars()
    )


def assignable_agents(
    conn: Connection, agreement: ResolvedAgreement, activity: str, on: date
) -> list[dict]:
    """Agents the queue may give a case of the activity to on `on`: authorized on that day,
    active, present."""
    away = absent_on(conn, on)
    team = []
    for a in _agents_of(conn, rules.activity_organisations(agreement, activity)):
        if a["id"] in away:
            continue
        who = _actor_of(a)
        if rules.takes_queue_work(who, activity, agreement) and (
            activity_refusal(conn, who, activity, on, agreement) is None
        ):
            team.append(a)
    return team


def lock_queue(conn: Connection, activity: str) -> None:
    """On PostgreSQL, two transactions assigning in the same queue take turns, so both do not
    read the same loads and give their cases to the same agent."""
    if conn.dialect.name == "postgresql":
        key = QUEUE_LOCK + zlib.crc32(activity.encode()) % 900
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def queue_loads(conn: Connection, activity: str) -> tuple[dict[int, int], dict[str, int]]:
    """Open cases of a queue per assignee and per owner organisation."""
    lock_queue(conn, activity)
    open_ = and_(case_table.c.activity == activity, case_table.c.closed_on.is_(None))
    per_agent = dict(
        conn.execute(
            select(case_table.c.assignee_id, func.count())
            .where(open_, case_table.c.assignee_id.is_not(None))
            .group_by(case_table.c.assignee_id)
        ).all()
    )
    per_org = dict(
        conn.execute(
            select(organisation.c.code, func.count())
            .join(organisation, organisation.c.id == case_table.c.owner_organisation_id)
            .where(open_)
            .group_by(organisation.c.code)
        ).all()
    )
    return per_agent, per_org


def _balanced_assignee(
    conn: Connection, agreement: ResolvedAgreement, activity: str, on: date
) -> dict | None:
    team = assignable_agents(conn, agreement, activity, on)
    per_agent, per_org = queue_loads(conn, activity)
    chosen = pick(
        [Candidate(a["id"], a["organisation_code"], per_agent.get(a["id"], 0)) for a in team],
        per_org,
    )
    if chosen is None:
        return None
    return next(a for a in team if a["id"] == chosen.agent_id)


def _organisation(conn: Connection, code: str) -> dict:
    row = conn.execute(select(organisation).where(organisation.c.code == code)).mappings().first()
    if row is None:
        raise NotFound.single("organisation", f"organisme inconnu : {code!r}", "not_found")
    return dict(row)


def _event(
    conn: Connection,
    case_id: int,
    action: str,
    actor: Actor,
    from_state: str | None,
    to_state: str,
    on: date,
    note: str = "",
    detail: dict | None = None,
) -> None:
    conn.execute(
        insert(case_event).values(
            case_id=case_id,
            action=action,
            actor=actor.login,
            from_state=from_state,
            to_state=to_state,
            on=on,
            at=datetime.now(UTC),
            note=note,
            detail=detail or {},
        )
    )


def _check_size(data: Mapping, field: str) -> None:
    try:
        size = len(json.dumps(data, ensure_ascii=False))
    except (TypeError, ValueError):
        raise DomainError.single(field, "valeurs JSON simples attendues", "bad_payload") from None
    if size > MAX_TEXT:
        raise DomainError.single(
            field, f"données trop volumineuses (au plus {MAX_TEXT} caractères)", "too_long"
        )


def _text(value: str, field: str, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise DomainError.single(field, f"texte trop long (au plus {limit} caractères)", "too_long")
    return value


# ---------------------------------------------------------------------------------------------
# Opening


def open_case(
    engine: Engine,
    actor: Actor,
    case_type: str,
    *,
    on: date,
    payload: Mapping[str, object],
    contributor_id: int | None = None,
    priority: str = Priority.NORMAL.value,
    agreement_code: str = DEFAULT_AGREEMENT,
) -> dict:
    """Open a case received on `on` (the event that starts the commitment's clock) and give it
    to an agent of the queue; returns the case as `get_case` shows it."""
    with refusals_audited(engine, actor, "case.open", case_type), UnitOfWork(engine) as uow:
        case_id = open_case_in(
            uow.conn,
            actor,
            case_type,
            on=on,
            payload=payload,
            contributor_id=contributor_id,
            priority=priority,
            agreement_code=agreement_code,
        )
        uow.commit()
    return get_case(engine, actor, case_id, on=on)


def open_case_in(
    conn: Connection,
    actor: Actor,
    case_type: str,
    *,
    on: date,
    payload: Mapping[str, object],
    contributor_id: int | None = None,
    priority: str = Priority.NORMAL.value,
    agreement_code: str = DEFAULT_AGREEMENT,
    opened_from: int | None = None,
) -> int:
    """Open a case inside the caller's transaction; returns its id. Audited as `case.open`."""
    ctype = rules.parse_case_type(case_type)
    prio = rules.parse_priority(priority)
    if not isinstance(payload, Mapping):
        raise DomainError.single("payload", "objet attendu", "bad_payload")
    _check_size(payload, "payload")
    agreement = resolve_agreement(agreement_code, on)
    activity = rules.ACTIVITY[ctype]
    if activity not in agreement.activities:
        raise DomainError.single(
            "case_type",
            f"la convention {agreement_code} ne prévoit pas l'activité « {activity} »",
            "activity_not_in_agreement",
        )
    refusal = activity_refusal(conn, actor, activity, on, agreement)
    if refusal is not None:
        raise Forbidden(refusal)
    desks = {d["code"]: d for d in _annex_list(agreement, "reception_desks")}
    problems = rules.opening_problems(ctype, payload, desks)
    if problems:
        raise DomainError(*problems)
    if contributor_id is not None:
        row = conn.execute(
            select(contributor.c.organisation_id).where(contributor.c.id == contributor_id)
        ).first()
        if row is None:
            raise NotFound.single(
                "contributor_id", f"cotisant {contributor_id} inconnu", "not_found"
            )
        require_contributor(actor, contributor_id, row.organisation_id)

    assignee = None
    if ctype in rules.ASSIGNED_TO_OPENER and rules.takes_queue_work(actor, activity, agreement):
        assignee = next(
            (a for a in _agents_of(conn, (actor.organisation_code,)) if a["login"] == actor.login),
            None,
        )
        if assignee is not None and assignee["id"] in absent_on(conn, on):
            assignee = None
    if assignee is None:
        assignee = _balanced_assignee(conn, agreement, activity, on)
    owners = rules.activity_organisations(agreement, activity)
    if assignee is not None:
        owner_code = assignee["organisation_code"]
    elif actor.organisation_code in owners:
        owner_code = actor.organisation_code
    else:
        owner_code = owners[0]
    owner = _organisation(conn, owner_code)
    territory = owner["territory"] or "FR"
    calendar = calendar_for(territory)
    due_on = rules.due_date(calendar, on, rules.commitment_days(agreement, activity))
    state = rules.INITIAL_STATE[ctype]
    body = {k: v for k, v in payload.items() if v not in (None, "")}
    if opened_from is not None:
        body["opened_from"] = opened_from
    now = datetime.now(UTC)
    case_id = conn.execute(
        insert(case_table).values(
            case_type=ctype.value,
            state=state,
            activity=activity,
            agreement=agreement_code,
            owner_organisation_id=owner["id"],
            assignee_id=assignee["id"] if assignee else None,
            contributor_id=contributor_id,
            priority=prio.value,
            calendar=territory,
            opened_at=now,
            opened_on=on,
            opened_by=actor.login,
            due_on=due_on,
            paused_business_days=0,
            last_event_on=on,
            payload=body,
        )
    ).inserted_primary_key[0]
    detail = {
        "case_type": ctype.value,
        "assignee": assignee["login"] if assignee else None,
        "owner": owner_code,
        "due_on": due_on.isoformat() if due_on else None,
    }
    _event(conn, case_id, "open", actor, None, state, on, detail=detail)
    audit.record(conn, actor, "case.open", "case", case_id, detail)
    return case_id


def _annex_list(agreement: ResolvedAgreement, name: str) -> list[dict]:
    content, _origin = agreement.annexes.get(name, ([], ""))
    return [d for d in content if isinstance(d, dict) and "code" in d] if content else []


# ---------------------------------------------------------------------------------------------
# Loading one case


def _select_case():
    assignee = agent.alias("assignee")
    return (
        select(
            case_table,
            organisation.c.code.label("owner"),
            assignee.c.login.label("assignee"),
        )
        .join(organisation, organisation.c.id == case_table.c.owner_organisation_id)
        .outerjoin(assignee, assignee.c.id == case_table.c.assignee_id)
    )


def _load(conn: Connection, case_id: int, for_update: bool = False) -> dict:
    query = _select_case().where(case_table.c.id == case_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update(of=case_table)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound.single("case_id", f"dossier {case_id} inconnu", "not_found")
    return dict(row)


def _require_reach(actor: Actor, row: Mapping, agreement: ResolvedAgreement) -> None:
    """An agent reaches the cases of their joint organisation (ISU agreement art. 6)."""
    if actor.is_system:
        return
    owners = rules.activity_organisations(agreement, row["activity"])
    if (
        row["owner_organisation_id"] in actor.reachable_organisation_ids
        or actor.organisation_code in owners
    ) and not actor.is_contributor:
        return
    raise Forbidden(Problem("case_id", "ce dossier n'est pas accessible", "forbidden"))


def _require_participant(
    conn: Connection, actor: Actor, row: Mapping, agreement: ResolvedAgreement, on: date
) -> None:
    """Comments and attachments come from those authorized on the case's activity that day, or
    from the parties' managers and directors, who supervise it."""
    _require_reach(actor, row, agreement)
    if actor.is_system:
        return
    parties = {p.organisation for p in agreement.agreement.parties}
    if actor.organisation_code in parties and actor.roles & {Role.MANAGER, Role.DIRECTOR}:
        return
    refusal = activity_refusal(
        conn, actor, row["activity"], on, agreement, row["owner_organisation_id"]
    )
    if refusal is not None:
        raise Forbidden(refusal)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def case_view(row: Mapping, on: date) -> dict:
    ctype = CaseType(row["case_type"])
    closed = row["closed_on"] is not None
    calendar = calendar_for(row["calendar"])
    return {
        "id": row["id"],
        "case_type": ctype.value,
        "state": row["state"],
        "activity": row["activity"],
        "agreement": row["agreement"],
        "owner": row["owner"],
        "assignee": row["assignee"],
        "contributor_id": row["contributor_id"],
        "priority": row["priority"],
        "opened_on": _iso(row["opened_on"]),
        "opened_by": row["opened_by"],
        "due_on": _iso(row["due_on"]),
        "paused_since": _iso(row["paused_since"]),
        "paused_business_days": row["paused_business_days"],
        "breached_on": _iso(row["breached_on"]),
        "closed_on": _iso(row["closed_on"]),
        "time_left": rules.time_left(
            calendar, row["due_on"], on, row["paused_since"], closed=closed
        ),
        "overdue": rules.is_breached(row["due_on"], on, row["paused_since"], closed=closed),
        "actions": rules.allowed_actions(ctype, row["state"]),
        "payload": row["payload"],
    }


def get_case(engine: Engine, actor: Actor, case_id: int, *, on: date) -> dict:
    """A case with its time left as of `on`, its history, comments and attachments."""
    with engine.connect() as conn:
        row = _load(conn, case_id)
        _require_reach(actor, row, resolve_agreement(row["agreement"], row["opened_on"]))
        view = case_view(row, on)
        view["history"] = [
            {
                "action": e["action"],
                "actor": e["actor"],
                "from": e["from_state"],
                "to": e["to_state"],
                "on": e["on"].isoformat(),
                "at": e["at"].isoformat(),
                "note": e["note"],
                "detail": e["detail"],
            }
            for e in conn.execute(
                select(case_event).where(case_event.c.case_id == case_id).order_by(case_event.c.id)
            ).mappings()
        ]
        view["comments"] = [
            {"author": c["author"], "at": c["at"].isoformat(), "text": c["text"]}
            for c in conn.execute(
                select(case_comment)
                .where(case_comment.c.case_id == case_id)
                .order_by(case_comment.c.id)
            ).mappings()
        ]
        view["attachments"] = [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in a.items()}
            for a in conn.execute(
                select(
                    case_attachment.c.id,
                    case_attachment.c.name,
                    case_attachment.c.media_type,
                    case_attachment.c.sha256,
                    case_attachment.c.size,
                    case_attachment.c.added_by,
                    case_attachment.c.at,
                )
                .where(case_attachment.c.case_id == case_id)
                .order_by(case_attachment.c.id)
            ).mappings()
        ]
    return view


# ---------------------------------------------------------------------------------------------
# Transitions


def transition(
    engine: Engine,
    actor: Actor,
    case_id: int,
    action: str,
    *,
    on: date,
    note: str = "",
    data: Mapping[str, object] | None = None,
) -> dict:
    """Fire one action of the case's state machine on `on`; returns the case as it then is."""
    with refusals_audited(engine, actor, f"case.{action}", case_id):
        note = _text(note, "note")
        data = dict(data or {})
        _check_size(data, "data")
        with UnitOfWork(engine) as uow:
            _transition_in(uow.conn, actor, case_id, action, on, note, data)
            uow.commit()
    return get_case(engine, actor, case_id, on=on)


def _transition_in(
    conn: Connection, actor: Actor, case_id: int, action: str, on: date, note: str, data: dict
) -> None:
    row = _load(conn, case_id, for_update=True)
    agreement = resolve_agreement(row["agreement"], row["opened_on"])
    _require_reach(actor, row, agreement)
    ctype = CaseType(row["case_type"])
    rule = rules.rule_for(ctype, row["state"], action)
    if on < row["last_event_on"]:
        raise DomainError.single(
            "on",
            f"date antérieure au dernier événement du dossier ({row['last_event_on']})",
            "date_before_last_event",
        )
    refusal = None
    if rule.authority is rules.Authority.WORKER:
        refusal = activity_refusal(
            conn, actor, row["activity"], on, agreement, row["owner_organisation_id"]
        )
    problem = rules.authority_problem(actor, rule.authority, agreement, row["assignee"], refusal)
    if problem is not None:
        raise Forbidden(problem)
    problems = rules.missing_fields(rule.needs, data)
    if problems:
        raise DomainError(*problems)

    payload = dict(row["payload"])
    payload.update({k: v for k, v in data.items() if v not in (None, "")})
    to_state = rule.to_state
    values: dict = {"last_event_on": on}
    detail: dict = {"data": data} if data else {}
    if rule.joint_signoff:
        parties = tuple(sorted(p.organisation for p in agreement.agreement.parties))
        signoffs = dict(payload.get("signoffs") or {})
        submitted_by = _entered_by(conn, row)
        if submitted_by:
            require_different_people(submitted_by, actor)
        problem = rules.signoff_problem(signoffs, actor, parties)
        if problem is not None:
            raise Forbidden(problem)
        signoffs[actor.organisation_code] = actor.login
        payload["signoffs"] = signoffs
        detail["signoffs"] = signoffs
        if not rules.signoffs_complete(signoffs, parties):
            to_state = row["state"]
    elif to_state != row["state"]:
        payload.pop("signoffs", None)  # a declined request is signed afresh once resubmitted

    calendar = calendar_for(row["calendar"])
    if (
        rule.pauses
        and row["paused_since"] is None
        and rules.pause_counts(agreement, row["activity"], to_state)
    ):
        values["paused_since"] = on
    if rule.resumes and row["paused_since"] is not None:
        paused = rules.pause_length(calendar, row["paused_since"], on)
        values["paused_since"] = None
        values["paused_business_days"] = row["paused_business_days"] + paused
        values["due_on"] = rules.extended_due(calendar, row["due_on"], paused)
        detail["paused_business_days"] = paused
    if rule.closes:
        values["closed_at"] = datetime.now(UTC)
        values["closed_on"] = on
    if rule.opens is not None:
        new_id = open_case_in(
            conn,
            actor,
            rule.opens.value,
            on=on,
            payload=_opened_payload(rule.opens, payload, data),
            contributor_id=row["contributor_id"],
            priority=row["priority"],
            agreement_code=row["agreement"],
            opened_from=case_id,
        )
        payload["opened_case_id"] = new_id
        detail["opened_case_id"] = new_id
    values.update(state=to_state, payload=payload)
    conn.execute(update(case_table).where(case_table.c.id == case_id).values(**values))
    _event(conn, case_id, action, actor, row["state"], to_state, on, note, detail)
    audit.record(
        conn,
        actor,
        "case.transition",
        "case",
        case_id,
        {"action": action, "from": row["state"], "to": to_state, **detail},
    )


def _entered_by(conn: Connection, row: Mapping) -> str | None:
    """Who brought the case into its current state (the one who submitted what is signed)."""
    return conn.scalar(
        select(case_event.c.actor)
        .where(
            case_event.c.case_id == row["id"],
            case_event.c.to_state == row["state"],
            case_event.c.from_state != row["state"],
        )
        .order_by(case_event.c.id.desc())
        .limit(1)
    )


def _opened_payload(opens: CaseType, payload: Mapping, data: Mapping) -> dict:
    """A complaint made at the desk: channel desk, its subject the visit's topic."""
    if opens is CaseType.COMPLAINT:
        return {
            "channel": rules.Channel.DESK.value,
            "subject": data.get("subject") or payload.get("topic"),
            "desk": payload.get("desk"),
        }
    return dict(data)


# ---------------------------------------------------------------------------------------------
# Assignment, comments, attachments


def assign(
    engine: Engine,
    actor: Actor,
    case_id: int,
    agent_login: str | None,
    *,
    on: date,
    note: str = "",
) -> dict:
    """A manager gives a case to an agent (or, with no agent named, back to the balanced queue)."""
    with refusals_audited(engine, actor, "case.assign", case_id):
        note = _text(note, "note")
        with UnitOfWork(engine) as uow:
            conn = uow.conn
            row = _load(conn, case_id, for_update=True)
            agreement = resolve_agreement(row["agreement"], row["opened_on"])
            _require_reach(actor, row, agreement)
            problem = rules.authority_problem(actor, rules.Authority.MANAGER, agreement, None)
            if problem is not None:
                raise Forbidden(
                    Problem("agent", "seul un responsable peut attribuer un dossier", problem.code)
                )
            if row["closed_on"] is not None:
                raise DomainError.single("case_id", "dossier clos : pas d'attribution", "closed")
            if on < row["last_event_on"]:
                raise DomainError.single(
                    "on",
                    f"date antérieure au dernier événement du dossier ({row['last_event_on']})",
                    "date_before_last_event",
                )
            if agent_login:
                target = _assignable_target(conn, agreement, row["activity"], agent_login, on)
            else:
                target = _balanced_assignee(conn, agreement, row["activity"], on)
                if target is None:
                    raise DomainError.single(
                        "agent", "aucun agent habilité disponible ce jour", "nobody_available"
                    )
            values: dict = {"assignee_id": target["id"], "last_event_on": on}
            activity, _origin = agreement.activities[row["activity"]]
            if activity.run_by == "joint":
                values["owner_organisation_id"] = target["organisation_id"]
            conn.execute(update(case_table).where(case_table.c.id == case_id).values(**values))
            detail = {"from": row["assignee"], "to": target["login"]}
            _event(conn, case_id, "assign", actor, row["state"], row["state"], on, note, detail)
            audit.record(conn, actor, "case.assign", "case", case_id, detail)
            uow.commit()
    return get_case(engine, actor, case_id, on=on)


def _assignable_target(
    conn: Connection, agreement: ResolvedAgreement, activity: str, login: str, on: date
) -> dict:
    rows = [
        a
        for a in _agents_of(conn, rules.activity_organisations(agreement, activity))
        if a["login"] == login
    ]
    if not rows:
        raise DomainError.single(
            "agent",
            f"{login} n'est pas un agent actif d'un organisme chargé de l'activité « {activity} »",
            "not_eligible",
        )
    target = rows[0]
    who = _actor_of(target)
    if not rules.takes_queue_work(who, activity, agreement):
        raise DomainError.single(
            "agent",
            f"{login} ne reçoit pas de dossiers de l'activité « {activity} » (les responsables "
            "répartissent le travail)",
            "not_eligible",
        )
    refusal = activity_refusal(conn, who, activity, on, agreement)
    if refusal is not None:
        raise DomainError.single("agent", f"{login} : {refusal.reason}", refusal.code)
    if target["id"] in absent_on(conn, on):
        raise DomainError.single("agent", f"{login} est absent le {on.isoformat()}", "absent")
    return target


def comment(
    engine: Engine, actor: Actor, case_id: int, text: str, *, on: date | None = None
) -> int:
    """Add a comment on `on` (default today), the day the author's authorization is checked."""
    on = on or datetime.now(UTC).date()
    with refusals_audited(engine, actor, "case.comment", case_id):
        text = _text(text, "text")
        if not text:
            raise DomainError.single("text", "commentaire vide", "required")
        with UnitOfWork(engine) as uow:
            row = _load(uow.conn, case_id)
            agreement = resolve_agreement(row["agreement"], row["opened_on"])
            _require_participant(uow.conn, actor, row, agreement, on)
            cid = uow.conn.execute(
                insert(case_comment).values(
                    case_id=case_id, author=actor.login, at=datetime.now(UTC), text=text
                )
            ).inserted_primary_key[0]
            audit.record(uow.conn, actor, "case.comment", "case", case_id, {"comment_id": cid})
            uow.commit()
    return cid


def attach(
    engine: Engine,
    actor: Actor,
    case_id: int,
    name: str,
    media_type: str,
    content: bytes,
    *,
    on: date | None = None,
) -> dict:
    """Keep a document with the case, added on `on` (default today); its SHA-256 is recorded in
    the audit trail."""
    on = on or datetime.now(UTC).date()
    with refusals_audited(engine, actor, "case.attach", case_id):
        name = (name or "").strip()
        problems = []
        if not name or "/" in name or "\\" in name or len(name) > 255:
            problems.append(
                Problem("name", "nom de fichier sans chemin, 1 à 255 caractères", "bad_name")
            )
        media_type = (media_type or "").strip().lower()
        if not _MEDIA_TYPE.match(media_type):
            problems.append(
                Problem("media_type", f"type de média invalide : {media_type!r}", "bad_media_type")
            )
        if not content:
            problems.append(Problem("content", "pièce jointe vide", "required"))
        elif len(content) > MAX_ATTACHMENT:
            problems.append(
                Problem("content", "pièce jointe trop lourde (10 Mio au plus)", "too_large")
            )
        if problems:
            raise DomainError(*problems)
        digest = hashlib.sha256(content).hexdigest()
        with UnitOfWork(engine) as uow:
            row = _load(uow.conn, case_id)
            agreement = resolve_agreement(row["agreement"], row["opened_on"])
            _require_participant(uow.conn, actor, row, agreement, on)
            aid = uow.conn.execute(
                insert(case_attachment).values(
                    case_id=case_id,
                    name=name,
                    media_type=media_type,
                    sha256=digest,
                    size=len(content),
                    content=content,
                    added_by=actor.login,
                    at=datetime.now(UTC),
                )
            ).inserted_primary_key[0]
            detail = {"attachment_id": aid, "name": name, "sha256": digest, "size": len(content)}
            audit.record(uow.conn, actor, "case.attach", "case", case_id, detail)
            uow.commit()
    return {
        "id": aid,
        "name": name,
        "media_type": media_type,
        "sha256": digest,
        "size": len(content),
    }


def attachment_content(engine: Engine, actor: Actor, case_id: int, attachment_id: int) -> dict:
    with engine.connect() as conn:
        row = _load(conn, case_id)
        _require_reach(actor, row, resolve_agreement(row["agreement"], row["opened_on"]))
        att = (
            conn.execute(
                select(case_attachment).where(
                    case_attachment.c.case_id == case_id, case_attachment.c.id == attachment_id
                )
            )
            .mappings()
            .first()
        )
    if att is None:
        raise NotFound.single("attachment_id", "pièce jointe inconnue", "not_found")
    return dict(att)
