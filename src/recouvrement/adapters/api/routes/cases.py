"""Cases: open, list with filters, read, move along the state machine, assign, comment, attach.

`on` is the business date of the act (default: today); an agent records a complaint received by
mail on the day it arrived, which starts the service commitment's clock.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.domain.errors import DomainError
from recouvrement.services import case_queues, cases

router = APIRouter(tags=["dossiers"])


class CaseIn(BaseModel):
    case_type: str = Field(
        description="reception_visit, complaint, registration_reject, entitlement_reject, "
        "anomaly ou national_referral"
    )
    payload: dict = Field(
        default_factory=dict,
        description="accueil (desk, visitor, topic), réclamation (channel, subject)…",
    )
    contributor_id: int | None = None
    priority: str = "normal"
    agreement: str = cases.DEFAULT_AGREEMENT
    on: date | None = Field(None, description="date de réception (défaut : aujourd'hui)")


class TransitionIn(BaseModel):
    action: str
    note: str = ""
    data: dict = Field(default_factory=dict, description="champs exigés par l'action")
    on: date | None = None


class AssignmentIn(BaseModel):
    agent: str | None = Field(None, description="identifiant de l'agent ; vide : file équilibrée")
    note: str = ""
    on: date | None = None


class CommentIn(BaseModel):
    text: str
    on: date | None = Field(None, description="date du commentaire (défaut : aujourd'hui)")


def _cursor(after: str | None) -> int | None:
    if not after:
        return None
    if not after.isdigit():
        raise DomainError.single("after", "curseur invalide", "bad_cursor")
    return int(after)


@router.post("/cases", status_code=201)
def open_case(body: CaseIn, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    return cases.open_case(
        request.app.state.engine,
        actor,
        body.case_type,
        on=body.on or date.today(),
        payload=body.payload,
        contributor_id=body.contributor_id,
        priority=body.priority,
        agreement_code=body.agreement,
    )


@router.get("/cases")
def list_cases(
    request: Request,
    actor: Actor = Depends(current_actor),
    on: date | None = Query(None, description="date du calcul du temps restant"),
    case_type: str | None = None,
    state: str | None = None,
    activity: str | None = None,
    assignee: str | None = None,
    owner: str | None = Query(None, description="code de l'organisme propriétaire"),
    contributor_id: int | None = None,
    priority: str | None = None,
    open: bool | None = Query(None, description="dossiers ouverts (true) ou clos (false)"),
    breached: bool | None = Query(None, description="engagement de service dépassé"),
    overdue: bool | None = Query(None, description="en retard à la date `on`"),
    limit: int = Query(50, ge=1, le=cases.MAX_PAGE),
    after: str | None = Query(None, description="curseur `next` de la page précédente"),
) -> dict:
    return case_queues.list_cases(
        request.app.state.engine,
        actor,
        on=on or date.today(),
        case_type=case_type,
        state=state,
        activity=activity,
        assignee=assignee,
        owner=owner,
        contributor_id=contributor_id,
        priority=priority,
        open_only=open,
        breached=breached,
        overdue=overdue,
        limit=limit,
        after=_cursor(after),
    )


@router.get("/cases/{case_id}")
def get_case(
    case_id: int,
    request: Request,
    actor: Actor = Depends(current_actor),
    on: date | None = Query(None, description="date du calcul du temps restant"),
) -> dict:
    return cases.get_case(request.app.state.engine, actor, case_id, on=on or date.today())


@router.post("/cases/{case_id}/transitions")
def transition(
    case_id: int, body: TransitionIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return cases.transition(
        request.app.state.engine,
        actor,
        case_id,
        body.action,
        on=body.on or date.today(),
        note=body.note,
        data=body.data,
    )


@router.post("/cases/{case_id}/assignment")
def assign(
    case_id: int, body: AssignmentIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return cases.assign(
        request.app.state.engine,
        actor,
        case_id,
        body.agent,
        on=body.on or date.today(),
        note=body.note,
    )


@router.post("/cases/{case_id}/comments", status_code=201)
def comment(
    case_id: int, body: CommentIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return {"id": cases.comment(request.app.state.engine, actor, case_id, body.text, on=body.on)}


@router.post("/cases/{case_id}/attachments", status_code=201)
async def attach(
    case_id: int,
    request: Request,
    file: UploadFile = File(...),
    on: date | None = Query(None, description="date du dépôt (défaut : aujourd'hui)"),
    actor: Actor = Depends(current_actor),
) -> dict:
    content = await file.read(cases.MAX_ATTACHMENT + 1)
    return cases.attach(
        request.app.state.engine,
        actor,
        case_id,
        file.filename or "",
        file.content_type or "application/octet-stream",
        content,
        on=on,
    )


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def attachment(
    case_id: int, attachment_id: int, request: Request, actor: Actor = Depends(current_actor)
) -> Response:
    att = cases.attachment_content(request.app.state.engine, actor, case_id, attachment_id)
    return Response(
        content=att["content"],
        media_type=att["media_type"],
        headers={"Content-Disposition": f'attachment; filename="{att["name"]}"'},
    )
