"""Assessment explained: one case's lines with base, ceiling, rate, rounding and sources."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.services import assessment as assessment_service

router = APIRouter(tags=["calcul des cotisations"])


@router.get("/assessments/explain")
def explain(
    actor: Actor = Depends(current_actor),
    scheme: Literal["employer_unemployment", "self_employed"] = "employer_unemployment",
    period: str | None = Query(None, description="mois AAAA-MM (employeurs)"),
    territory: str | None = Query(None, description="département, ex. 75 ou 976"),
    gross_pay: str | None = Query(None, description="salaire brut du mois, ex. 2500.00"),
    birth_date: date | None = Query(None, description="date de naissance du salarié"),
    days: int | None = Query(None, description="jours calendaires de présence (mois incomplet)"),
    public_sector: bool = Query(False, description="employeur du secteur public"),
    opt_in: date | None = Query(None, description="date d'adhésion de l'employeur public"),
    year: int | None = Query(None, description="année (indépendants)"),
    activity: Literal["craft", "trade"] | None = Query(None, description="indépendants"),
    income: str | None = Query(None, description="revenu professionnel (indépendants)"),
) -> dict:
    """Each line's base, ceiling, rate, rounding and the source of every parameter, in French."""
    return assessment_service.explain(
        scheme=scheme,
        period=period,
        territory=territory,
        gross_pay=gross_pay,
        birth_date=birth_date,
        days=days,
        public_sector=public_sector,
        opt_in=opt_in,
        year=year,
        activity=activity,
        income=income,
    )


class DeclarationLineIn(BaseModel):
    nir: str
    birth_date: date
    gross_pay: str = Field(description="salaire brut du mois en euros, texte décimal")
    days: int | None = Field(None, description="jours calendaires de présence (mois incomplet)")


class DeclarationIn(BaseModel):
    siret: str
    period: str = Field(description="mois AAAA-MM")
    lines: list[DeclarationLineIn]


@router.post("/assessments/declarations", status_code=201)
def declare(body: DeclarationIn, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    """File a payroll declaration; its debt (or, corrected, the difference) goes to the account."""
    from recouvrement.services import payroll  # the ledger service it posts through

    return payroll.declare(
        request.app.state.engine,
        actor,
        body.siret,
        body.period,
        [line.model_dump(mode="json") for line in body.lines],
        date.today(),
        source="api",
    )
