"""Write-offs (admission en non-valeur, CSS D243-2): an agent's proposal, the approvals of the
director and the accounting officer, a rejection, and the yearly report by grounds.

Amounts are returned in cents; `on` is the business date of the act (default: today).
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.services import write_off_report, write_offs

router = APIRouter(tags=["admissions en non-valeur"])


class Key(BaseModel):
    fund: str
    item: str
    period: str


class WriteOffIn(BaseModel):
    contributor_id: int
    keys: list[Key]
    grounds: str = Field(
        description="insolvency, closed_liquidation, death, disappearance, small_balance, prescribed"
    )
    reason: str = ""
    on: date | None = None


class ApprovalIn(BaseModel):
    note: str = ""
    on: date | None = None


class RejectionIn(BaseModel):
    reason: str
    on: date | None = None


def _engine(request: Request):
    return request.app.state.engine


@router.post("/write-offs", status_code=201)
def propose(body: WriteOffIn, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    return write_offs.propose(
        _engine(request),
        actor,
        body.contributor_id,
        [(k.fund, k.item, k.period) for k in body.keys],
        body.grounds,
        on=body.on or date.today(),
        reason=body.reason,
    )


@router.get("/write-offs/report", response_model=None)
def report(
    request: Request,
    actor: Actor = Depends(current_actor),
    year: int = Query(description="année des décisions"),
    format: str = Query("json", pattern="^(json|csv)$"),
) -> dict | Response:
    figures = write_off_report.yearly_report(_engine(request), actor, year)
    if format == "csv":
        return Response(
            content=write_off_report.report_csv(figures),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="non-valeurs-{year}.csv"'},
        )
    return figures


@router.get("/write-offs")
def list_write_offs(
    request: Request,
    actor: Actor = Depends(current_actor),
    contributor_id: int | None = None,
    state: str | None = None,
) -> dict:
    items = write_offs.list_write_offs(
        _engine(request), actor, contributor_id=contributor_id, state=state
    )
    return {"items": items}


@router.get("/write-offs/{write_off_id}")
def get_write_off(
    write_off_id: int, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return write_offs.get_write_off(_engine(request), actor, write_off_id)


@router.post("/write-offs/{write_off_id}/approval")
def approve(
    write_off_id: int, body: ApprovalIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return write_offs.approve_write_off(
        _engine(request), actor, write_off_id, on=body.on or date.today(), note=body.note
    )


@router.post("/write-offs/{write_off_id}/rejection")
def reject(
    write_off_id: int, body: RejectionIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return write_offs.reject_write_off(
        _engine(request), actor, write_off_id, on=body.on or date.today(), reason=body.reason
    )
