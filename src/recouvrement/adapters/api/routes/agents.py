"""Agents, their authorizations and trainings, web sessions, the audit trail and the agreements."""

from __future__ import annotations

import os
from datetime import date

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.services import agents as agents_service
from recouvrement.services import authentication, sessions
from recouvrement.services import authorizations as rights
from recouvrement.services.agreement_catalogue import list_agreements, show_agreement

router = APIRouter(tags=["agents et habilitations"])


def secure_cookies(request: Request) -> bool:
    """Secure cookies unless RECOUVREMENT_SECURE_COOKIES=0 (plain-HTTP development only)."""
    configured = getattr(request.app.state, "secure_cookies", None)
    if configured is not None:
        return bool(configured)
    return os.environ.get("RECOUVREMENT_SECURE_COOKIES", "1") != "0"


class AgentIn(BaseModel):
    login: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=255)
    organisation: str = Field(description="code de l'organisme de rattachement")
    roles: list[str]
    contributor_id: int | None = None


class GrantIn(BaseModel):
    activity: str = Field(description="code d'activité, ex. phone_reminders")
    valid_from: date
    valid_to: date | None = None
    training: str | None = Field(None, description="formation exigée, le cas échéant")


class TrainingIn(BaseModel):
    training: str
    completed_on: date
    expires_on: date | None = None


class LoginIn(BaseModel):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


@router.get("/agents")
def list_agents(
    request: Request, actor: Actor = Depends(current_actor), organisation: str | None = None
) -> list[dict]:
    return agents_service.list_agents(request.app.state.engine, actor, organisation)


@router.post("/agents", status_code=201)
def create_agent(body: AgentIn, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    engine = request.app.state.engine
    authentication.create_agent(
        engine, actor, body.login, body.name, body.organisation, body.roles, body.contributor_id
    )
    return agents_service.get_agent(engine, actor, body.login)


@router.get("/agents/{login}")
def get_agent(login: str, request: Request, actor: Actor = Depends(current_actor)) -> dict:
    return agents_service.get_agent(request.app.state.engine, actor, login)


@router.get("/agents/{login}/authorizations")
def list_authorizations(
    login: str,
    request: Request,
    actor: Actor = Depends(current_actor),
    include_revoked: bool = False,
) -> list[dict]:
    return rights.list_authorizations(request.app.state.engine, actor, login, include_revoked)


@router.post("/agents/{login}/authorizations", status_code=201)
def grant_authorization(
    login: str, body: GrantIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return rights.grant(
        request.app.state.engine,
        actor,
        login,
        body.activity,
        body.valid_from,
        body.valid_to,
        body.training,
    )


@router.delete("/authorizations/{authorization_id}")
def revoke_authorization(
    authorization_id: int, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return rights.revoke(request.app.state.engine, actor, authorization_id)


@router.get("/agents/{login}/trainings")
def list_trainings(login: str, request: Request, actor: Actor = Depends(current_actor)) -> list:
    return rights.list_trainings(request.app.state.engine, actor, login)


@router.post("/agents/{login}/trainings", status_code=201)
def record_training(
    login: str, body: TrainingIn, request: Request, actor: Actor = Depends(current_actor)
) -> dict:
    return rights.record_training(
        request.app.state.engine, actor, login, body.training, body.completed_on, body.expires_on
    )


@router.post("/sessions", status_code=201)
def open_session(body: LoginIn, request: Request, response: Response) -> dict:
    """Login with a password: the session cookie is HttpOnly and SameSite=Lax."""
    value, expires = sessions.login(
        request.app.state.engine,
        body.login,
        body.password,
        request.client.host if request.client else "",
    )
    response.set_cookie(
        sessions.COOKIE_NAME,
        value,
        max_age=sessions.SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )
    return {"login": body.login, "expires_at": expires.isoformat()}


@router.delete("/sessions", status_code=204)
def close_session(request: Request, actor: Actor = Depends(current_actor)) -> Response:
    value = getattr(request.state, "session", None)
    if value:
        sessions.logout(request.app.state.engine, actor, value)
    response = Response(status_code=204)
    response.delete_cookie(
        sessions.COOKIE_NAME,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
    return response


@router.get("/audit/events")
def audit_events(
    request: Request,
    actor: Actor = Depends(current_actor),
    object_type: str | None = None,
    object_id: str | None = None,
    author: str | None = Query(None, description="identifiant de l'auteur"),
    outcome: str | None = Query(None, description="done ou refused"),
    limit: int = Query(100, ge=1, le=agents_service.MAX_EVENTS),
) -> list[dict]:
    return agents_service.audit_events(
        request.app.state.engine,
        actor,
        object_type=object_type,
        object_id=object_id,
        author=author,
        outcome=outcome,
        limit=limit,
    )


@router.get("/agreements")
def agreements(actor: Actor = Depends(current_actor)) -> list[dict]:
    return list_agreements(actor)


@router.get("/agreements/{code}")
def agreement(
    code: str,
    actor: Actor = Depends(current_actor),
    on: date | None = Query(None, description="date d'appréciation (AAAA-MM-JJ)"),
) -> dict:
    return show_agreement(actor, code, on)
