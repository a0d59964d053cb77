"""The audit trail from the command line: verify its hash chain, read its latest events."""

from __future__ import annotations

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.services import audit

app = typer.Typer(
    help="Piste d'audit : vérification du chaînage, consultation.", no_args_is_help=True
)


@app.command("verify")
def verify() -> None:
    """Vérifie le chaînage de la piste d'audit ; code de sortie 1 si un événement est altéré ou
    supprimé."""
    problems, head, count = audit.verify(default_engine())
    for p in problems:
        typer.secho(p.reason, fg=typer.colors.RED, err=True)
    if problems:
        typer.secho(
            f"Piste d'audit NON intègre : {len(problems)} anomalie(s) sur {count} événements.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"Piste d'audit intègre : {count} événements, empreinte de tête {head}")


@app.command("list")
def list_(
    object_type: str = typer.Option(None, help="type d'objet (contributor, agent…)"),
    object_id: str = typer.Option(None, help="identifiant de l'objet"),
    actor: str = typer.Option(None, help="identifiant de l'auteur"),
    limit: int = typer.Option(50, min=1, max=10_000),
) -> None:
    """Affiche les derniers événements, du plus récent au plus ancien."""
    for ev in audit.events(
        default_engine(), object_type=object_type, object_id=object_id, actor=actor, limit=limit
    ):
        typer.echo(
            f"{ev['id']:>8} {ev['occurred_at']} {ev['actor']:<20} {ev['outcome']:<8} "
            f"{ev['action']} {ev['object_type']}:{ev['object_id']} {ev['detail']}"
        )
