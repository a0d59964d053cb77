"""`recouvrement registration`: import a flow file and list the rejects left for the agents.

Exit codes let a scheduler tell the three outcomes apart: 0 every record applied (or already
applied), 1 some records rejected (the rest applied), 2 the file refused as a whole.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import Actor, system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.services import authentication, registration

app = typer.Typer(
    help="Flux d'affiliation, de modification et de radiation (RI46).", no_args_is_help=True
)


def _actor(engine, login: str | None) -> Actor:
    return authentication.actor_for_login(engine, login) if login else system_actor()


def _fail(err: DomainError) -> None:
    for p in err.problems:
        where = f"{p.field} : " if p.field else ""
        typer.secho(f"Fichier refusé : {where}{p.reason}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _day(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError.single("date", f"date invalide : {value!r} (AAAA-MM-JJ)") from None


def _reject_line(r: dict) -> str:
    rid = f" [{r['record_id']}]" if r["record_id"] else ""
    where = f"{r['field']} : " if r["field"] else ""
    return f"ligne {r['line']}{rid} {where}{r['reason']} ({r['code']})"


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="fichier CSV ou JSON Lines"),
    file_format: str | None = typer.Option(
        None, "--format", help="csv ou jsonl (par défaut d'après l'extension)"
    ),
    encoding: str | None = typer.Option(
        None, "--encoding", help="encodage du fichier s'il n'est pas en UTF-8, ex. latin-1"
    ),
    agent: str | None = typer.Option(
        None, "--agent", help="importer au nom de cet agent (son périmètre s'applique)"
    ),
    day: str | None = typer.Option(None, "--date", help="date du traitement (AAAA-MM-JJ)"),
) -> None:
    """Importe un fichier de flux : applique les bons enregistrements, garde les rejets."""
    engine = default_engine()
    try:
        report = registration.import_registration_file(
            engine,
            _actor(engine, agent),
            file,
            file.name,
            _day(day),
            file_format=file_format,
            encoding=encoding,
        )
    except DomainError as err:
        _fail(err)
    if report["replay"]:
        typer.echo(
            f"Fichier déjà importé (import n° {report['id']} du "
            f"{report['imported_at'][:10]}) : rien n'a changé."
        )
    typer.echo(
        f"Import n° {report['id']} — {report['file_name']} ({report['format']}) : "
        f"{report['records']} enregistrement(s), {report['applied']} appliqué(s), "
        f"{report['rejected']} rejeté(s), {report['already_applied']} déjà appliqué(s)."
    )
    for item in report.get("already_applied_records", []):
        typer.echo(f"  déjà appliqué : ligne {item['line']} [{item['record_id']}]")
    for r in report["rejects"]:
        typer.echo(f"  rejet : {_reject_line(r)}")
    raise typer.Exit(1 if report["rejected"] else 0)


@app.command("rejects")
def rejects(
    status: str = typer.Option("open", help="statut des rejets, ou « all » pour tous"),
    import_id: int | None = typer.Option(None, "--import", help="n° d'import"),
    limit: int = typer.Option(100, help="nombre de lignes au plus"),
    agent: str | None = typer.Option(None, "--agent", help="lister au nom de cet agent"),
) -> None:
    """Liste les rejets de flux à traiter."""
    engine = default_engine()
    try:
        page = registration.list_rejects(
            engine,
            _actor(engine, agent),
            status=None if status == "all" else status,
            import_id=import_id,
            limit=limit,
        )
    except DomainError as err:
        _fail(err)
    for r in page["items"]:
        typer.echo(
            f"#{r['id']} import n° {r['import_id']} ({r['file_name']}) {r['status']} : "
            f"{_reject_line(r)}"
        )
    shown = len(page["items"])
    typer.echo(f"{shown} rejet(s) affiché(s) sur {page['total']}.")
