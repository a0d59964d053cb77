"""Refunds of a credit: the contributor's (or an agent's) request, the joint organisation's
check, the accounting officer's approval and disbursement, and the SEPA file issued.

Amounts are sent in euros as decimal text ("300.00") and returned in cents; `on` is the business
date of the act (default: today).
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.domain.money import parse_euros
from recouvrement.services import refunds

router = APIRouter(tags=["remboursements"])


class RefundIn(BaseModel):
    contributor_id: int
    amount: str | int | float = Field(description='montant en euros, en texte : "300.00"')
    iban: str
    bic: str | None = Field(None, description="BIC ; déduit de l'IBAN s'il est omis")
    holder: str | None = Field(None, description="titulaire du compte ; défaut : le cotisant")
    reason: str = ""
    on: date | None = Field(None, description="date de réception de la demande")


class ActIn(BaseModel):
    on: date | None = None
    note: str = ""


class DisburseIn(BaseModel):
    on: date | None = None
    execution_date: date | None = Field(None, description="date d'exécution du virement")
    with_case_ids: list[int] = Field(
        default_factory=list,
        description="autres remboursements approuvés payés par le même fichier",
    )


def _engine(request: Request):
    return request.app.state.engine


@router.post("/refunds", status_code=201)
def request_refund(body: RefundIn, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    return refunds.request_refund(
        _engine(request),
        actor,
        body.contributor_id,
        parse_euros(body.amount),
        iban=body.iban,
        bic=body.bic,
        holder=body.holder,
        reason=body.reason,
        on=body.on or date.today(),
    )


@router.get("/refunds")
def list_refunds(
    request: Request,
    actor: Actor = Depends(current_actor),
    state: str | None = None,
    contributor_id: int | None = None,
    on: date | None = Query(None, description="date du calcul du temps restant"),
) -> dict:
    items = refunds.list_refunds(
        _engine(request), actor, on=on or date.today(), state=state, contributor_id=contributor_id
    )
    return {"items": items}


@router.get("/refunds/files/{file_id}")
def refund_file(file_id: int, request: Request, actor: Actor = Depends(current_actor)) -> Response:
    row = refunds.refund_file_content(_engine(request), actor, file_id)
    return Response(
        content=row["content"],
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{row["message_id"]}.xml"'},
    )


@router.get("/refunds/{case_id}")
def get_refund(
    case_id: int,
    request: Request,
    actor: Actor = Depends(current_actor),
    on: date | None = Query(None, description="date du calcul du temps restant"),
) -> dict:
    return refunds.get_refund(_engine(request), actor, case_id, on=on or date.today())


@router.post("/refunds/{case_id}/check")
def check_refund(
    case_id: int, body: ActIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return refunds.check_refund(
        _engine(request), actor, case_id, on=body.on or date.today(), note=body.note
    )


@router.post("/refunds/{case_id}/approve")
def approve_refund(
    case_id: int, body: ActIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return refunds.approve_refund(
        _engine(request), actor, case_id, on=body.on or date.today(), note=body.note
    )


@router.post("/refunds/{case_id}/disburse")
def disburse_refund(
    case_id: int, body: DisburseIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return refunds.disburse_refunds(
        _engine(request),
        actor,
        [case_id, *body.with_case_ids],
        on=body.on or date.today(),
        execution_date=body.execution_date,
    )
