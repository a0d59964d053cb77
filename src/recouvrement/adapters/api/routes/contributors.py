"""Contributors: create, list with filters and pagination, get, add employees."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.domain.contributors import (
    Activity,
    ContributorDraft,
    ContributorKind,
    Establishment,
)
from recouvrement.domain.errors import DomainError
from recouvrement.services import contributors as service

router = APIRouter(tags=["cotisants"])


class EstablishmentIn(BaseModel):
    siret: str
    territory: str
    name: str = ""


class ContributorIn(BaseModel):
    kind: Literal["self_employed", "employer"]
    name: str
    organisation: str = Field(description="code de l'organisme gestionnaire")
    territory: str = Field(description="code du département, ex. 75 ou 976")
    nir: str | None = None
    activity: Literal["craft", "trade"] | None = None
    activity_start: date | None = None
    activity_end: date | None = None
    address: str = ""
    siren: str | None = None
    public_sector: bool = False
    establishments: list[EstablishmentIn] = []


class EmployeeIn(BaseModel):
    nir: str
    birth_date: date
    name: str = ""


@router.post("/contributors", status_code=201)
def create_contributor(
    body: ContributorIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    draft = ContributorDraft(
        kind=ContributorKind(body.kind),
        name=body.name,
        territory=body.territory,
        organisation_code=body.organisation,
        nir=body.nir,
        activity=Activity(body.activity) if body.activity else None,
        activity_start=body.activity_start,
        activity_end=body.activity_end,
        address=body.address,
        siren=body.siren,
        public_sector=body.public_sector,
        establishments=tuple(
            Establishment(e.siret, e.territory, e.name) for e in body.establishments
        ),
    )
    return service.create_contributor(request.app.state.engine, actor, draft, date.today())


@router.get("/contributors")
def list_contributors(
    request: Request,
    actor: Actor = Depends(current_actor),
    limit: int = Query(50, ge=1, le=service.MAX_PAGE),
    after: str | None = Query(None, description="curseur `next` de la page précédente"),
    kind: str | None = None,
    territory: str | None = None,
    organisation: str | None = None,
    activity: str | None = None,
    status: str | None = None,
    name: str | None = None,
) -> dict:
    cursor = None
    if after:
        if not after.isdigit():
            raise DomainError.single("after", "curseur invalide", "bad_cursor")
        cursor = int(after)
    return service.list_contributors(
        request.app.state.engine,
        actor,
        limit=limit,
        after=cursor,
        kind=kind,
        territory=territory,
        organisation_code=organisation,
        activity=activity,
        status=status,
        name=name,
    )


@router.get("/contributors/{contributor_id}")
def get_contributor(
    contributor_id: int, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return service.get_contributor(request.app.state.engine, actor, contributor_id)


@router.post("/contributors/{contributor_id}/employees", status_code=201)
def add_employee(
    contributor_id: int, body: EmployeeIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    eid = service.add_employee(
        request.app.state.engine, actor, contributor_id, body.nir, body.birth_date, body.name
    )
    return {"id": eid}
