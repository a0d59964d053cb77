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
                    "reason": e.get("msg", "invalide"),
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
