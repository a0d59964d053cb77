"""The landing page someone sees when opening the service's address in a browser.

It says what the service is, where the API and its documentation are, and what the database holds,
so that `make run` followed by opening http://127.0.0.1:8000 shows something useful, not a 404.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from recouvrement import __version__
from recouvrement.services import demo

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# French groups digits with a narrow no-break space: 3 000, not 3,000.
templates.env.filters["thousands"] = lambda n: f"{n:,}".replace(",", "\u202f")

router = APIRouter(include_in_schema=False)

KIND_LABELS = {
    "collector": "organisme de recouvrement",
    "self_employed_fund": "caisse régionale des indépendants",
    "central_agency": "agence centrale",
    "beneficiary_fund": "attributaire",
    "employment_service": "service public de l'emploi",
}


@router.get("/", response_class=HTMLResponse)
def landing(request: Request) -> HTMLResponse:
    summary = demo.region_summary(request.app.state.engine)
    return templates.TemplateResponse(
        request,
        "landing.html",
        {"summary": summary, "kind_labels": KIND_LABELS, "version": __version__},
    )
