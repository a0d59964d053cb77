"""The audit plan (plan de contrôle): candidates, the plan and its sign-off, the audits carried
out and their adjustments (redressements).

Amounts are sent in euros as decimal text ("1200.00") and returned in cents; `on` is the business
date of the act (default: today).
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.services import audit_plan

router = APIRouter(tags=["contrôle"])


class PlanIn(BaseModel):
    year: int
    on: date | None = Field(None, description="date de préparation du plan")
    limit: int = Field(50, description="nombre de candidats retenus au plus")
    contributor_ids: list[int] | None = Field(
        None, description="cotisants à inscrire ; défaut : les candidats des critères de risque"
    )
    agreement: str = audit_plan.DEFAULT_AGREEMENT


class MoveIn(BaseModel):
    action: str = Field(description="submit, sign_off, decline ou abandon")
    on: date | None = None
    reason: str = ""


class StartIn(BaseModel):
    on: date | None = None


class AdjustmentIn(BaseModel):
    period: str = Field(description="période redressée : 2014, 2014-Q1 ou 2014-03")
    fund: str
    item: str
    amount: str = Field(description='montant en euros, en texte : "1200.00"')


class ResultsIn(BaseModel):
    notice_date: date = Field(description="date de la mise en demeure")
    adjustments: list[AdjustmentIn] = Field(default_factory=list)


def _engine(request: Request):
    return request.app.state.engine


@router.get("/audits/candidates")
def candidates(
    request: Request,
    year: int,
    actor: Actor = Depends(current_actor),
    on: date | None = Query(None, description="date d'application des critères"),
    limit: int = 50,
) -> dict:
    return audit_plan.candidates(_engine(request), actor, year, on=on or date.today(), limit=limit)


@router.post("/audit-plans", status_code=201)
def draft_plan(body: PlanIn, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    return audit_plan.draft_plan(
        _engine(request),
        actor,
        body.year,
        on=body.on or date.today(),
        limit=body.limit,
        contributor_ids=body.contributor_ids,
        agreement_code=body.agreement,
    )


@router.get("/audit-plans/{plan_id}")
def get_plan(plan_id: int, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    return audit_plan.get_plan(_engine(request), actor, plan_id)


@router.post("/audit-plans/{plan_id}/transitions")
def move_plan(
    plan_id: int, body: MoveIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return audit_plan.move_plan(
        _engine(request), actor, plan_id, body.action, on=body.on or date.today(),
        reason=body.reason,
    )  # fmt: skip


@router.get("/audits/{audit_id}")
def get_audit(audit_id: int, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    return audit_plan.get_audit(_engine(request), actor, audit_id)


@router.post("/audits/{audit_id}/start")
def start_audit(
    audit_id: int, body: StartIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return audit_plan.start_audit(_engine(request), actor, audit_id, on=body.on or date.today())


@router.post("/audits/{audit_id}/results")
def record_results(
    audit_id: int, body: ResultsIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return audit_plan.record_results(
        _engine(request),
        actor,
        audit_id,
        [a.model_dump() for a in body.adjustments],
        notice_date=body.notice_date,
    )
