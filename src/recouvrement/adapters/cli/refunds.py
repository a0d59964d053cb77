"""`recouvrement refunds`: request, check, approve and disburse refunds, and list them.

Each act is done in the name of a person (`--login`): the four-eyes rule compares people, so the
command line never approves as the anonymous system. A refusal is printed in French, exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import typer

from recouvrement.adapters.cli.acts import act_day as _day
from recouvrement.adapters.cli.acts import fail as _fail
from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import format_euros_fr, parse_euros
from recouvrement.services import authentication, refunds

app = typer.Typer(
    help="Remboursements : demande, vérification, approbation et décaissement par l'agent comptable.",
    no_args_is_help=True,
)

LOGIN = typer.Option(..., "--login", help="identifiant de l'agent qui agit")
ON = typer.Option(None, "--on", help="date de l'acte (AAAA-MM-JJ, défaut : aujourd'hui)")
_STATES = {
    "requested": "demandé",
    "waiting_for_contributor": "en attente du cotisant",
    "checked": "vérifié",
    "approved": "approuvé",
    "disbursed": "décaissé",
    "rejected": "rejeté",
}


def _show(r: dict) -> None:
    typer.echo(
        f"Remboursement n° {r['id']} — cotisant {r['contributor_id']} : "
        f"{format_euros_fr(r['amount'])}, {_STATES.get(r['state'], r['state'])}"
        + (f", échéance {r['due_on']}" if r["due_on"] and r["state"] != "disbursed" else "")
        + (f", attribué à {r['assignee']}" if r["assignee"] else "")
    )


@app.command("request")
def request(
    contributor_id: int = typer.Argument(..., help="numéro du cotisant"),
    amount: str = typer.Argument(..., help="montant en euros, ex. 300.00"),
    iban: str = typer.Option(..., "--iban", help="IBAN du compte à créditer"),
    bic: str | None = typer.Option(None, "--bic", help="BIC (déduit de l'IBAN si omis)"),
    holder: str | None = typer.Option(None, "--holder", help="titulaire (défaut : le cotisant)"),
    reason: str = typer.Option("", "--reason", help="motif de la demande"),
    on: str | None = ON,
    login: str = LOGIN,
) -> None:
    """Demande de remboursement d'une partie du crédit du compte, à l'initiative d'un agent."""
    engine = default_engine()
    try:
        actor = authentication.actor_for_login(engine, login)
        r = refunds.request_refund(
            engine,
            actor,
            contributor_id,
            parse_euros(amount),
            iban=iban,
            bic=bic,
            holder=holder,
            reason=reason,
            on=_day(on),
        )
    except DomainError as err:
        _fail(err)
    _show(r)


@app.command("check")
def check(case_id: int, on: str | None = ON, login: str = LOGIN, note: str = "") -> None:
    """Vérification par un agent de l'organisation commune ; le dossier passe à l'agent comptable."""
    engine = default_engine()
    try:
        r = refunds.check_refund(
            engine, authentication.actor_for_login(engine, login), case_id, on=_day(on), note=note
        )
    except DomainError as err:
        _fail(err)
    _show(r)


@app.command("approve")
def approve(case_id: int, on: str | None = ON, login: str = LOGIN, note: str = "") -> None:
    """Approbation par l'agent comptable (autre que le vérificateur et que l'agent demandeur)."""
    engine = default_engine()
    try:
        r = refunds.approve_refund(
            engine, authentication.actor_for_login(engine, login), case_id, on=_day(on), note=note
        )
    except DomainError as err:
        _fail(err)
    _show(r)


@app.command("disburse")
def disburse(
    case_ids: list[int] = typer.Argument(..., help="remboursements approuvés à payer"),
    on: str | None = ON,
    execution_date: str | None = typer.Option(
        None, "--execution-date", help="date d'exécution du virement (défaut : --on)"
    ),
    output: Path | None = typer.Option(None, "--output", help="écrire le fichier pain.001 ici"),
    login: str = LOGIN,
) -> None:
    """Décaissement : un fichier de virement SEPA (pain.001) pour les remboursements donnés."""
    engine = default_engine()
    try:
        actor = authentication.actor_for_login(engine, login)
        result = refunds.disburse_refunds(
            engine,
            actor,
            case_ids,
            on=_day(on),
            execution_date=_day(execution_date) if execution_date else None,
        )
        if output is not None:
            content = refunds.refund_file_content(engine, actor, result["file_id"])["content"]
            output.write_bytes(content)
    except DomainError as err:
        _fail(err)
    typer.echo(
        f"Fichier de virement {result['message_id']} (n° {result['file_id']}) : "
        f"{result['payment_count']} remboursement(s), {format_euros_fr(result['total'])}, "
        f"exécution le {result['execution_date']}"
    )


@app.command("list")
def list_(
    state: str | None = typer.Option(None, "--state", help="requested, checked, approved…"),
    contributor_id: int | None = typer.Option(None, "--contributor", help="numéro du cotisant"),
    on: str | None = ON,
    login: str | None = typer.Option(None, "--login", help="lire au nom de cet agent"),
) -> None:
    """Liste des remboursements, du plus récent au plus ancien."""
    engine = default_engine()
    try:
        actor = authentication.actor_for_login(engine, login) if login else system_actor()
        rows = refunds.list_refunds(
            engine, actor, on=_day(on), state=state, contributor_id=contributor_id
        )
    except DomainError as err:
        _fail(err)
    if not rows:
        typer.echo("Aucun remboursement.")
    for r in rows:
        _show(r)
