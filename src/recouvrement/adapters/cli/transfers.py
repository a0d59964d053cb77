"""Transfers to the beneficiary funds: the schedule an agreement sets, year by year."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.agreements.loader import AgreementError, shipped_agreements
from recouvrement.domain.actors import Actor, system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import format_euros_fr, parse_euros
from recouvrement.domain.transfer_schedule import EventKind, check_years, transfer_schedule
from recouvrement.services import (
    authentication,
    management_fees,
    portal_export,
    transfer_dispatch,
    transfers,
)

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


# --- carrying out the schedule ------------------------------------------------------------------


def _actor(engine, login: str | None) -> Actor:
    return authentication.actor_for_login(engine, login) if login else system_actor()


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError.single(option, f"date invalide : {value!r} (AAAA-MM-JJ)") from None


def _run(action):
    """Run a service call; its refusal is printed in French, field first."""
    try:
        return action()
    except DomainError as err:
        _fail("; ".join(f"{p.field} : {p.reason}" if p.field else p.reason for p in err.problems))


def _show(row: dict) -> None:
    account = f", compte {row['account']}" if row.get("account") else ""
    typer.echo(
        f"Reversement n° {row['id']} — {row['kind']} {row['year']} ({row['direction']}) : "
        f"{format_euros_fr(row['amount'])}, échéance {row['due_on'].isoformat()}{account}, "
        f"statut {row['status']}"
    )


AGENT = typer.Option(None, "--agent", help="agir au nom de cet agent (agent comptable)")


@app.command("notify")
def notify(
    amount: str = typer.Option(..., "--amount", help="montant notifié en euros, ex. 1234567.89"),
    notified_on: str = typer.Option(..., "--on", help="date de la notification (AAAA-MM-JJ)"),
    notified_by: str = typer.Option(
        ..., "--by", help="qui a notifié, ex. « Direction financière de l'Unédic »"
    ),
    channel: str = typer.Option(
        "letter_and_email", "--channel", help="letter, email ou letter_and_email"
    ),
    reference: str = typer.Option("", "--reference", help="référence du courrier"),
    accept_late: bool = typer.Option(
        False, "--accept-late", help="enregistrer une notification tardive"
    ),
    agreement: str = typer.Option(transfers.MAYOTTE, "--agreement"),
    agent: str | None = AGENT,
) -> None:
    """Enregistre la notification par l'Unédic des encaissements de 2012 (art. 5.3)."""
    engine = default_engine()
    row = _run(
        lambda: transfers.record_fund_notification(
            engine,
            _actor(engine, agent),
            amount=parse_euros(amount, "amount"),
            notified_on=_day(notified_on, "on"),
            notified_by=notified_by,
            channel=channel,
            reference=reference,
            accept_late=accept_late,
            agreement=agreement,
        )
    )
    late = " (TARDIVE)" if row["late"] else ""
    typer.echo(
        f"Notification des encaissements {row['notified_year']} enregistrée{late} : "
        f"{format_euros_fr(row['amount'])}, reçue le {row['notified_on'].isoformat()}."
    )


@app.command("close")
def close(
    year: int = typer.Option(..., "--year", help="exercice N clôturé"),
    closed_on: str = typer.Option(..., "--on", help="date de clôture des comptes (AAAA-MM-JJ)"),
    agreement: str = typer.Option(transfers.MAYOTTE, "--agreement"),
    agent: str | None = AGENT,
) -> None:
    """Enregistre la clôture des comptes de l'exercice N (art. 5.2)."""
    engine = default_engine()
    row = _run(
        lambda: transfers.record_accounts_closing(
            engine, _actor(engine, agent), year, _day(closed_on, "on"), agreement
        )
    )
    late = " (après la date limite)" if row["late"] else ""
    typer.echo(
        f"Clôture des comptes {year} enregistrée le {row['closed_on'].isoformat()}{late} ; "
        f"régularisation due au plus tard le {row['regularisation_due'].isoformat()}."
    )


@app.command("advance")
def advance(
    year: int = typer.Option(..., "--year", help="année N de l'acompte"),
    receipts: str | None = typer.Option(
        None,
        "--receipts",
        help="encaissements de N-1 en euros (par défaut : lus au grand livre ; "
        "premier acompte : montant notifié)",
    ),
    agreement: str = typer.Option(transfers.MAYOTTE, "--agreement"),
    agent: str | None = AGENT,
) -> None:
    """Calcule et enregistre l'acompte annuel de l'année N (art. 5.1 et 5.3)."""
    engine = default_engine()
    _show(
        _run(
            lambda: transfers.plan_advance(
                engine,
                _actor(engine, agent),
                year,
                None if receipts is None else parse_euros(receipts, "receipts"),
                agreement,
            )
        )
    )


@app.command("regularise")
def regularise(
    year: int = typer.Option(..., "--year", help="année N régularisée"),
    final_receipts: str | None = typer.Option(
        None,
        "--final-receipts",
        help="encaissements définitifs de N en euros (par défaut : lus au grand livre)",
    ),
    agreement: str = typer.Option(transfers.MAYOTTE, "--agreement"),
    agent: str | None = AGENT,
) -> None:
    """Calcule et enregistre la régularisation de l'année N (art. 5.2)."""
    engine = default_engine()
    _show(
        _run(
            lambda: transfers.plan_regularisation(
                engine,
                _actor(engine, agent),
                year,
                None if final_receipts is None else parse_euros(final_receipts, "final_receipts"),
                agreement,
            )
        )
    )


@app.command("file")
def file_(
    transfer_id: int = typer.Argument(..., help="n° du reversement"),
    output: Path = typer.Option(..., "--output", help="fichier pain.001 à écrire"),
    agent: str | None = AGENT,
) -> None:
    """Émet le fichier de virement SEPA (pain.001.001.03) d'un reversement, une seule fois."""
    engine = default_engine()
    if output.exists():
        _fail(f"{output} existe déjà : choisir un autre nom")
    actor = _actor(engine, agent)
    row = _run(lambda: transfer_dispatch.stored_or_none(engine, actor, transfer_id))
    if row is None:
        row, xml = _run(lambda: transfer_dispatch.issue_transfer_file(engine, actor, transfer_id))
        note = "émis"
    else:
        row, xml = _run(lambda: transfer_dispatch.stored_transfer_file(engine, actor, transfer_id))
        note = "déjà émis : copie du fichier remis à la banque"
    output.write_bytes(xml)
    typer.echo(f"Fichier {output} écrit ({note}), référence {row['message_id']}.")


@app.command("announce")
def announce(
    transfer_id: int = typer.Argument(..., help="n° du reversement"),
    agent: str | None = AGENT,
) -> None:
    """Envoie par courriel l'annonce (ou la demande de remboursement) aux destinataires de
    l'annexe 3, via le serveur SMTP de RECOUVREMENT_SMTP_HOST et RECOUVREMENT_SMTP_PORT."""
    engine = default_engine()
    row = _run(
        lambda: transfer_dispatch.announce_transfer(
            engine, _actor(engine, agent), transfer_id, now=datetime.now(UTC)
        )
    )
    late = " — APRÈS l'heure limite" if row.get("late") else ""
    typer.echo(f"Reversement n° {transfer_id} : courriel envoyé{late}.")


@app.command("fees")
def fees(
    category: str = typer.Option(..., "--category", help="collection (recouvrement) ou audit"),
    year: int = typer.Option(..., "--year", help="année facturée"),
    on: str = typer.Option(..., "--on", help="date de la facture (AAAA-MM-JJ)"),
    output: Path = typer.Option(..., "--output", help="fichier PDF de la facture"),
    audits: int | None = typer.Option(None, "--audits", help="contrôles achevés dans l'année"),
    agreement: str = typer.Option(transfers.MAYOTTE, "--agreement"),
    agent: str | None = AGENT,
) -> None:
    """Facture les frais de gestion d'une année (avenant, art. 7) et l'inscrit au grand livre."""
    engine = default_engine()
    row, pdf = _run(
        lambda: management_fees.issue_fee_invoice(
            engine,
            _actor(engine, agent),
            agreement=agreement,
            category=category,
            year=year,
            on=_day(on, "on"),
            audits=audits,
        )
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(pdf)
    late = " (émise après le trimestre de facturation)" if row["late"] else ""
    typer.echo(
        f"Facture {row['number']} à {row['billed_to']} : {format_euros_fr(row['amount'])} "
        f"({row['formula']}){late} → {output}"
    )


@app.command("portal-export")
def portal_export_(
    output: Path = typer.Option(..., "--output", help="répertoire des fichiers de l'export"),
    period: str | None = typer.Option(
        None, "--period", help="période dont la fin borne les soldes (AAAA-MM), nouvel export"
    ),
    sequence: int | None = typer.Option(
        None, "--sequence", help="reproduire à l'identique l'export de ce numéro"
    ),
    agreement: str = typer.Option(transfers.MAYOTTE, "--agreement"),
    agent: str | None = AGENT,
) -> None:
    """Export pour le portail des attributaires : tout ce qui est arrivé depuis l'export précédent."""
    if (period is None) == (sequence is None):
        _fail("indiquer soit --period (nouvel export), soit --sequence (reproduction)")
    engine = default_engine()
    actor = _actor(engine, agent)
    if sequence is not None:
        done = _run(
            lambda: portal_export.reproduce_export(
                engine, actor, agreement=agreement, sequence=sequence, directory=output
            )
        )
    else:
        done = _run(
            lambda: portal_export.export_portal(
                engine, actor, agreement=agreement, period=period, directory=output
            )
        )
    rows = ", ".join(f"{name} {count}" for name, count in done["rows"].items())
    typer.echo(
        f"Export n° {done['sequence']} ({done['period']}) : {rows} → {output} "
        f"(empreinte {done['manifest_sha256'][:12]})"
    )
