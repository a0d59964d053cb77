"""Load the demo region into an empty database, and describe what a database holds.

The load is one unit of work with set-based inserts: a half-loaded region would look like a real
one and be refused by the next `demo load --if-empty`, so it is all or nothing. Tokens are issued
afterwards, one per demo login, through the authentication service (each issue is audited there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Connection, Engine, func, insert, select

from recouvrement.adapters.db.tables import (
    account,
    agent,
    audit_event,
    authorization,
    contributor,
    employee,
    establishment,
    organisation,
    partnership,
    training,
)
from recouvrement.agreements.loader import shipped_agreements
from recouvrement.domain.actors import Actor, Permission, require
from recouvrement.domain.contributors import ContributorKind, validate_contributor
from recouvrement.domain.demo_region import DEFAULT_SEED, Region, RegionSize, generate_region
from recouvrement.domain.errors import Conflict
from recouvrement.domain.identifiers import validate_nir
from recouvrement.services import audit, authentication
from recouvrement.services.demo_rights import DemoGrant, demo_grants, grant_rows
from recouvrement.services.unit_of_work import UnitOfWork

CHUNK = 1000
LOAD_ACTION = "demo.load"

Progress = Callable[[int, int], None]
"""Called with (rows done, rows in all) as the load goes, for a progress bar."""


class IssuedToken(NamedTuple):
    login: str
    organisation_code: str
    roles: tuple[str, ...]
    token: str


class LoadReport(NamedTuple):
    """What a load wrote.

    Attributes:
        counts: rows written per kind of object (organisations, self_employed, employers…).
        tokens: one bearer token per demo login, shown once and never stored in clear.
    """

    seed: int
    counts: dict[str, int]
    tokens: tuple[IssuedToken, ...]


def stored_counts(engine: Engine) -> dict[str, int]:
    """How many organisations, contributors and agents the database holds."""
    with engine.connect() as conn:
        return _stored_counts(conn)


def _stored_counts(conn: Connection) -> dict[str, int]:
    return {
        name: conn.scalar(select(func.count()).select_from(table))
        for name, table in (
            ("organisations", organisation),
            ("contributors", contributor),
            ("agents", agent),
        )
    }


def is_empty(engine: Engine) -> bool:
    return not any(stored_counts(engine).values())


def region_counts(region: Region) -> dict[str, int]:
    contributors = [c.draft for c in region.contributors]
    return {
        "organisations": len(region.organisations),
        "self_employed": sum(d.kind is ContributorKind.SELF_EMPLOYED for d in contributors),
        "employers": sum(d.kind is ContributorKind.EMPLOYER for d in contributors),
        "establishments": sum(len(d.establishments) for d in contributors),
        "employees": sum(len(c.employees) for c in region.contributors),
        "agents": len(region.agents),
    }


def load_region(
    engine: Engine,
    actor: Actor,
    *,
    seed: int = DEFAULT_SEED,
    size: RegionSize | None = None,
    on_progress: Progress | None = None,
) -> LoadReport:
    """Generate the region for `seed` and store it; refuses a database that already holds data."""
    require(actor, Permission.ORGANISATIONS_WRITE)
    require(actor, Permission.CONTRIBUTORS_WRITE)
    region = generate_region(seed, size)
    _check_identifiers(region)
    grants = demo_grants(region.agents, shipped_agreements().agreements.values())
    counts = region_counts(region)
    counts["authorizations"] = len(grants)
    counts["trainings"] = len({(g.login, g.training) for g in grants if g.training})
    total = sum(counts.values()) + counts["self_employed"] + counts["employers"]  # + accounts
    total += len(region.agents)  # tokens
    done = 0

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        if on_progress is not None:
            on_progress(done, total)

    with UnitOfWork(engine) as uow:
        existing = _stored_counts(uow.conn)
        if any(existing.values()):
            raise Conflict.single(
                "",
                f"la base contient déjà {existing['organisations']} organisme(s), "
                f"{existing['contributors']} cotisant(s) et {existing['agents']} agent(s) : "
                "la région de démonstration ne se charge que dans une base vide",
                "not_empty",
            )
        _store(uow.conn, region, grants, advance)
        audit.record(
            uow.conn,
            actor,
            LOAD_ACTION,
            "region",
            seed,
            {"seed": seed, "size": region.size._asdict(), "counts": counts},
        )
        uow.commit()

    tokens = []
    for demo_agent in region.agents:
        token = authentication.issue_token(engine, actor, demo_agent.login)
        tokens.append(
            IssuedToken(demo_agent.login, demo_agent.organisation_code, demo_agent.roles, token)
        )
        advance(1)
    return LoadReport(seed, counts, tuple(tokens))


def _check_identifiers(region: Region) -> None:
    """Refuse to store a region whose generator produced an invalid identifier.

    Cheap next to the inserts, and it means the demo can never teach a wrong NIR or SIRET.
    """
    for c in region.contributors:
        validate_contributor(c.draft)
        for e in c.employees:
            validate_nir(e.nir, "employees.nir")


def _chunks(rows: Sequence[dict]) -> Iterator[Sequence[dict]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _store(
    conn: Connection, region: Region, grants: list[DemoGrant], advance: Callable[[int], None]
) -> None:
    now = datetime.now(UTC)
    org_ids = _store_organisations(conn, region)
    advance(len(region.organisations))
    ids: list[int] = []
    for chunk in _chunks([_contributor_row(c.draft, org_ids, now) for c in region.contributors]):
        ids += conn.execute(
            insert(contributor).returning(contributor.c.id, sort_by_parameter_order=True), chunk
        ).scalars()
        advance(len(chunk))
    stored = list(zip(region.contributors, ids, strict=True))
    _insert_chunks(
        conn, account, [{"contributor_id": i, "opened_on": c.opened_on} for c, i in stored], advance
    )
    _insert_chunks(
        conn,
        establishment,
        [
            {
                "contributor_id": i,
                "siret": e.siret,
                "territory": e.territory,
                "name": e.name,
                "naf_code": e.naf_code,
            }
            for c, i in stored
            for e in c.draft.establishments
        ],
        advance,
    )
    _insert_chunks(
        conn,
        employee,
        [
            {"contributor_id": i, "nir": e.nir, "birth_date": e.birth_date, "name": e.name}
            for c, i in stored
            for e in c.employees
        ],
        advance,
    )
    if not region.agents:
        return
    id_by_key = {c.key: i for c, i in stored}
    agent_ids = conn.execute(
        insert(agent).returning(agent.c.id, sort_by_parameter_order=True),
        [
            {
                "login": a.login,
                "name": a.name,
                "organisation_id": org_ids[a.organisation_code],
                "roles": list(a.roles),
                "contributor_id": id_by_key[a.contributor_key] if a.contributor_key else None,
                "active": True,
            }
            for a in region.agents
        ],
    ).scalars()
    advance(len(region.agents))
    authorizations, trainings = grant_rows(
        grants, {a.login: i for a, i in zip(region.agents, agent_ids, strict=True)}, now
    )
    _insert_chunks(conn, authorization, authorizations, advance)
    _insert_chunks(conn, training, trainings, advance)


def _store_organisations(conn: Connection, region: Region) -> dict[str, int]:
    org_ids = {
        org.code: conn.execute(
            insert(organisation).values(
                code=org.code, name=org.name, kind=org.kind.value, territory=org.territory
            )
        ).inserted_primary_key[0]
        for org in region.organisations
    }
    conn.execute(
        insert(partnership),
        [
            {"organisation_id": org_ids[x], "partner_id": org_ids[y]}
            for a, b in region.partnerships
            for x, y in ((a, b), (b, a))
        ],
    )
    return org_ids


def _insert_chunks(
    conn: Connection, table, rows: Sequence[dict], advance: Callable[[int], None]
) -> None:
    for chunk in _chunks(rows):
        conn.execute(insert(table), chunk)
        advance(len(chunk))


def _contributor_row(draft, org_ids: dict[str, int], now: datetime) -> dict:
    return {
        "kind": draft.kind.value,
        "name": draft.name,
        "organisation_id": org_ids[draft.organisation_code],
        "territory": draft.territory,
        "nir": draft.nir,
        "activity": draft.activity.value if draft.activity else None,
        "activity_start": draft.activity_start,
        "activity_end": draft.activity_end,
        "address": draft.address,
        "siren": draft.siren,
        "public_sector": draft.public_sector,
        "status": "active" if draft.activity_end is None else "deregistered",
        "created_at": now,
    }


def region_summary(engine: Engine) -> dict:
    """Organisations with their contributor and employee counts, and the last demo load.

    Public on purpose: the landing page shows it to anyone opening the service, so it holds
    aggregate counts only, never a name or an identifier of a contributor.
    """
    with engine.connect() as conn:
        orgs = conn.execute(select(organisation).order_by(organisation.c.id)).mappings().all()
        by_kind = conn.execute(
            select(contributor.c.organisation_id, contributor.c.kind, func.count()).group_by(
                contributor.c.organisation_id, contributor.c.kind
            )
        ).all()
        staff = conn.execute(
            select(contributor.c.organisation_id, func.count())
            .select_from(employee.join(contributor, contributor.c.id == employee.c.contributor_id))
            .group_by(contributor.c.organisation_id)
        ).all()
        last_load = conn.execute(
            select(audit_event.c.occurred_at, audit_event.c.detail)
            .where(audit_event.c.action == LOAD_ACTION, audit_event.c.outcome == "done")
            .order_by(audit_event.c.id.desc())
            .limit(1)
        ).first()
    kinds = {(org_id, kind): n for org_id, kind, n in by_kind}
    employees = dict(staff)
    organisations = [
        {
            "code": o["code"],
            "name": o["name"],
            "kind": o["kind"],
            "territory": o["territory"],
            "self_employed": kinds.get((o["id"], ContributorKind.SELF_EMPLOYED.value), 0),
            "employers": kinds.get((o["id"], ContributorKind.EMPLOYER.value), 0),
            "employees": employees.get(o["id"], 0),
        }
        for o in orgs
    ]
    return {
        "organisations": organisations,
        "contributors": sum(kinds.values()),
        "demo_load": (
            {"occurred_at": last_load.occurred_at, "seed": last_load.detail.get("seed")}
            if last_load
            else None
        ),
    }
