"""Bearer tokens become an Actor; refused attempts go to the audit trail."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from recouvrement.domain.actors import Actor, system_actor
from recouvrement.domain.errors import Forbidden, Problem
from recouvrement.services import audit
from recouvrement.services.authentication import actor_for_token

bearer = HTTPBearer(auto_error=False)


def current_actor(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Actor:
    engine = request.app.state.engine
    client = request.client.host if request.client else ""
    if credentials is None or credentials.scheme.lower() != "bearer":
        audit.record_refusal(
            engine,
            system_actor("anonyme"),
            "api.authenticate",
            "route",
            request.url.path,
            "jeton absent",
            client,
        )
        raise Forbidden(
            Problem("authorization", "jeton d'accès (Bearer) requis", "unauthenticated")
        )
    try:
        actor = actor_for_token(engine, credentials.credentials)
    except Forbidden as err:
        audit.record_refusal(
            engine,
            system_actor("anonyme"),
            "api.authenticate",
            "route",
            request.url.path,
            str(err),
            client,
        )
        raise
    request.state.actor = actor
    return actor
