"""Loading the roster of agents (the agreement's annex of agents, art. 3) with roles and rights.

The whole file is one transaction: either every agent, grant and training in it is recorded, or
nothing is and every fault is reported. Loading the same file again changes nothing (an agent
already as described, a grant or a training already recorded, are left alone), so the roster can
be reloaded whenever the annex is updated. An agent's roles and organisation follow the file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Connection, Engine, insert, select, update

from recouvrement.adapters.db.tables import agent, authorization, organisation, training
from recouvrement.domain.actors import Actor, Permission, Role, require
from recouvrement.domain.authorizations import Authorization, TrainingRecord
from recouvrement.domain.errors import DomainError, Problem
from recouvrement.services import audit
from recouvrement.services.unit_of_work import UnitOfWork

ROSTER_ROLES = frozenset(Role) - {Role.SYSTEM, Role.CONTRIBUTOR}


class RosterAgent(NamedTuple):
    """One agent of the file.

    Attributes:
        where: where it is in the file, for messages.
        login, name, organisation, roles: the agent; an empty organisation means "an agent
            already recorded, only add these rights".
        authorizations, trainings: rights to record (their granted_by is replaced by the loader).
    """

    where: str
    login: str
    name: str
    organisation: str
    roles: tuple[str, ...]
    authorizations: tuple[Authorization, ...] = ()
    trainings: tuple[TrainingRecord, ...] = ()


class RosterSummary(NamedTuple):
    agents_created: int
    agents_updated: int
    authorizations_granted: int
    trainings_recorded: int
    unchanged: int


def _org_ids(conn: Connection) -> dict[str, int]:
    return {r.code: r.id for r in conn.execute(select(organisation.c.code, organisation.c.id))}


def _upsert_agent(conn, actor, entry: RosterAgent, org_id: int, counts: dict) -> int:
    roles = sorted(set(entry.roles))
    row = conn.execute(select(agent).where(agent.c.login == entry.login)).first()
    if row is None:
        aid = conn.execute(
            insert(agent).values(
                login=entry.login,
                name=entry.name,
                organisation_id=org_id,
                roles=roles,
                contributor_id=None,
                active=True,
            )
        ).inserted_primary_key[0]
        audit.record(conn, actor, "agent.create", "agent", entry.login, {"roles": roles})
        counts["agents_created"] += 1
        return aid
    if (row.name, row.organisation_id, sorted(row.roles)) == (entry.name, org_id, roles):
        counts["unchanged"] += 1
        return row.id
    conn.execute(
        update(agent)
        .where(agent.c.id == row.id)
        .values(name=entry.name, organisation_id=org_id, roles=roles)
    )
    audit.record(
        conn,
        actor,
        "agent.update",
        "agent",
        entry.login,
        {"roles": roles, "organisation_id": org_id, "previous_roles": sorted(row.roles)},
    )
    counts["agents_updated"] += 1
    return row.id


def _add_grant(conn, actor, login: str, aid: int, g: Authorization, now, counts: dict) -> None:
    same = conn.scalar(
        select(authorization.c.id).where(
            authorization.c.agent_id == aid,
            authorization.c.activity == g.activity,
            authorization.c.valid_from == g.valid_from,
            authorization.c.valid_to.is_(None)
            if g.valid_to is None
            else authorization.c.valid_to == g.valid_to,
            authorization.c.training.is_(None)
            if g.training is None
            else authorization.c.training == g.training,
            authorization.c.revoked_at.is_(None),
        )
    )
    if same:
        counts["unchanged"] += 1
        return
    gid = conn.execute(
        insert(authorization).values(
            agent_id=aid,
            activity=g.activity,
            valid_from=g.valid_from,
            valid_to=g.valid_to,
            training=g.training,
            granted_by=actor.login,
            granted_at=now,
        )
    ).inserted_primary_key[0]
    audit.record(
        conn,
        actor,
        "authorization.grant",
        "agent",
        login,
        {"authorization_id": gid, "activity": g.activity, "source": "roster"},
    )
    counts["authorizations_granted"] += 1


def _add_training(conn, actor, login: str, aid: int, t: TrainingRecord, now, counts) -> None:
    same = conn.scalar(
        select(training.c.id).where(
            training.c.agent_id == aid,
            training.c.training == t.training,
            training.c.completed_on == t.completed_on,
        )
    )
    if same:
        counts["unchanged"] += 1
        return
    conn.execute(
        insert(training).values(
            agent_id=aid,
            training=t.training,
            completed_on=t.completed_on,
            expires_on=t.expires_on,
            recorded_by=actor.login,
            recorded_at=now,
        )
    )
    audit.record(
        conn, actor, "training.record", "agent", login, {"training": t.training, "source": "roster"}
    )
    counts["trainings_recorded"] += 1


def load_roster(
    engine: Engine, actor: Actor, entries: list[RosterAgent], now: datetime | None = None
) -> RosterSummary:
    """Record the roster; raises DomainError naming every fault, and then records nothing."""
    require(actor, Permission.ORGANISATIONS_WRITE)
    now = now or datetime.now(UTC)
    counts = dict.fromkeys(RosterSummary._fields, 0)
    problems: list[Problem] = []
    logins = [e.login for e in entries]
    with UnitOfWork(engine) as uow:
        conn = uow.conn
        orgs = _org_ids(conn)
        for entry in entries:
            if logins.count(entry.login) > 1 and entry.organisation:
                problems.append(
                    Problem(entry.where, f"agent {entry.login} décrit deux fois", "duplicate")
                )
                continue
            if entry.login == actor.login:
                problems.append(
                    Problem(entry.where, "on ne se charge pas soi-même des droits", "self_approval")
                )
                continue
            if entry.organisation:
                found: list[Problem] = []
                bad = [r for r in entry.roles if r not in {x.value for x in ROSTER_ROLES}]
                if bad:
                    found.append(
                        Problem(
                            f"{entry.where}.roles",
                            f"rôle inconnu ou interdit dans un fichier d'agents : {', '.join(bad)}",
                            "unknown_role",
                        )
                    )
                if entry.organisation not in orgs:
                    found.append(
                        Problem(
                            f"{entry.where}.organisation",
                            f"organisme inconnu : {entry.organisation!r}",
                            "not_found",
                        )
                    )
                if found:
                    problems += found
                    continue
                aid = _upsert_agent(conn, actor, entry, orgs[entry.organisation], counts)
            else:
                aid = conn.scalar(select(agent.c.id).where(agent.c.login == entry.login))
                if aid is None:
                    problems.append(
                        Problem(
                            f"{entry.where}.login",
                            f"agent inconnu : {entry.login} (ni enregistré, ni décrit dans le fichier)",
                            "not_found",
                        )
                    )
                    continue
            for g in entry.authorizations:
                _add_grant(conn, actor, entry.login, aid, g, now, counts)
            for t in entry.trainings:
                _add_training(conn, actor, entry.login, aid, t, now, counts)
        if problems:
            raise DomainError(*problems)
        uow.commit()
    return RosterSummary(**counts)
