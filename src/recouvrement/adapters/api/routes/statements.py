"""A contributor's account statement (JSON or PDF) and the notice of a call (PDF).

A contributor downloads only their own; an agent, those of the organisations they reach. Amounts
in the JSON are integer cents.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.services import statements as service

router = APIRouter(tags=["relevés et avis"])

_AS_OF = "date du relevé (AAAA-MM-JJ) ; aujourd'hui par défaut"
_SINCE = "début des mouvements listés (AAAA-MM-JJ) ; un an avant la date du relevé par défaut"


def _pdf(filename: str, content: bytes) -> Response:
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        content, media_type="application/pdf", headers={"Content-Disposition": disposition}
    )


@router.get("/accounts/{contributor_id}/statement")
def get_statement(
    contributor_id: int,
    request: Request,
    actor: Actor = Depends(current_actor),
    as_of: date | None = Query(None, description=_AS_OF),
    since: date | None = Query(None, description=_SINCE),
) -> dict:
    """Relevé de compte : sommes dues par période et rubrique, majorations, crédit, appels et
    mouvements du compte, total restant dû (centimes)."""
    return service.account_statement_data(
        request.app.state.engine, actor, contributor_id, as_of or date.today(), since
    )


@router.get("/accounts/{contributor_id}/statement.pdf", response_class=Response)
def get_statement_pdf(
    contributor_id: int,
    request: Request,
    actor: Actor = Depends(current_actor),
    as_of: date | None = Query(None, description=_AS_OF),
    since: date | None = Query(None, description=_SINCE),
) -> Response:
    """Le relevé de compte en PDF."""
    name, content = service.account_statement_pdf(
        request.app.state.engine, actor, contributor_id, as_of or date.today(), since
    )
    return _pdf(name, content)


@router.get("/calls/{call_id}/notice.pdf", response_class=Response)
def get_call_notice(
    call_id: int, request: Request, actor: Actor = Depends(current_actor)
) -> Response:
    """L'avis d'appel de cotisations en PDF, tel qu'émis à sa date d'émission."""
    name, content = service.call_notice(request.app.state.engine, actor, call_id)
    return _pdf(name, content)
