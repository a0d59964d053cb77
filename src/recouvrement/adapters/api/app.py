"""FastAPI application: routers are thin, errors are JSON naming the field and the reason."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from recouvrement import __version__
from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.errors import Conflict, DomainError, Forbidden, NotFound
from recouvrement.services import audit


def _status(err: DomainError) -> int:
    if isinstance(err, NotFound):
        return 404
    if isinstance(err, Forbidden):
        if any(p.code == "unauthenticated" for p in err.problems):
            return 401
        return 403
    if isinstance(err, Conflict):
        return 409
    return 422


_REASONS = {
    "missing": "champ obligatoire",
    "int_parsing": "nombre entier attendu",
    "int_type": "nombre entier attendu",
    "int_from_float": "nombre entier attendu",
    "bool_parsing": "booléen attendu (true ou false)",
    "bool_type": "booléen attendu (true ou false)",
    "string_type": "texte attendu",
    "date_parsing": "date invalide (attendu AAAA-MM-JJ)",
    "date_from_datetime_parsing": "date invalide (attendu AAAA-MM-JJ)",
    "date_type": "date invalide (attendu AAAA-MM-JJ)",
    "json_invalid": "JSON illisible",
    "model_attributes_type": "objet JSON attendu",
    "dict_type": "objet JSON attendu",
    "list_type": "liste attendue",
    "extra_forbidden": "champ inconnu",
}


def _french_reason(error: dict) -> str:
    """Agents read these messages: Pydantic's English is put into French for the usual cases."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        return f"valeur non admise : attendu {ctx.get('expected', '')}".strip()
    if kind in ("greater_than_equal", "greater_than"):
        return f"valeur trop petite (minimum {ctx.get('ge', ctx.get('gt'))})"
    if kind in ("less_than_equal", "less_than"):
        return f"valeur trop grande (maximum {ctx.get('le', ctx.get('lt'))})"
    if kind in ("string_too_long", "too_long"):
        return f"trop long (maximum {ctx.get('max_length')})"
    return _REASONS.get(kind, error.get("msg", "valeur invalide"))


def create_app(engine: Engine | None = None) -> FastAPI:
    app = FastAPI(
        title="recouvrement",
        version=__version__,
        description="Recouvrement des cotisations et contributions sociales : API des agents, "
        "des attributaires et des cotisants.",
    )
    app.state.engine = engine or default_engine()

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, err: DomainError) -> JSONResponse:
        actor = getattr(request.state, "actor", None)
        # A service that audits its own refusals marks them: one refused attempt, one event.
        if isinstance(err, Forbidden) and actor is not None and not audit.refusal_recorded(err):
            audit.record_refusal(
                request.app.state.engine,
                actor,
                f"{request.method} {request.url.path}",
                "route",
                request.url.path,
                str(err),
                request.client.host if request.client else "",
            )
        return JSONResponse(
            status_code=_status(err), content={"errors": [p.as_dict() for p in err.problems]}
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, err: RequestValidationError) -> JSONResponse:
        errors = []
        for e in err.errors():
            loc = [str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path")]
            errors.append(
                {
                    "field": ".".join(loc),
                    "reason": _french_reason(e),
                    "code": e.get("type", "invalid"),
                }
            )
        return JSONResponse(status_code=422, content={"errors": errors})

    @app.get("/health", tags=["service"])
    def health() -> dict:
        with app.state.engine.connect() as conn:
            conn.execute(text("select 1"))
        return {"status": "ok", "version": __version__, "database": app.state.engine.dialect.name}

    from recouvrement.adapters.api import routes

    for router in routes.ROUTERS:
        app.include_router(router, prefix="/api/v1")

    from recouvrement.adapters.web import routes as web_routes

    app.include_router(web_routes.router)
    return app
