"""Payment plans (délais de paiement): the contributor's or an agent's request, the examination,
the grant with its schedule or the refusal, and the schedule letter.

`on` is the business date of the act (default: today); amounts are returned in cents.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.services import payment_plans

router = APIRouter(tags=["échéanciers"])


class PlanIn(BaseModel):
    contributor_id: int
    months: int = Field(description="durée demandée, en mois")
    reason: str = ""
    on: date | None = Field(None, description="date de réception de la demande")


class ActIn(BaseModel):
    on: date | None = None


class GrantIn(BaseModel):
    on: date | None = None
    months: int | None = Field(None, description="durée accordée (défaut : la durée demandée)")
    note: str = ""


class RefuseIn(BaseModel):
    on: date | None = None
    reason: str


def _engine(request: Request):
    return request.app.state.engine


@router.post("/payment-plans", status_code=201)
def request_plan(body: PlanIn, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    return payment_plans.request_plan(
        _engine(request),
        actor,
        body.contributor_id,
        months=body.months,
        on=body.on or date.today(),
        reason=body.reason,
    )


@router.get("/payment-plans")
def list_plans(
    request: Request,
    actor: Actor = Depends(current_actor),
    contributor_id: int | None = None,
    status: str | None = None,
) -> dict:
    items = payment_plans.list_plans(
        _engine(request), actor, contributor_id=contributor_id, status=status
    )
    return {"items": items}


@router.get("/payment-plans/{plan_id}")
def get_plan(plan_id: int, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    return payment_plans.get_plan(_engine(request), actor, plan_id)


@router.get("/payment-plans/{plan_id}/letter.pdf")
def plan_letter(plan_id: int, request: Request, actor: Actor = Depends(current_actor)) -> Response:
    content = payment_plans.plan_letter(_engine(request), actor, plan_id)
    return Response(
        content=content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="echeancier-{plan_id}.pdf"'},
    )


@router.post("/payment-plans/{plan_id}/examination")
def examine_plan(
    plan_id: int, body: ActIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return payment_plans.examine_plan(_engine(request), actor, plan_id, on=body.on or date.today())


@router.post("/payment-plans/{plan_id}/grant")
def grant_plan(
    plan_id: int, body: GrantIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return payment_plans.grant_plan(
        _engine(request),
        actor,
        plan_id,
        on=body.on or date.today(),
        months=body.months,
        note=body.note,
    )


@router.post("/payment-plans/{plan_id}/refusal")
def refuse_plan(
    plan_id: int, body: RefuseIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return payment_plans.refuse_plan(
        _engine(request), actor, plan_id, on=body.on or date.today(), reason=body.reason
    )
