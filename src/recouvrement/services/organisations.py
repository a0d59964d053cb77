"""Organisations and their joint-organisation partnerships."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, insert, select

from recouvrement.adapters.db.tables import organisation, partnership
from recouvrement.domain.actors import Actor, Permission, require
from recouvrement.domain.contributors import OrganisationKind
from recouvrement.domain.errors import Conflict, DomainError, NotFound
from recouvrement.domain.identifiers import validate_territory
from recouvrement.services import audit
from recouvrement.services.unit_of_work import UnitOfWork


def create_organisation(
    engine: Engine, actor: Actor, code: str, name: str, kind: str, territory: str | None = None
) -> int:
    require(actor, Permission.ORGANISATIONS_WRITE)
    try:
        kind = OrganisationKind(kind).value
    except ValueError:
        raise DomainError.single(
            "kind", f"type d'organisme inconnu : {kind!r}", "unknown_kind"
        ) from None
    if territory:
        territory = validate_territory(territory)
    with UnitOfWork(engine) as uow:
        if uow.conn.scalar(select(organisation.c.id).where(organisation.c.code == code)):
            raise Conflict.single("code", f"l'organisme {code} existe déjà", "duplicate")
        org_id = uow.conn.execute(
            insert(organisation).values(code=code, name=name, kind=kind, territory=territory)
        ).inserted_primary_key[0]
        audit.record(
            uow.conn,
            actor,
            "organisation.create",
            "organisation",
            code,
            {"kind": kind, "territory": territory},
        )
        uow.commit()
    return org_id


def link_partners(engine: Engine, actor: Actor, code_a: str, code_b: str) -> None:
    """Two organisations work as a joint organisation: each reaches the other's shared files."""
    require(actor, Permission.ORGANISATIONS_WRITE)
    with UnitOfWork(engine) as uow:
        a = organisation_id(uow.conn, code_a)
        b = organisation_id(uow.conn, code_b)
        existing = (
            uow.conn.execute(
                select(partnership.c.partner_id).where(partnership.c.organisation_id == a)
            )
            .scalars()
            .all()
        )
        if b not in existing:
            uow.conn.execute(
                insert(partnership),
                [
                    {"organisation_id": a, "partner_id": b},
                    {"organisation_id": b, "partner_id": a},
                ],
            )
            audit.record(
                uow.conn, actor, "organisation.partner", "organisation", code_a, {"partner": code_b}
            )
        uow.commit()


def organisation_id(conn: Connection, code: str) -> int:
    org = conn.scalar(select(organisation.c.id).where(organisation.c.code == code))
    if org is None:
        raise NotFound.single("organisation", f"organisme inconnu : {code!r}", "not_found")
    return org


def reachable_organisations(conn: Connection, organisation_id: int) -> frozenset[int]:
    partners = (
        conn.execute(
            select(partnership.c.partner_id).where(partnership.c.organisation_id == organisation_id)
        )
        .scalars()
        .all()
    )
    return frozenset([organisation_id, *partners])


def list_organisations(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(organisation).order_by(organisation.c.code)).mappings().all()
    return [dict(r) for r in rows]
