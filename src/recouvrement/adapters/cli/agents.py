"""`recouvrement agents`: load the roster of agents with their rights, set a password.

Both act as the system operator at the command line. The roster format is in docs/agents.md.
"""

from __future__ import annotations

from pathlib import Path

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.adapters.files.agent_roster import read_roster
from recouvrement.domain.actors import system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.services import sessions
from recouvrement.services.agent_roster import load_roster

app = typer.Typer(
    help="Agents : chargement de la liste des agents et de leurs habilitations, mots de passe.",
    no_args_is_help=True,
)


def _fail(err: DomainError, prefix: str) -> None:
    for p in err.problems:
        where = f"{p.field} : " if p.field else ""
        typer.secho(f"{prefix}{where}{p.reason}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@app.command("load")
def load(path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True)) -> None:
    """Charge un fichier d'agents (YAML ou CSV) : agents, rôles, habilitations et formations.

    Tout ou rien : à la moindre erreur, rien n'est enregistré et chaque erreur est affichée.
    Recharger le même fichier ne change rien.
    """
    try:
        entries = read_roster(path.name, path.read_bytes())
        summary = load_roster(default_engine(), system_actor(), entries)
    except DomainError as err:
        _fail(err, "Fichier refusé : ")
    typer.echo(
        f"{path.name} : {summary.agents_created} agent(s) créé(s), "
        f"{summary.agents_updated} mis à jour, {summary.authorizations_granted} habilitation(s) "
        f"attribuée(s), {summary.trainings_recorded} formation(s) enregistrée(s), "
        f"{summary.unchanged} élément(s) déjà à jour."
    )


@app.command("set-password")
def set_password(login: str = typer.Argument(..., help="identifiant de l'agent")) -> None:
    """Définit le mot de passe d'un agent (saisi deux fois, jamais affiché) ; ferme ses sessions."""
    password = typer.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    try:
        sessions.set_password(default_engine(), system_actor(), login, password)
    except DomainError as err:
        _fail(err, "Erreur : ")
    typer.echo(f"Mot de passe de {login} enregistré ; ses sessions ouvertes sont fermées.")
