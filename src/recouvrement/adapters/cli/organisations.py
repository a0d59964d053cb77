"""Organisations, agents and tokens from the command line (the operator acts as the system)."""

from __future__ import annotations

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import system_actor
from recouvrement.services import authentication, organisations

app = typer.Typer(help="Organismes, agents et jetons d'accès.", no_args_is_help=True)


@app.command("list")
def list_() -> None:
    """Liste les organismes."""
    for org in organisations.list_organisations(default_engine()):
        typer.echo(f"{org['code']:<24} {org['kind']:<20} {org['territory'] or '':<4} {org['name']}")


@app.command("token")
def token(
    login: str = typer.Argument(..., help="identifiant de l'agent"),
    days: int = typer.Option(authentication.TOKEN_DAYS, help="durée de validité"),
) -> None:
    """Émet un jeton d'accès à l'API pour un agent (affiché une seule fois)."""
    typer.echo(authentication.issue_token(default_engine(), system_actor(), login, days=days))
