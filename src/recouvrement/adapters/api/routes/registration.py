"""Registration flows: upload a flow file, read an import's report, list the rejects to work."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile

from recouvrement.adapters.api.security import current_actor
from recouvrement.adapters.files.registration_files import MAX_FILE_BYTES
from recouvrement.domain.actors import Actor
from recouvrement.domain.errors import DomainError
from recouvrement.services import registration as service

router = APIRouter(tags=["flux d'immatriculation"])


@router.post("/registration/imports", status_code=201)
def import_file(
    request: Request,
    response: Response,
    file: UploadFile = File(..., description="fichier CSV ou JSON Lines (RI46)"),
    file_format: str | None = Form(None, alias="format", description="csv ou jsonl"),
    encoding: str | None = Form(None, description="encodage si le fichier n'est pas en UTF-8"),
    actor: Actor = Depends(current_actor),
) -> dict:
    """201 with the report of a new import; 200 with the earlier report for a file already sent."""
    data = file.file.read(MAX_FILE_BYTES + 1)
    report = service.import_registration_file(
        request.app.state.engine,
        actor,
        data,
        file.filename,
        date.today(),
        file_format=file_format,
        encoding=encoding,
    )
    if report["replay"]:
        response.status_code = 200
    return report


@router.get("/registration/imports/{import_id}")
def get_import(import_id: int, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    return service.get_import(request.app.state.engine, actor, import_id)


@router.get("/registration/rejects")
def list_rejects(
    request: Request,
    actor: Actor = Depends(current_actor),
    status: str = Query("open", description="statut des rejets, ou `all`"),
    import_id: int | None = None,
    limit: int = Query(50, ge=1, le=service.MAX_PAGE),
    after: str | None = Query(None, description="curseur `next` de la page précédente"),
) -> dict:
    cursor = None
    if after:
        if not after.isdigit():
            raise DomainError.single("after", "curseur invalide", "bad_cursor")
        cursor = int(after)
    return service.list_rejects(
        request.app.state.engine,
        actor,
        status=None if status == "all" else status,
        import_id=import_id,
        limit=limit,
        after=cursor,
    )
