"""Calls of contributions: list them, call a self-employed year, declare an income."""

from __future__ import annotations

from datetime import date

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import Actor, system_actor
from recouvrement.domain.money import format_euros_fr, parse_euros
from recouvrement.services import authentication, calls
from recouvrement.services import self_employed_calls as se

app = typer.Typer(help="Appels de cotisations et échéanciers.", no_args_is_help=True)

STATUS_FR = {"scheduled": "prévu", "issued": "émis", "overdue": "impayé", "paid": "payé"}
AGENT = typer.Option(None, "--agent", help="agir au nom de cet agent (défaut : système)")
TODAY = typer.Option(None, "--on", help="date de l'acte, AAAA-MM-JJ (défaut : aujourd'hui)")


def _actor(engine, login: str | None) -> Actor:
    return authentication.actor_for_login(engine, login) if login else system_actor()


def _day(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.secho(f"Erreur : date invalide {value!r} (AAAA-MM-JJ)", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


@app.command("list")
def list_calls(
    contributor_id: int | None = typer.Option(None, "--contributor", help="identifiant cotisant"),
    status: str | None = typer.Option(None, "--status", help="scheduled, issued, overdue, paid"),
    limit: int = typer.Option(100, "--limit"),
    agent: str | None = AGENT,
) -> None:
    """Appels, échéance la plus récente d'abord."""
    engine = default_engine()
    rows = calls.list_calls(engine, _actor(engine, agent), contributor_id, status, limit)
    if not rows:
        typer.echo("Aucun appel.")
    for c in rows:
        typer.echo(
            f"{c['id']:>8}  cotisant {c['contributor_id']:<8} {c['period']:<8} "
            f"échéance {c['due_date']}  {format_euros_fr(c['amount']):>14}  "
            f"{STATUS_FR.get(c['status'], c['status']):<7} {c['reference']}"
        )


@app.command("self-employed")
def call_year(
    contributor_id: int = typer.Argument(..., help="identifiant du travailleur indépendant"),
    year: int = typer.Argument(..., help="année appelée"),
    income: str = typer.Option(..., "--income", help="revenu de référence en euros (30000.00)"),
    basis: str = typer.Option("n-2", "--basis", help="n-2, n-1 ou estimate"),
    schedule: str = typer.Option("monthly", "--schedule", help="monthly ou quarterly"),
    due_day: int | None = typer.Option(None, "--day", help="5 ou 20 (mensuel)"),
    on: str | None = TODAY,
    agent: str | None = AGENT,
) -> None:
    """Appeler (ou recalculer) les cotisations provisionnelles d'une année, par échéances."""
    engine = default_engine()
    result = se.call_year(
        engine,
        _actor(engine, agent),
        contributor_id,
        year,
        schedule=schedule,
        due_day=due_day,
        income_basis_cents=parse_euros(income, "income", allow_negative=True),
        basis=basis,
        today=_day(on),
    )
    if result["status"] == "already_called":
        typer.echo(f"Année {year} déjà appelée avec ces données : rien de nouveau.")
        return
    verb = "appelée" if result["status"] == "called" else "recalculée"
    typer.echo(f"Année {year} {verb} : total {format_euros_fr(result['total'])}.")
    if result["credit"]:
        typer.echo(f"Trop appelé porté au crédit du compte : {format_euros_fr(result['credit'])}.")
    for c in calls.list_calls(engine, system_actor(), contributor_id, None, 100):
        if c["period"].startswith(str(year)):
            typer.echo(
                f"  {c['period']:<8} échéance {c['due_date']}  {format_euros_fr(c['amount'])}"
            )


@app.command("declare-income")
def declare_income(
    contributor_id: int = typer.Argument(..., help="identifiant du travailleur indépendant"),
    year: int = typer.Argument(..., help="année des revenus"),
    income: str = typer.Option(..., "--income", help="revenu déclaré en euros"),
    on: str | None = TODAY,
    agent: str | None = AGENT,
) -> None:
    """Revenu d'une année déclaré : régularisation de cette année, recalcul de la suivante."""
    engine = default_engine()
    result = se.declare_income(
        engine,
        _actor(engine, agent),
        contributor_id,
        year,
        parse_euros(income, "income", allow_negative=True),
        today=_day(on),
    )
    reg = result["regularisation"]
    if reg["status"] == "already_regularised":
        typer.echo(f"Régularisation {year} déjà faite sur ce revenu.")
    else:
        typer.echo(
            f"Régularisation {year} : à payer {format_euros_fr(reg['owed'])}, "
            f"crédit {format_euros_fr(reg['credit'])}."
        )
    if "recalculation" in result:
        state = {"recalculated": "recalculées", "already_called": "inchangées"}
        status = result["recalculation"]["status"]
        typer.echo(f"Provisionnelles {year + 1} {state.get(status, status)}.")
