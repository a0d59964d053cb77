"""Account statements and call notices from the command line, as PDF files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.services import statements

app = typer.Typer(
    help="Relevés de compte et avis d'appel de cotisations (PDF).", no_args_is_help=True
)


def _date(text: str | None, field: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError.single(
            field, f"date invalide : {text!r} (AAAA-MM-JJ)", "bad_date"
        ) from None


def _write(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    typer.echo(f"{path} écrit ({len(content)} octets).")


@app.command("account")
def account(
    contributor_id: int = typer.Argument(..., help="identifiant du cotisant"),
    pdf: Path = typer.Option(..., "--pdf", help="fichier PDF à écrire"),
    as_of: str | None = typer.Option(
        None, "--as-of", help="date du relevé AAAA-MM-JJ (aujourd'hui)"
    ),
    since: str | None = typer.Option(None, "--since", help="début des mouvements AAAA-MM-JJ"),
) -> None:
    """Écrit le relevé de compte d'un cotisant en PDF."""
    when = _date(as_of, "as_of") or date.today()
    _, content = statements.account_statement_pdf(
        default_engine(), system_actor(), contributor_id, when, _date(since, "since")
    )
    _write(pdf, content)


@app.command("notice")
def notice(
    call_id: int = typer.Argument(..., help="identifiant de l'appel"),
    pdf: Path = typer.Option(..., "--pdf", help="fichier PDF à écrire"),
) -> None:
    """Écrit l'avis d'appel de cotisations d'un appel en PDF."""
    _, content = statements.call_notice(default_engine(), system_actor(), call_id)
    _write(pdf, content)
