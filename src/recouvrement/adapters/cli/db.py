"""Database schema commands."""

from __future__ import annotations

import typer

from recouvrement.adapters.db import migrate
from recouvrement.config import database_url

app = typer.Typer(help="Base de données : migrations du schéma.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("heads", help="révision cible")) -> None:
    """Met le schéma à jour (migrations Alembic)."""
    url = database_url()
    migrate.upgrade(url, revision)
    safe = url.split("@")[-1] if "@" in url else url
    typer.echo(f"Schéma à jour ({revision}) sur {safe}")
