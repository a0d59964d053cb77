"""Surcharge remission (remise des majorations, CSS R243-20): the request (by the contributor or
an agent), the director's proposal to the appeals board, the reasoned decision and its letter.

Amounts are returned in cents; a partial grant is sent in euros as decimal text ("30.00"); `on` is
the business date of the act (default: today).
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.domain.money import parse_euros
from recouvrement.services import remission

router = APIRouter(tags=["remises de majorations"])


class Key(BaseModel):
    fund: str
    item: str = Field(description="rubrique de majoration : surcharge_initial, …")
    period: str


class RemissionIn(BaseModel):
    contributor_id: int
    keys: list[Key]
    reason: str = ""
    force_majeure: bool = Field(False, description="événement irrésistible et extérieur invoqué")
    on: date | None = Field(None, description="date de réception de la demande")


class DecisionIn(BaseModel):
    text: str = Field(description="motifs de la décision (obligatoires)")
    granted: str | int | None = Field(
        None, description='montant remis en euros ("30.00") ; absent : tout ce qui est demandé'
    )
    on: date | None = None


def _engine(request: Request):
    return request.app.state.engine


def _granted(value) -> int | None:
    return None if value is None else parse_euros(value)


@router.post("/remissions", status_code=201)
def request_remission(
    body: RemissionIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return remission.request_remission(
        _engine(request),
        actor,
        body.contributor_id,
        [(k.fund, k.item, k.period) for k in body.keys],
        on=body.on or date.today(),
        reason=body.reason,
        force_majeure=body.force_majeure,
    )


@router.get("/remissions")
def list_remissions(
    request: Request,
    actor: Actor = Depends(current_actor),
    contributor_id: int | None = None,
    state: str | None = None,
) -> dict:
    items = remission.list_remissions(
        _engine(request), actor, contributor_id=contributor_id, state=state
    )
    return {"items": items}


@router.get("/remissions/{request_id}")
def get_remission(request_id: int, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    return remission.get_remission(_engine(request), actor, request_id)


@router.get("/remissions/{request_id}/letter.pdf")
def remission_letter(
    request_id: int, request: Request, actor: Actor = Depends(current_actor)
) -> Response:
    reference, content = remission.letter_content(_engine(request), actor, request_id)
    return Response(
        content=content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{reference}.pdf"'},
    )


@router.post("/remissions/{request_id}/proposal")
def propose_remission(
    request_id: int, body: DecisionIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return remission.propose_remission(
        _engine(request),
        actor,
        request_id,
        on=body.on or date.today(),
        text=body.text,
        granted=_granted(body.granted),
    )


@router.post("/remissions/{request_id}/decision")
def decide_remission(
    request_id: int, body: DecisionIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return remission.decide_remission(
        _engine(request),
        actor,
        request_id,
        on=body.on or date.today(),
        text=body.text,
        granted=_granted(body.granted),
    )
