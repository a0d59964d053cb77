"""Calls of contributions and exemption requests.

Amounts are sent in euros as decimal text ("30000.00") and returned in cents; `on` is the
business date of the act (default: today). The call notice itself (PDF) is served by the
statements routes.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.domain.money import parse_euros
from recouvrement.services import calls, exemptions
from recouvrement.services import self_employed_calls as se

router = APIRouter(tags=["appels"])


class YearCallIn(BaseModel):
    contributor_id: int
    year: int
    schedule: str = Field("monthly", description="monthly ou quarterly")
    due_day: int | None = Field(None, description="5 ou 20 (mensuel) ; défaut : le 5")
    income: str | int | float = Field(description='revenu de référence en euros : "30000.00"')
    basis: str = Field("n-2", description="n-2, n-1 ou estimate")
    on: date | None = None


class IncomeIn(BaseModel):
    contributor_id: int
    year: int = Field(description="année des revenus déclarés")
    income: str | int | float = Field(description='revenu déclaré en euros : "42000.00"')
    on: date | None = None


class ExemptionIn(BaseModel):
    contributor_id: int
    start_date: date = Field(description="date de création ou de reprise de l'entreprise")
    kind: str = "business_creator"
    note: str = ""
    on: date | None = None


class CheckIn(BaseModel):
    approve: bool
    note: str = ""
    on: date | None = None


def _engine(request: Request):
    return request.app.state.engine


@router.get("/calls")
def list_calls(
    request: Request,
    actor: Actor = Depends(current_actor),
    contributor_id: int | None = None,
    status: str | None = None,
    limit: int = Query(100, ge=1, le=calls.MAX_LIMIT),
) -> dict:
    items = calls.list_calls(_engine(request), actor, contributor_id, status, limit)
    return {"items": items, "unit": "cents"}


@router.get("/calls/{call_id}")
def get_call(call_id: int, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    return {**calls.get_call(_engine(request), actor, call_id), "unit": "cents"}


@router.post("/calls/self-employed", status_code=201)
def call_year(body: YearCallIn, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    return se.call_year(
        _engine(request),
        actor,
        body.contributor_id,
        body.year,
        schedule=body.schedule,
        due_day=body.due_day,
        income_basis_cents=parse_euros(body.income, "income", allow_negative=True),
        basis=body.basis,
        today=body.on or date.today(),
    )


@router.post("/calls/self-employed/income-declarations", status_code=201)
def declare_income(body: IncomeIn, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    return se.declare_income(
        _engine(request),
        actor,
        body.contributor_id,
        body.year,
        parse_euros(body.income, "income", allow_negative=True),
        today=body.on or date.today(),
    )


@router.post("/exemptions", status_code=201)
def enter_exemption(
    body: ExemptionIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return exemptions.enter_exemption(
        _engine(request),
        actor,
        body.contributor_id,
        body.start_date,
        kind=body.kind,
        note=body.note,
        today=body.on or date.today(),
    )


@router.get("/exemptions")
def list_exemptions(
    contributor_id: int, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return {"items": exemptions.list_exemptions(_engine(request), actor, contributor_id)}


@router.get("/exemptions/{exemption_id}")
def get_exemption(
    exemption_id: int, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return exemptions.get_exemption(_engine(request), actor, exemption_id)


@router.post("/exemptions/{exemption_id}/check")
def check_exemption(
    exemption_id: int, body: CheckIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return exemptions.check_exemption(
        _engine(request),
        actor,
        exemption_id,
        approve=body.approve,
        note=body.note,
        today=body.on or date.today(),
    )
