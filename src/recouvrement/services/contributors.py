"""Contributors: registration by hand or by flow, listing, and the single account opened with each."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, and_, func, insert, select

from recouvrement.adapters.db.tables import (
    account,
    contributor,
    employee,
    establishment,
    organisation,
)
from recouvrement.domain.actors import (
    Actor,
    Permission,
    require,
    require_contributor,
)
from recouvrement.domain.contributors import ContributorDraft, ContributorKind, validate_contributor
from recouvrement.domain.errors import Conflict, DomainError, NotFound, Problem
from recouvrement.domain.identifiers import validate_nir
from recouvrement.services import audit
from recouvrement.services.organisations import organisation_id
from recouvrement.services.unit_of_work import UnitOfWork

MAX_PAGE = 1000


def insert_contributor(conn: Connection, draft: ContributorDraft, opened_on: date) -> int:
    """Insert a validated contributor with its establishments and its one account.

    Raises Conflict naming the identifier already known, so a flow can reject the record.
    """
    org_id = organisation_id(conn, draft.organisation_code)
    if draft.nir and conn.scalar(select(contributor.c.id).where(contributor.c.nir == draft.nir)):
        raise Conflict.single("nir", f"NIR {draft.nir} déjà immatriculé", "duplicate")
    if draft.siren and conn.scalar(
        select(contributor.c.id).where(contributor.c.siren == draft.siren)
    ):
        raise Conflict.single("siren", f"SIREN {draft.siren} déjà immatriculé", "duplicate")
    for i, est in enumerate(draft.establishments):
        if conn.scalar(select(establishment.c.id).where(establishment.c.siret == est.siret)):
            raise Conflict.single(
                f"establishments[{i}].siret", f"SIRET {est.siret} déjà immatriculé", "duplicate"
            )
    cid = conn.execute(
        insert(contributor).values(
            kind=draft.kind.value,
            name=draft.name,
            organisation_id=org_id,
            territory=draft.territory,
            nir=draft.nir,
            activity=draft.activity.value if draft.activity else None,
            activity_start=draft.activity_start,
            activity_end=draft.activity_end,
            address=draft.address,
            siren=draft.siren,
            public_sector=draft.public_sector,
            status="active" if draft.activity_end is None else "deregistered",
            created_at=datetime.now(UTC),
        )
    ).inserted_primary_key[0]
    if draft.establishments:
        conn.execute(
            insert(establishment),
            [
                {
                    "contributor_id": cid,
                    "siret": e.siret,
                    "territory": e.territory,
                    "name": e.name,
                    "naf_code": e.naf_code,
                }
                for e in draft.establishments
            ],
        )
    conn.execute(insert(account).values(contributor_id=cid, opened_on=opened_on))
    return cid


def create_contributor(engine: Engine, actor: Actor, draft: ContributorDraft, today: date) -> dict:
    require(actor, Permission.CONTRIBUTORS_WRITE)
    draft = validate_contributor(draft)
    with UnitOfWork(engine) as uow:
        org_id = organisation_id(uow.conn, draft.organisation_code)
        if not actor.is_system and org_id not in actor.reachable_organisation_ids:
            raise DomainError(
                Problem("organisation", "organisme hors de votre périmètre", "forbidden")
            )
        cid = insert_contributor(uow.conn, draft, today)
        audit.record(
            uow.conn,
            actor,
            "contributor.create",
            "contributor",
            cid,
            {"kind": draft.kind.value, "territory": draft.territory},
        )
        uow.commit()
    return get_contributor(engine, actor, cid)


def add_employee(
    engine: Engine, actor: Actor, contributor_id: int, nir: str, birth_date: date, name: str = ""
) -> int:
    require(actor, Permission.CONTRIBUTORS_WRITE)
    nir = validate_nir(nir)
    with UnitOfWork(engine) as uow:
        row = _load(uow.conn, actor, contributor_id)
        if row["kind"] != ContributorKind.EMPLOYER.value:
            raise DomainError.single(
                "contributor_id", "seul un employeur a des salariés", "not_employer"
            )
        if uow.conn.scalar(
            select(employee.c.id).where(
                and_(employee.c.contributor_id == contributor_id, employee.c.nir == nir)
            )
        ):
            raise Conflict.single("nir", f"salarié {nir} déjà déclaré", "duplicate")
        eid = uow.conn.execute(
            insert(employee).values(
                contributor_id=contributor_id, nir=nir, birth_date=birth_date, name=name
            )
        ).inserted_primary_key[0]
        audit.record(
            uow.conn, actor, "employee.create", "contributor", contributor_id, {"employee_id": eid}
        )
        uow.commit()
    return eid


def _load(conn: Connection, actor: Actor, contributor_id: int) -> dict:
    row = (
        conn.execute(
            select(contributor, organisation.c.code.label("organisation"))
            .join(organisation, organisation.c.id == contributor.c.organisation_id)
            .where(contributor.c.id == contributor_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound.single("contributor_id", f"cotisant {contributor_id} inconnu", "not_found")
    require_contributor(actor, contributor_id, row["organisation_id"])
    return dict(row)


def _view(row: dict) -> dict:
    out = {
        "id": row["id"],
        "kind": row["kind"],
        "name": row["name"],
        "organisation": row["organisation"],
        "territory": row["territory"],
        "status": row["status"],
    }
    if row["kind"] == ContributorKind.SELF_EMPLOYED.value:
        out.update(
            nir=row["nir"],
            activity=row["activity"],
            activity_start=row["activity_start"].isoformat() if row["activity_start"] else None,
            activity_end=row["activity_end"].isoformat() if row["activity_end"] else None,
            address=row["address"],
        )
    else:
        out.update(
            siren=row["siren"], public_sector=bool(row["public_sector"]), address=row["address"]
        )
    return out


def get_contributor(engine: Engine, actor: Actor, contributor_id: int) -> dict:
    require(actor, Permission.CONTRIBUTORS_READ)
    with engine.connect() as conn:
        row = _load(conn, actor, contributor_id)
        view = _view(row)
        if row["kind"] == ContributorKind.EMPLOYER.value:
            ests = (
                conn.execute(
                    select(
                        establishment.c.siret,
                        establishment.c.territory,
                        establishment.c.name,
                        establishment.c.naf_code,
                    )
                    .where(establishment.c.contributor_id == contributor_id)
                    .order_by(establishment.c.siret)
                )
                .mappings()
                .all()
            )
            view["establishments"] = [dict(e) for e in ests]
            view["employees"] = conn.scalar(
                select(func.count())
                .select_from(employee)
                .where(employee.c.contributor_id == contributor_id)
            )
        acc = (
            conn.execute(select(account).where(account.c.contributor_id == contributor_id))
            .mappings()
            .one()
        )
        view["account"] = {"id": acc["id"], "opened_on": acc["opened_on"].isoformat()}
    return view


def list_contributors(
    engine: Engine,
    actor: Actor,
    *,
    limit: int = 50,
    after: int | None = None,
    kind: str | None = None,
    territory: str | None = None,
    organisation_code: str | None = None,
    activity: str | None = None,
    status: str | None = None,
    name: str | None = None,
) -> dict:
    """A page of contributors the actor may reach, by ascending id; `next` is the cursor."""
    require(actor, Permission.CONTRIBUTORS_READ)
    if not 1 <= limit <= MAX_PAGE:
        raise DomainError.single("limit", f"limit doit être entre 1 et {MAX_PAGE}", "bad_limit")
    conds = []
    if actor.is_contributor:
        conds.append(contributor.c.id == actor.contributor_id)
    elif not actor.is_system:
        conds.append(contributor.c.organisation_id.in_(sorted(actor.reachable_organisation_ids)))
    if kind:
        try:
            ContributorKind(kind)
        except ValueError:
            raise DomainError.single(
                "kind", f"type de cotisant inconnu : {kind!r}", "unknown_kind"
            ) from None
        conds.append(contributor.c.kind == kind)
    if territory:
        conds.append(contributor.c.territory == territory)
    if organisation_code:
        conds.append(organisation.c.code == organisation_code)
    if activity:
        conds.append(contributor.c.activity == activity)
    if status:
        conds.append(contributor.c.status == status)
    if name:
        conds.append(func.lower(contributor.c.name).like(f"%{name.lower()}%"))
    base = (
        select(contributor, organisation.c.code.label("organisation"))
        .join(organisation, organisation.c.id == contributor.c.organisation_id)
        .where(*conds)
    )
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(base.subquery()))
        page_q = base
        if after is not None:
            page_q = page_q.where(contributor.c.id > after)
        rows = conn.execute(page_q.order_by(contributor.c.id).limit(limit + 1)).mappings().all()
    items = [_view(dict(r)) for r in rows[:limit]]
    nxt = str(items[-1]["id"]) if len(rows) > limit else None
    return {"items": items, "total": total, "next": nxt}


def draft_as_dict(draft: ContributorDraft) -> dict:
    return asdict(draft)
