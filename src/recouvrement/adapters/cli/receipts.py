"""`recouvrement receipts`: import a bank statement, list the receipts, match one in suspense.

Exit codes of `import`: 0 every transaction recorded (or already recorded), 1 some transactions
rejected (the rest imported), 2 the file refused as a whole (nothing recorded, nothing posted).
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import Actor, system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import format_euros_fr
from recouvrement.services import authentication, receipts

app = typer.Typer(help="Encaissements : relevés bancaires camt.053 et CSV.", no_args_is_help=True)

_STATUS_FR = {
    "allocated": "affecté",
    "suspense": "en attente",
    "returned": "rejeté par la banque",
    "rejected": "refusé",
    "reversal": "rejet de prélèvement",
}


def _actor(engine, login: str | None) -> Actor:
    return authentication.actor_for_login(engine, login) if login else system_actor()


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError.single("date", f"date invalide : {value!r} (AAAA-MM-JJ)") from None


def _progress(phase: str, done: int) -> None:
    print(f"{phase} : {done} opérations", file=sys.stderr, flush=True)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="relevé camt.053 (XML) ou CSV"),
    file_format: str | None = typer.Option(
        None, "--format", help="camt053 ou csv (par défaut d'après l'extension)"
    ),
    agent: str | None = typer.Option(None, "--agent", help="importer au nom de cet agent"),
    day: str | None = typer.Option(
        None, "--date", help="date de réception des dossiers d'attente (AAAA-MM-JJ)"
    ),
) -> None:
    """Importe un relevé : affecte les encaissements, met les autres en attente."""
    engine = default_engine()
    try:
        report = receipts.import_statement(
            engine,
            _actor(engine, agent),
            file,
            file_format=file_format,
            on=_day(day),
            progress=_progress,
        )
    except DomainError as err:
        for p in err.problems:
            where = f"{p.field} : " if p.field else ""
            typer.secho(f"Fichier refusé : {where}{p.reason}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"Import n° {report['id']} : {report['transactions']} opérations, "
        f"{report['allocated']} affectées, {report['suspense']} en attente, "
        f"{report['returned']} rejets de prélèvement, {report['rejected']} refusées, "
        f"{report['already_imported']} déjà importées ; "
        f"{format_euros_fr(report['amount'])} encaissés."
    )
    cases = report["cases"]
    typer.echo(f"Dossiers d'attente ouverts : {cases.get('opened', 0)}")
    if cases.get("reason"):
        typer.secho(f"Dossiers non ouverts : {cases['reason']}", fg=typer.colors.YELLOW)
    if report["rejected"]:
        for r in receipts.list_receipts(
            engine, _actor(engine, agent), status="rejected", import_id=report["id"], limit=1000
        ):
            typer.echo(f"  refusée : {r['reason']}")
        raise typer.Exit(1)


@app.command("list")
def list_(
    status: str | None = typer.Option(
        None, "--status", help="allocated, suspense, returned, rejected ou reversal"
    ),
    limit: int = typer.Option(100, "--limit"),
    agent: str | None = typer.Option(None, "--agent", help="lister au nom de cet agent"),
) -> None:
    """Liste les encaissements (les plus anciens d'abord)."""
    engine = default_engine()
    rows = receipts.list_receipts(engine, _actor(engine, agent), status=status, limit=limit)
    for r in rows:
        who = f"cotisant {r['contributor_id']}" if r["contributor_id"] else "-"
        amount = format_euros_fr(r["amount"]) if r["amount"] else "?"
        typer.echo(
            f"{r['id']}\t{r['value_date'] or '?'}\t{amount}\t{_STATUS_FR[r['status']]}\t"
            f"{who}\t{r['bank_reference']}\t{r['reason']}"
        )
    if not rows:
        typer.echo("Aucun encaissement.")


@app.command("match")
def match(
    receipt_id: int = typer.Argument(..., help="n° de l'encaissement en attente"),
    contributor_id: int = typer.Argument(..., help="n° du cotisant"),
    agent: str = typer.Option(..., "--agent", help="agent qui affecte l'encaissement"),
    day: str = typer.Option(..., "--date", help="date de l'affectation (AAAA-MM-JJ)"),
) -> None:
    """Affecte un encaissement en attente au compte d'un cotisant."""
    engine = default_engine()
    r = receipts.match_receipt(
        engine, _actor(engine, agent), receipt_id, contributor_id, on=_day(day) or date.min
    )
    typer.echo(
        f"Encaissement {r['id']} ({format_euros_fr(r['amount'])}) affecté au cotisant "
        f"{r['contributor_id']}."
    )
