"""Shared queues: each organisation's share and backlog, breaches of the service commitments,
agents' absences."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.services import case_queues, cases

router = APIRouter(tags=["files partagées"])


class AbsenceIn(BaseModel):
    agent: str
    starts_on: date
    ends_on: date
    reason: str = ""


@router.get("/queues/report")
def report(
    request: Request,
    actor: Actor = Depends(current_actor),
    on: date | None = Query(None, description="date du rapport (défaut : aujourd'hui)"),
    agreement: str = cases.DEFAULT_AGREEMENT,
    as_of: date | None = Query(None, description="date de lecture de la convention"),
) -> dict:
    return case_queues.queue_report(
        request.app.state.engine,
        actor,
        on=on or date.today(),
        agreement_code=agreement,
        as_of=as_of,
    )


@router.get("/queues/breaches")
def breaches(
    request: Request,
    actor: Actor = Depends(current_actor),
    on: date | None = None,
    activity: str | None = None,
    limit: int = Query(50, ge=1, le=cases.MAX_PAGE),
    after: int | None = None,
) -> dict:
    """Open cases whose service commitment the daily check found breached."""
    return case_queues.list_cases(
        request.app.state.engine,
        actor,
        on=on or date.today(),
        activity=activity,
        open_only=True,
        breached=True,
        limit=limit,
        after=after,
    )


@router.post("/queues/absences", status_code=201)
def add_absence(body: AbsenceIn, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    aid = case_queues.add_absence(
        request.app.state.engine, actor, body.agent, body.starts_on, body.ends_on, body.reason
    )
    return {"id": aid}
