"""Statistics for the funds: quarterly employment figures by department × activity code."""

from __future__ import annotations

from pathlib import Path

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.adapters.files.statistics_files import write_statistics
from recouvrement.domain.actors import system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import format_euros_fr
from recouvrement.services import authentication, employment_statistics

app = typer.Typer(help="Statistiques d'emploi transmises aux attributaires.", no_args_is_help=True)


@app.command("employment")
def employment(
    quarter: str = typer.Option(..., "--quarter", help="trimestre, ex. 2014-Q1"),
    output: Path = typer.Option(..., "--output", help="fichier .csv ou .parquet"),
    territory: str | None = typer.Option(None, "--territory", help="département, ex. 976"),
    agent: str | None = typer.Option(None, "--agent", help="agir au nom de cet agent"),
) -> None:
    """Effectifs, établissements, masse salariale et contributions par département et code NAF."""
    engine = default_engine()
    try:
        actor = authentication.actor_for_login(engine, agent) if agent else system_actor()
        rows = employment_statistics.quarterly_statistics(engine, actor, quarter, territory)
        count = write_statistics(rows, output)
    except DomainError as err:
        message = "; ".join(
            f"{p.field} : {p.reason}" if p.field else p.reason for p in err.problems
        )
        typer.secho(f"Erreur : {message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    payroll = sum(r["payroll"] for r in rows)
    headcount = sum(r["headcount_end_of_quarter"] for r in rows)
    typer.echo(
        f"{quarter} : {count} lignes (département × code NAF), effectif fin de trimestre "
        f"{headcount}, masse salariale {format_euros_fr(payroll)} → {output}"
    )
