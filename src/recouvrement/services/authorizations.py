"""Authorizations (habilitations) and trainings of agents, and the activity check every service uses.

Granting follows the agents' own hierarchy: personnel acts belong to the organisation the agent
comes from (ISU agreement art. 3), so a manager or director grants rights to agents of their home
organisation only; the administrator may grant to anyone. Nobody grants themselves a right
(four-eyes). A revoked grant is stamped, never deleted, so the trail shows what held when.

For other services — how to check an activity:

- `check_activity(engine, actor, activity, on, owner_organisation_id=..., agreement=...)` before
  you open your unit of work. It returns the `Decision` when allowed; when refused it records the
  refusal in the audit trail (its own transaction) and raises `Forbidden` whose problem code is the
  reason (`no_authorization`, `authorization_expired`, `authorization_not_yet_valid`,
  `training_missing`, `training_expired`, `not_reachable`, `not_party`, `wrong_role`).
- `decide_activity(conn, actor, activity, on, ...)` inside a transaction you already hold: same
  decision, no audit and no raise; raise `Forbidden(decision.problem())` yourself and let the edge
  (the API's error handler) record the refusal. Never call `check_activity` while holding a write
  transaction: its refusal record would wait for your transaction's lock.

`owner_organisation_id` is the organisation owning the file worked on: the actor must reach it
(home organisation or joint-organisation partner, ISU agreement art. 6). `agreement` names the
agreement defining the activity (e.g. `isu-region`): then the actor's organisation must run it (a
party for a joint activity, the named party and role otherwise), and when the agreement sets
`operations.training_required` a grant used on a partner's file (a joint activity, with
`owner_organisation_id` another organisation than the actor's) must name a valid training (art. 3). The system actor (batches, command line) is always allowed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, insert, select, update

from recouvrement.adapters.db.tables import agent, authorization, training
from recouvrement.agreements.loader import AgreementError, shipped_agreements
from recouvrement.agreements.model import JOINT
from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.authorizations import (
    Authorization,
    Decision,
    Reason,
    TrainingRecord,
    authorization_problems,
    may_perform,
    training_problems,
)
from recouvrement.domain.errors import DomainError, Forbidden, NotFound, Problem
from recouvrement.domain.four_eyes import require_different_people
from recouvrement.services import audit
from recouvrement.services.unit_of_work import UnitOfWork

HIERARCHY = frozenset({Role.MANAGER, Role.DIRECTOR})
READERS = HIERARCHY | {Role.AUDITOR}


def _agent_row(conn: Connection, login: str):
    row = conn.execute(
        select(agent.c.id, agent.c.login, agent.c.organisation_id, agent.c.roles).where(
            agent.c.login == login
        )
    ).first()
    if row is None:
        raise NotFound.single("login", f"agent inconnu : {login}", "not_found")
    return row


def _require_hierarchy(actor: Actor, agent_org_id: int, what: str) -> None:
    """Administrators anywhere; managers and directors for agents of their home organisation."""
    if actor.is_system or Role.ADMINISTRATOR in actor.roles:
        return
    if actor.roles & HIERARCHY and actor.organisation_id == agent_org_id:
        return
    raise Forbidden(
        Problem(
            "login",
            f"{what} : réservé à l'administrateur ou à la hiérarchie de l'organisme de l'agent",
            "forbidden",
        )
    )


def _require_reader(actor: Actor, row) -> None:
    if actor.login == row.login or actor.is_system or Role.ADMINISTRATOR in actor.roles:
        return
    if actor.roles & READERS and row.organisation_id in actor.reachable_organisation_ids:
        return
    raise Forbidden(Problem("login", "habilitations de cet agent non consultables", "forbidden"))


def _grant_dict(row) -> dict:
    return {
        "id": row.id,
        "login": row.login,
        "activity": row.activity,
        "valid_from": row.valid_from.isoformat(),
        "valid_to": row.valid_to.isoformat() if row.valid_to else None,
        "training": row.training,
        "granted_by": row.granted_by,
        "revoked": row.revoked_at is not None,
        "revoked_by": row.revoked_by,
    }


def _training_dict(row) -> dict:
    return {
        "id": row.id,
        "login": row.login,
        "training": row.training,
        "completed_on": row.completed_on.isoformat(),
        "expires_on": row.expires_on.isoformat() if row.expires_on else None,
        "recorded_by": row.recorded_by,
    }


_GRANTS = select(authorization, agent.c.login).join(agent, agent.c.id == authorization.c.agent_id)
_TRAININGS = select(training, agent.c.login).join(agent, agent.c.id == training.c.agent_id)


def grant(
    engine: Engine,
    actor: Actor,
    login: str,
    activity: str,
    valid_from: date,
    valid_to: date | None = None,
    training_code: str | None = None,
    now: datetime | None = None,
) -> dict:
    """Grant `login` a right on `activity` from `valid_from` (to `valid_to`, if given)."""
    now = now or datetime.now(UTC)
    draft = Authorization(login, activity, actor.login, valid_from, valid_to, training_code or None)
    with UnitOfWork(engine) as uow:
        row = _agent_row(uow.conn, login)
        _require_hierarchy(actor, row.organisation_id, "attribuer une habilitation")
        require_different_people(actor, login)
        problems = authorization_problems(draft)
        if problems:
            raise DomainError(*problems)
        gid = uow.conn.execute(
            insert(authorization).values(
                agent_id=row.id,
                activity=draft.activity,
                valid_from=draft.valid_from,
                valid_to=draft.valid_to,
                training=draft.training,
                granted_by=actor.login,
                granted_at=now,
            )
        ).inserted_primary_key[0]
        audit.record(
            uow.conn,
            actor,
            "authorization.grant",
            "agent",
            login,
            {
                "authorization_id": gid,
                "activity": draft.activity,
                "valid_from": draft.valid_from.isoformat(),
                "valid_to": draft.valid_to.isoformat() if draft.valid_to else None,
                "training": draft.training,
            },
        )
        out = _grant_dict(uow.conn.execute(_GRANTS.where(authorization.c.id == gid)).one())
        uow.commit()
    return out


def revoke(
    engine: Engine, actor: Actor, authorization_id: int, now: datetime | None = None
) -> dict:
    """Stamp a grant as revoked: it stops counting at once and stays in the record."""
    now = now or datetime.now(UTC)
    with UnitOfWork(engine) as uow:
        row = uow.conn.execute(_GRANTS.where(authorization.c.id == authorization_id)).first()
        if row is None:
            raise NotFound.single(
                "authorization_id", f"habilitation {authorization_id} inconnue", "not_found"
            )
        _require_hierarchy(
            actor, _agent_row(uow.conn, row.login).organisation_id, "retirer une habilitation"
        )
        require_different_people(actor, row.login)
        if row.revoked_at is not None:
            raise DomainError.single(
                "authorization_id", "habilitation déjà retirée", "already_revoked"
            )
        uow.conn.execute(
            update(authorization)
            .where(authorization.c.id == authorization_id)
            .values(revoked_at=now, revoked_by=actor.login)
        )
        audit.record(
            uow.conn,
            actor,
            "authorization.revoke",
            "agent",
            row.login,
            {"authorization_id": authorization_id, "activity": row.activity},
        )
        out = _grant_dict(
            uow.conn.execute(_GRANTS.where(authorization.c.id == authorization_id)).one()
        )
        uow.commit()
    return out


def list_authorizations(
    engine: Engine, actor: Actor, login: str, include_revoked: bool = False
) -> list[dict]:
    with engine.connect() as conn:
        row = _agent_row(conn, login)
        _require_reader(actor, row)
        q = _GRANTS.where(authorization.c.agent_id == row.id).order_by(authorization.c.id)
        if not include_revoked:
            q = q.where(authorization.c.revoked_at.is_(None))
        return [_grant_dict(r) for r in conn.execute(q)]


def record_training(
    engine: Engine,
    actor: Actor,
    login: str,
    training_code: str,
    completed_on: date,
    expires_on: date | None = None,
    now: datetime | None = None,
) -> dict:
    """Record that `login` completed a training; recorded by their hierarchy, never by themselves."""
    now = now or datetime.now(UTC)
    record = TrainingRecord(login, training_code, completed_on, expires_on)
    with UnitOfWork(engine) as uow:
        row = _agent_row(uow.conn, login)
        _require_hierarchy(actor, row.organisation_id, "enregistrer une formation")
        require_different_people(actor, login)
        problems = training_problems(record)
        if problems:
            raise DomainError(*problems)
        exists = uow.conn.scalar(
            select(training.c.id).where(
                training.c.agent_id == row.id,
                training.c.training == training_code,
                training.c.completed_on == completed_on,
            )
        )
        if exists:
            raise DomainError.single(
                "completed_on", "cette formation est déjà enregistrée à cette date", "duplicate"
            )
        tid = uow.conn.execute(
            insert(training).values(
                agent_id=row.id,
                training=training_code,
                completed_on=completed_on,
                expires_on=expires_on,
                recorded_by=actor.login,
                recorded_at=now,
            )
        ).inserted_primary_key[0]
        audit.record(
            uow.conn,
            actor,
            "training.record",
            "agent",
            login,
            {
                "training_id": tid,
                "training": training_code,
                "completed_on": completed_on.isoformat(),
                "expires_on": expires_on.isoformat() if expires_on else None,
            },
        )
        out = _training_dict(uow.conn.execute(_TRAININGS.where(training.c.id == tid)).one())
        uow.commit()
    return out


def list_trainings(engine: Engine, actor: Actor, login: str) -> list[dict]:
    with engine.connect() as conn:
        row = _agent_row(conn, login)
        _require_reader(actor, row)
        q = _TRAININGS.where(training.c.agent_id == row.id).order_by(
            training.c.completed_on, training.c.id
        )
        return [_training_dict(r) for r in conn.execute(q)]


def _agreement_refusal(
    actor: Actor, activity: str, on: date, agreement: str
) -> tuple[Decision | None, bool]:
    """Whether the actor's organisation runs `activity` under `agreement` (a refusal or None),
    and whether the agreement wants a training for operations done for the other party."""
    try:
        resolved = shipped_agreements().resolve(agreement, on)
    except AgreementError as err:
        raise DomainError.single("agreement", str(err), "unknown_agreement") from None
    if activity not in resolved.activities:
        raise DomainError.single(
            "activity",
            f"activité inconnue de la convention {agreement} : {activity!r}",
            "unknown_activity",
        )
    act, _origin = resolved.activities[activity]
    parties = {p.organisation for a in resolved.chain for p in a.parties}
    setting = resolved.settings.get("operations.training_required")
    training_required = bool(setting and setting.value is True)
    detail = {"activity": activity, "organisation": actor.organisation_code, "role": act.role}
    if act.run_by == JOINT:
        if actor.organisation_code not in parties:
            detail["run_by"] = "l'organisation commune de " + " et ".join(sorted(parties))
            return Decision(False, Reason.NOT_PARTY, None, detail), False
        return None, training_required
    # An activity one party runs alone is no operation for the other party: no art. 3 training.
    if actor.organisation_code != act.run_by:
        detail["run_by"] = act.run_by
        return Decision(False, Reason.NOT_PARTY, None, detail), False
    if act.role and act.role not in {r.value for r in actor.roles}:
        return Decision(False, Reason.WRONG_ROLE, None, detail), False
    return None, False


def decide_activity(
    conn: Connection,
    actor: Actor,
    activity: str,
    on: date,
    *,
    owner_organisation_id: int | None = None,
    agreement: str | None = None,
) -> Decision:
    """The decision for `actor` on `activity` on `on`, read in the caller's transaction."""
    if actor.is_system:
        return Decision(True)
    if actor.is_contributor:
        return Decision(False, Reason.NO_AUTHORIZATION, None, {"activity": activity})
    training_required = False
    if agreement is not None:
        refusal, training_required = _agreement_refusal(actor, activity, on, agreement)
        if refusal is not None:
            return refusal
    if (
        owner_organisation_id is not None
        and owner_organisation_id not in actor.reachable_organisation_ids
    ):
        return Decision(False, Reason.NOT_REACHABLE, None, {"activity": activity})
    # The art. 3 training is for operations done for the other party: on a partner's file only.
    training_required = training_required and owner_organisation_id not in (
        None,
        actor.organisation_id,
    )
    agent_id = conn.scalar(select(agent.c.id).where(agent.c.login == actor.login))
    grants = [
        Authorization(actor.login, r.activity, r.granted_by, r.valid_from, r.valid_to, r.training)
        for r in conn.execute(
            select(authorization).where(
                authorization.c.agent_id == agent_id,
                authorization.c.activity == activity,
                authorization.c.revoked_at.is_(None),
            )
        )
    ]
    trainings = [
        TrainingRecord(actor.login, r.training, r.completed_on, r.expires_on)
        for r in conn.execute(select(training).where(training.c.agent_id == agent_id))
    ]
    return may_perform(grants, trainings, activity, on, training_required=training_required)


def check_activity(
    engine: Engine,
    actor: Actor,
    activity: str,
    on: date,
    *,
    owner_organisation_id: int | None = None,
    agreement: str | None = None,
) -> Decision:
    """Allow or refuse `actor` on `activity` on `on`; a refusal is audited, then raised."""
    with engine.connect() as conn:
        decision = decide_activity(
            conn,
            actor,
            activity,
            on,
            owner_organisation_id=owner_organisation_id,
            agreement=agreement,
        )
    if decision.allowed:
        return decision
    problem = decision.problem()
    audit.record_refusal(
        engine,
        actor,
        "activity.check",
        "activity",
        activity,
        f"{problem.code} : {problem.reason}",
    )
    refusal = Forbidden(problem)
    audit.mark_recorded(refusal)
    raise refusal
