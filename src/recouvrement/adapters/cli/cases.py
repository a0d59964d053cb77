"""`recouvrement cases`: the daily check of the service commitments and the queues' report.

`check-commitments` exits 1 when it finds new breaches, so a scheduler can alert on them.
"""

from __future__ import annotations

from datetime import date

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import Actor, system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.services import authentication, case_queues, cases, cases_bulk

app = typer.Typer(
    help="Dossiers : engagements de service, files partagées, rapport de charge.",
    no_args_is_help=True,
)


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.secho(
            f"Erreur : {option} : date invalide {value!r} (attendu AAAA-MM-JJ)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2) from None


def _fail(err: DomainError) -> None:
    for p in err.problems:
        where = f"{p.field} : " if p.field else ""
        typer.secho(f"Erreur : {where}{p.reason}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@app.command("check-commitments")
def check_commitments(day: str = typer.Argument(..., metavar="DATE", help="AAAA-MM-JJ")) -> None:
    """Contrôle quotidien : marque les dossiers dont l'engagement de service est dépassé."""
    on = _day(day, "DATE")
    result = case_queues.check_commitments(default_engine(), on, system_actor("cycle quotidien"))
    typer.echo(
        f"Contrôle du {on.isoformat()} : {result['open']} dossier(s) ouvert(s), "
        f"{result['paused']} en attente du cotisant, {result['new_breaches']} nouveau(x) "
        f"dépassement(s), {result['breached']} dossier(s) ouvert(s) en dépassement."
    )
    if result["new_breaches"]:
        raise typer.Exit(1)


@app.command("report")
def report(
    on: str = typer.Option(None, "--on", help="date du rapport (AAAA-MM-JJ, défaut : aujourd'hui)"),
    agreement: str = typer.Option(cases.DEFAULT_AGREEMENT, help="code de la convention"),
    as_of: str = typer.Option(
        None, "--as-of", help="date de lecture de la convention (défaut : date du rapport)"
    ),
    login: str = typer.Option(None, "--login", help="agent au nom duquel lire (défaut : système)"),
) -> None:
    """Part de chaque organisme dans chaque file, stock, retards et dépassements."""
    engine = default_engine()
    day = _day(on, "--on") if on else date.today()
    try:
        actor: Actor = authentication.actor_for_login(engine, login) if login else system_actor()
        result = case_queues.queue_report(
            engine,
            actor,
            on=day,
            agreement_code=agreement,
            as_of=_day(as_of, "--as-of") if as_of else None,
        )
    except DomainError as err:
        _fail(err)
    typer.secho(
        f"Files partagées au {result['on']} ({result['agreement']}) : {result['open']} "
        f"dossier(s) ouvert(s), {result['overdue']} en retard",
        bold=True,
    )
    if not result["queues"]:
        typer.echo("Aucun dossier ouvert.")
    for q in result["queues"]:
        flag = "équilibrée" if q["balanced"] else "DÉSÉQUILIBRÉE"
        target = f" (seuil {q['balance_target']})" if q["balance_target"] is not None else ""
        typer.echo(
            f"\n{q['activity']} : {q['open']} ouvert(s), écart de part {q['balance_gap']:.2%}"
            f"{target} — {flag}"
        )
        for o in q["organisations"]:
            typer.echo(
                f"  {o['organisation']:<12} {o['open']:>8} ({o['share']:.1%})  "
                f"non attribués {o['unassigned']}, en attente {o['paused']}, "
                f"en retard {o['overdue']}, dépassements {o['breached']}, "
                f"agents disponibles {o['agents_available']}"
            )


@app.command("open-rejects")
def open_rejects(
    import_id: int = typer.Argument(..., help="numéro de l'import du flux RI46"),
    on: str = typer.Option(
        None, "--on", help="date de réception (AAAA-MM-JJ, défaut : aujourd'hui)"
    ),
) -> None:
    """Ouvre un dossier par rejet d'un import de flux d'affiliation, réparti entre les agents."""
    day = _day(on, "--on") if on else date.today()
    try:
        result = cases_bulk.open_registration_reject_cases(
            default_engine(), system_actor(), import_id, on=day
        )
    except DomainError as err:
        _fail(err)
    shares = ", ".join(f"{org} {n}" for org, n in sorted(result.per_organisation.items()))
    typer.echo(
        f"{result.opened} dossier(s) ouvert(s) pour l'import {import_id}"
        + (f" ({shares})" if shares else "")
        + (f", {result.unassigned} sans attributaire" if result.unassigned else "")
        + "."
    )
