"""Transfers to the beneficiary funds: the schedule an agreement sets, year by year."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from enum import StrEnum

import typer

from recouvrement.agreements.loader import AgreementError, shipped_agreements
from recouvrement.domain.errors import DomainError
from recouvrement.domain.transfer_schedule import EventKind, check_years, transfer_schedule

app = typer.Typer(
    help="Reversements aux attributaires : acomptes, régularisations, annonces.",
    no_args_is_help=True,
)

LABELS = {
    EventKind.FIRST_ADVANCE_NOTIFICATION_DEADLINE: "notification par le fonds des encaissements",
    EventKind.ADVANCE_ANNOUNCEMENT: "annonce de l'acompte annuel",
    EventKind.ADVANCE_PAYMENT: "versement de l'acompte annuel",
    EventKind.ACCOUNTS_CLOSING_DEADLINE: "clôture des comptes de l'exercice",
    EventKind.REGULARISATION_ANNOUNCEMENT: "annonce du complément (si dû)",
    EventKind.REGULARISATION_DEADLINE: "régularisation annuelle",
}


class Format(StrEnum):
    json = "json"
    text = "text"


def _fail(message: str) -> None:
    typer.secho(f"Erreur : {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _option(field: str) -> str:
    """Range problems name the option the user typed; data problems name the setting."""
    return f"--{field}" if field in ("from", "to") else f"paramètre {field}"


def _when(value: date | datetime, is_deadline: bool) -> str:
    if isinstance(value, datetime) and value.time() == time(0, 0):
        return f"avant le {value.date().isoformat()} ({value.tzinfo})"
    if isinstance(value, datetime):
        return f"avant le {value.date().isoformat()} {value:%H:%M} ({value.tzinfo})"
    return f"au plus tard le {value.isoformat()}" if is_deadline else f"le {value.isoformat()}"


@app.command("calendar")
def calendar(
    agreement: str = typer.Option(..., "--agreement", help="code de la convention"),
    first: int = typer.Option(..., "--from", help="première année N"),
    last: int = typer.Option(..., "--to", help="dernière année N"),
    output: Format = typer.Option(Format.text, "--format", help="json ou text"),
) -> None:
    """Échéancier des reversements : annonces, versements, clôtures et régularisations de chaque
    année N (la régularisation de N tombe en N+1)."""
    try:
        registry = shipped_agreements()
        check_years(registry.get(agreement), first, last)
        start = max(date(first, 1, 1), registry.get(agreement).valid_from)
        events = transfer_schedule(registry.resolve(agreement, start), first, last)
    except AgreementError as err:
        _fail(str(err))
    except DomainError as err:
        _fail("; ".join(f"{_option(p.field)} : {p.reason}" for p in err.problems))
    if output is Format.json:
        typer.echo(json.dumps([e.as_dict() for e in events], ensure_ascii=False, indent=2))
        return
    for e in events:
        line = f"{e.year}  {LABELS[e.kind]:<44} {_when(e.when, e.is_deadline)}"
        if e.account:
            line += f", compte {e.account}"
        typer.echo(f"{line}  [{e.article}, calendrier {e.calendar}]")
