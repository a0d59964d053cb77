"""Bank receipts: upload a statement, list the receipts, match a receipt in suspense to an account.

Amounts are integer cents (`"unit": "cents"`). The collector's agents and accounting officer only;
a contributor never sees the bank's receipts.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.domain.errors import DomainError
from recouvrement.services import receipts as service

router = APIRouter(tags=["encaissements"])
MAX_UPLOAD_BYTES = 256 * 1024 * 1024  # bigger statements go through the command line


class MatchIn(BaseModel):
    contributor_id: int = Field(description="le cotisant à qui affecter l'encaissement")
    designation: list[str] | None = Field(
        None, description="périodes désignées par le cotisant (ex. 2024-03), payées d'abord"
    )
    note: str = ""
    on: date | None = Field(None, description="date de l'affectation (défaut : aujourd'hui)")


@router.post("/receipts/imports", status_code=201)
def import_statement(
    request: Request,
    file: UploadFile = File(..., description="relevé camt.053 (XML) ou CSV"),
    file_format: str | None = Form(None, alias="format", description="camt053 ou csv"),
    on: date | None = Form(None, description="date de réception des dossiers d'attente"),
    actor: Actor = Depends(current_actor),
) -> dict:
    """The import's report: counts by status, entries posted, suspense cases opened."""
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError.single(
            "file",
            f"fichier trop gros pour l'API (plus de {MAX_UPLOAD_BYTES // 1024 // 1024} Mo) : "
            "utiliser « recouvrement receipts import »",
            "too_large",
        )
    return service.import_statement(
        request.app.state.engine,
        actor,
        data,
        file_format=file_format,
        file_name=file.filename,
        on=on,
    )


@router.get("/receipts")
def list_receipts(
    request: Request,
    actor: Actor = Depends(current_actor),
    status: str | None = Query(
        None, description="allocated, suspense, returned, rejected ou reversal"
    ),
    import_id: int | None = None,
    limit: int = Query(100, ge=1, le=service.MAX_PAGE),
    after: int | None = Query(None, description="dernier identifiant de la page précédente"),
) -> dict:
    items = service.list_receipts(
        request.app.state.engine,
        actor,
        status=status,
        import_id=import_id,
        limit=limit,
        after=after,
    )
    return {
        "items": items,
        "next": str(items[-1]["id"]) if len(items) == limit else None,
        "unit": "cents",
    }


@router.post("/receipts/{receipt_id}/match")
def match_receipt(
    receipt_id: int, body: MatchIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return service.match_receipt(
        request.app.state.engine,
        actor,
        receipt_id,
        body.contributor_id,
        on=body.on or date.today(),
        designation=body.designation,
        note=body.note,
    )
