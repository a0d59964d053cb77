"""A bearer token or a web-session cookie becomes an Actor; refused attempts go to the audit trail.

Both lead to the same Actor (`actor_for_login`), so the service layer checks a request the same
way whichever way it was authenticated. A bearer token, when given, is the one used. A request
authenticated by cookie that changes something must come from our own origin: SameSite=Lax keeps
the cookie off most cross-site requests, and the Origin check refuses the rest.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from recouvrement.domain.actors import Actor, system_actor
from recouvrement.domain.errors import Forbidden, Problem
from recouvrement.services import audit
from recouvrement.services.authentication import actor_for_token
from recouvrement.services.sessions import COOKIE_NAME, actor_for_session

bearer = HTTPBearer(auto_error=False)
session_cookie = APIKeyCookie(name=COOKIE_NAME, auto_error=False)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _refuse(request: Request, reason: str) -> None:
    audit.record_refusal(
        request.app.state.engine,
        system_actor("anonyme"),
        "api.authenticate",
        "route",
        request.url.path,
        reason,
        request.client.host if request.client else "",
    )


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def current_actor(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    cookie: str | None = Depends(session_cookie),
) -> Actor:
    engine = request.app.state.engine
    try:
        if credentials is not None and credentials.scheme.lower() == "bearer":
            actor = actor_for_token(engine, credentials.credentials)
        elif cookie:
            if request.method not in SAFE_METHODS and not _same_origin(request):
                raise Forbidden(
                    Problem(
                        "session",
                        "requête d'une autre origine refusée pour une session web",
                        "unauthenticated",
                    )
                )
            actor = actor_for_session(engine, cookie)
            request.state.session = cookie
        else:
            raise Forbidden(
                Problem(
                    "authorization",
                    "authentification requise : jeton d'accès (Bearer) ou session",
                    "unauthenticated",
                )
            )
    except Forbidden as err:
        _refuse(request, str(err))
        raise
    request.state.actor = actor
    return actor
