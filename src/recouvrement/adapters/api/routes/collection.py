"""Amicable collection: the ranked debtor lists of a queue (JSON page or CSV), phone reminders,
and a contributor's collection file with its letters.

Amounts are integer cents in JSON (`min_amount` too), euros with a dot in the CSV. Debtor lists
and the phone log are for the agents authorized on the activities `debtor_lists` and
`phone_reminders`; a contributor reads only their own letters.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.services import collection_files, debtor_lists, phone_reminders

router = APIRouter(tags=["recouvrement amiable"])


class PhoneReminderIn(BaseModel):
    contributor_id: int
    called_on: date | None = Field(None, description="date de l'appel (défaut : aujourd'hui)")
    outcome: str = Field(description="reached, no_answer, wrong_number ou promise")
    promised_on: date | None = Field(None, description="date promise de paiement (promise)")
    promised_amount: int | None = Field(None, description="montant promis en centimes (promise)")
    note: str = ""


def _filters(
    on: date | None = Query(None, description="date de la liste (défaut : aujourd'hui)"),
    organisation: str | None = Query(None, description="code de l'organisme (file d'attente)"),
    scheme: str | None = Query(None, description="employer ou self_employed"),
    min_amount: int = Query(0, ge=0, description="montant dû minimal, en centimes"),
    min_age_days: int = Query(0, ge=0, description="ancienneté minimale de la plus vieille dette"),
    step: str | None = Query(None, description="étape atteinte (reminder…), ou none"),
) -> dict:
    return {
        "on": on or date.today(),
        "organisation": organisation,
        "scheme": scheme,
        "min_amount": min_amount,
        "min_age_days": min_age_days,
        "step": step,
    }


@router.get("/collection/debtors")
def list_debtors(
    request: Request,
    actor: Actor = Depends(current_actor),
    filters: dict = Depends(_filters),
    page: int = Query(1, ge=1),
    page_size: int = Query(50, ge=1, le=debtor_lists.MAX_PAGE),
) -> dict:
    """Une page de la liste des débiteurs classée par score, chaque ligne liée au compte."""
    on = filters.pop("on")
    return debtor_lists.debtor_list(
        request.app.state.engine, actor, on, page=page, page_size=page_size, **filters
    )


@router.get("/collection/debtors.csv", response_class=Response)
def export_debtors(
    request: Request, actor: Actor = Depends(current_actor), filters: dict = Depends(_filters)
) -> Response:
    """La liste filtrée entière en CSV (séparateur « ; », montants en euros)."""
    on = filters.pop("on")
    body = debtor_lists.debtor_list_csv(request.app.state.engine, actor, on, **filters)
    name = f"debiteurs-{on.isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/collection/phone-reminders", status_code=201)
def log_phone_reminder(
    body: PhoneReminderIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    """Enregistre une relance téléphonique ; une promesse suspend la relance écrite."""
    return phone_reminders.log_phone_reminder(
        request.app.state.engine,
        actor,
        body.contributor_id,
        body.called_on or date.today(),
        body.outcome,
        promised_on=body.promised_on,
        promised_amount=body.promised_amount,
        note=body.note,
    )


@router.get("/collection/accounts/{contributor_id}/phone-reminders")
def list_phone_reminders(
    contributor_id: int, request: Request, actor: Actor = Depends(current_actor)
) -> list[dict]:
    """Les relances téléphoniques d'un cotisant, la plus récente d'abord."""
    return phone_reminders.phone_reminders_of(request.app.state.engine, actor, contributor_id)


@router.get("/collection/accounts/{contributor_id}/letters")
def collection_file(
    contributor_id: int, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    """Les étapes de relance atteintes et leurs courriers (le cotisant : ses courriers)."""
    return collection_files.collection_file(request.app.state.engine, actor, contributor_id)


@router.get("/collection/letters/{document_id}.pdf", response_class=Response)
def get_letter(
    document_id: int, request: Request, actor: Actor = Depends(current_actor)
) -> Response:
    """Un courrier de relance, de mise en demeure ou une contrainte, tel qu'envoyé."""
    filename, content = collection_files.letter(request.app.state.engine, actor, document_id)
    disposition = f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        content, media_type="application/pdf", headers={"Content-Disposition": disposition}
    )
