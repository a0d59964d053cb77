"""`recouvrement legacy`: import the CACM's debt stock at 31 December 2012, and report on it.

Exit codes of `import`: 0 every line applied (or already applied) and the totals reconciled,
1 some lines rejected or the totals not reconciled (the valid lines are applied), 2 the file
refused as a whole (nothing applied).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import Actor, system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import parse_euros
from recouvrement.services import authentication, legacy_stock

app = typer.Typer(
    help="Stock de créances de la CACM (Mayotte) au 31 décembre 2012.", no_args_is_help=True
)


def _actor(engine, login: str | None) -> Actor:
    return authentication.actor_for_login(engine, login) if login else system_actor("reprise CACM")


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="fichier du stock (CSV ou JSON Lines)"),
    control_total: str | None = typer.Option(
        None, "--control-total", help="total de contrôle en euros (remplace celui de l'en-tête)"
    ),
    file_format: str | None = typer.Option(None, "--format", help="csv ou jsonl"),
    agent: str | None = typer.Option(None, "--agent", help="importer au nom de cet agent"),
    day: str | None = typer.Option(None, "--date", help="date de l'import (AAAA-MM-JJ)"),
) -> None:
    """Reprend les pièces valides en écritures d'ouverture ; garde les lignes rejetées."""
    engine = default_engine()
    try:
        control = None if control_total is None else parse_euros(control_total, "control_total")
        today = date.fromisoformat(day) if day else date.today()
        report = legacy_stock.import_legacy_file(
            engine,
            _actor(engine, agent),
            file.read_bytes(),
            file.name,
            today,
            file_format=file_format,
            control_total=control,
        )
    except (DomainError, ValueError, OSError) as err:
        problems = err.problems if isinstance(err, DomainError) else ()
        for p in problems:
            where = f"{p.field} : " if p.field else ""
            typer.secho(f"Fichier refusé : {where}{p.reason}", fg=typer.colors.RED, err=True)
        if not problems:
            typer.secho(f"Fichier refusé : {err}", fg=typer.colors.RED, err=True)
        typer.echo("Rien n'est appliqué.", err=True)
        raise typer.Exit(2) from None
    if report["status"] == "already_imported":
        typer.echo(f"Fichier déjà importé (reprise n° {report['id']}) : rien de nouveau.")
    for line in legacy_stock.format_import(report):
        typer.echo(line)
    if report["rejected"] or report["reconciled"] is False:
        raise typer.Exit(1)


@app.command("report")
def report(
    agent: str | None = typer.Option(None, "--agent", help="au nom de cet agent"),
    as_json: bool = typer.Option(False, "--json", help="sortie JSON (montants en centimes)"),
) -> None:
    """Le stock repris, par état au 31 décembre 2012, et ce qu'il en reste dû."""
    engine = default_engine()
    data = legacy_stock.stock_report(engine, _actor(engine, agent))
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for line in legacy_stock.format_report(data):
        typer.echo(line)
