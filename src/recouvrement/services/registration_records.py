"""Applying one registration record to the contributors, inside the caller's transaction.

These functions run within the import's unit of work, each record in its own SAVEPOINT: they raise
DomainError for anything that makes the record a reject and leave the rollback to the caller. Each
applied record leaves exactly one audit event, `registration.<action>`, naming the record.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, insert, select, update

from recouvrement.adapters.db.tables import account, contributor, establishment, organisation
from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.contributors import ContributorKind, ContributorStatus, OrganisationKind
from recouvrement.domain.errors import Conflict, DomainError, NotFound, Problem
from recouvrement.domain.registration import (
    Affiliation,
    Change,
    Deregistration,
    RegistrationRecord,
    deregistration_problems,
)
from recouvrement.services import audit
from recouvrement.services.contributors import insert_contributor

# Contributors' accounts are kept by the collectors (URSSAF, CGSS, CSSM) and, for the
# self-employed under the ISU agreement, by the regional RSI funds; never by a beneficiary fund.
MANAGING_KINDS = frozenset(
    {OrganisationKind.COLLECTOR.value, OrganisationKind.SELF_EMPLOYED_FUND.value}
)


def apply_record(
    conn: Connection, actor: Actor, record: RegistrationRecord, today: date, source: dict
) -> int:
    """Apply the record and return the contributor it concerns; raise DomainError to reject it."""
    if isinstance(record, Affiliation):
        return affiliate(conn, actor, record, source)
    if isinstance(record, Change):
        return change(conn, actor, record, source)
    return deregister(conn, actor, record, today, source)


def _require_reach(actor: Actor, org_id: int, code: str) -> None:
    """ISU agreement art. 4: the joint organisation works its own flows, not another region's."""
    if actor.is_system or Role.ADMINISTRATOR in actor.roles:
        return
    if org_id not in actor.reachable_organisation_ids:
        raise DomainError.single(
            "organisation", f"organisme {code} hors de votre périmètre", "forbidden"
        )


def affiliate(conn: Connection, actor: Actor, record: Affiliation, source: dict) -> int:
    draft = record.draft
    org = conn.execute(
        select(organisation.c.id, organisation.c.kind).where(
            organisation.c.code == draft.organisation_code
        )
    ).first()
    if org is None:
        raise NotFound.single(
            "organisation", f"organisme inconnu : {draft.organisation_code!r}", "not_found"
        )
    _require_reach(actor, org.id, draft.organisation_code)
    if org.kind not in MANAGING_KINDS:
        raise DomainError.single(
            "organisation",
            f"{draft.organisation_code} ne gère pas de comptes cotisants "
            "(un organisme de recouvrement ou une caisse RSI est attendu)",
            "not_a_collector",
        )
    try:
        cid = insert_contributor(conn, draft, record.effective_date)
    except Conflict as err:
        # The flow speaks in columns, not in the draft's establishment list.
        raise Conflict(
            *(
                Problem(
                    "siret" if p.field.startswith("establishments") else p.field, p.reason, p.code
                )
                for p in err.problems
            )
        ) from None
    audit.record(
        conn,
        actor,
        "registration.affiliation",
        "contributor",
        cid,
        {**source, "kind": draft.kind.value, "organisation": draft.organisation_code},
    )
    return cid


def _known(conn: Connection, actor: Actor, record: Change | Deregistration) -> dict:
    """The contributor the record names, checked against the actor's reach and the record."""
    column = (
        contributor.c.nir if record.kind is ContributorKind.SELF_EMPLOYED else contributor.c.siren
    )
    row = (
        conn.execute(
            select(
                contributor,
                organisation.c.code.label("organisation_code"),
                account.c.opened_on,
            )
            .join(organisation, organisation.c.id == contributor.c.organisation_id)
            .join(account, account.c.contributor_id == contributor.c.id)
            .where(column == record.identifier)
        )
        .mappings()
        .first()
    )
    field = "nir" if record.kind is ContributorKind.SELF_EMPLOYED else "siren"
    if row is None:
        raise NotFound.single(
            field, f"aucun cotisant immatriculé avec ce {field.upper()}", "unknown_contributor"
        )
    _require_reach(actor, row["organisation_id"], row["organisation_code"])
    if record.organisation and record.organisation != row["organisation_code"]:
        raise DomainError.single(
            "organisation",
            f"le cotisant est géré par {row['organisation_code']}, pas par "
            f"{record.organisation} (le changement d'organisme ne passe pas par ce flux)",
            "organisation_mismatch",
        )
    return dict(row)


def change(conn: Connection, actor: Actor, record: Change, source: dict) -> int:
    row = _known(conn, actor, record)
    if row["status"] == ContributorStatus.DEREGISTERED.value:
        raise DomainError.single("", "cotisant radié : modification impossible", "deregistered")
    wanted = {
        "name": record.name,
        "address": record.address,
        "territory": record.territory,
        "activity": record.activity.value if record.activity else None,
    }
    changes = {
        key: {"before": row[key], "after": value}
        for key, value in wanted.items()
        if value is not None and value != row[key]
    }
    if changes:
        conn.execute(
            update(contributor)
            .where(contributor.c.id == row["id"])
            .values({key: diff["after"] for key, diff in changes.items()})
        )
    if record.siret is not None:
        if conn.scalar(select(establishment.c.id).where(establishment.c.siret == record.siret)):
            raise Conflict.single("siret", f"SIRET {record.siret} déjà immatriculé", "duplicate")
        territory = record.establishment_territory or record.territory or row["territory"]
        conn.execute(
            insert(establishment).values(
                contributor_id=row["id"], siret=record.siret, territory=territory, name=""
            )
        )
        changes["establishment"] = {"siret": record.siret, "territory": territory}
    audit.record(
        conn,
        actor,
        "registration.change",
        "contributor",
        row["id"],
        {**source, "effective_date": record.effective_date.isoformat(), "changes": changes},
    )
    return row["id"]


def deregister(
    conn: Connection, actor: Actor, record: Deregistration, today: date, source: dict
) -> int:
    row = _known(conn, actor, record)
    start = row["activity_start"] or row["opened_on"]
    problems = deregistration_problems(
        record.effective_date,
        start,
        today,
        row["status"] == ContributorStatus.DEREGISTERED.value,
    )
    if problems:
        raise DomainError(*problems)
    conn.execute(
        update(contributor)
        .where(contributor.c.id == row["id"])
        .values(status=ContributorStatus.DEREGISTERED.value, activity_end=record.effective_date)
    )
    audit.record(
        conn,
        actor,
        "registration.deregistration",
        "contributor",
        row["id"],
        {**source, "activity_end": record.effective_date.isoformat()},
    )
    return row["id"]
