"""`recouvrement limitation`: limitation dates of the debts and the list of soon-prescribed debts.

`dates --contributor N` lists one account's open debts with their limitation dates; without a
contributor, the number and amount of all open debts by year of limitation (set-based, for the
whole stock). `alerts` lists the debts the daily cycle flagged (`limitation.alert_days` before).
"""

from __future__ import annotations

from datetime import date

import typer

from recouvrement.adapters.cli.acts import act_day as _day
from recouvrement.adapters.cli.acts import fail as _fail
from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import format_euros_fr
from recouvrement.services import authentication, limitation

app = typer.Typer(help="Prescription des dettes : dates et alertes.", no_args_is_help=True)

LOGIN = typer.Option(None, "--login", help="lire au nom de cet agent")
ON = typer.Option(None, "--on", help="date de référence (AAAA-MM-JJ, défaut : aujourd'hui)")


def _when(limit: date | None, on: date) -> str:
    if limit is None:
        return "date inconnue (période antérieure aux règles)"
    if limit == date.max:
        return "suspendue"
    state = "prescrite depuis le" if limit < on else "prescrite après le"
    return f"{state} {limit.isoformat()}"


@app.command("dates")
def dates(
    contributor_id: int | None = typer.Option(None, "--contributor", help="numéro du cotisant"),
    on: str | None = ON,
    login: str | None = LOGIN,
) -> None:
    """Dates de prescription des dettes d'un cotisant, ou du stock entier par année."""
    engine = default_engine()
    try:
        day = _day(on)
        actor = authentication.actor_for_login(engine, login) if login else system_actor()
        if contributor_id is None:
            counts = limitation.stock_counts(engine, actor)
        else:
            rows = limitation.dates_for(engine, actor, contributor_id)
    except DomainError as err:
        _fail(err)
    if contributor_id is None:
        if not counts:
            typer.echo("Aucune dette ouverte.")
        for year in sorted(counts, key=lambda y: (y is None, y or 0)):
            count, amount = counts[year]
            label = "inconnue" if year is None else str(year)
            typer.echo(f"{label} : {count} dettes, {format_euros_fr(amount)}")
        return
    if not rows:
        typer.echo("Aucune dette ouverte.")
    for r in rows:
        typer.echo(
            f"{r.period} {r.fund} {r.item} : {format_euros_fr(r.amount)}, "
            f"{_when(r.limitation_date, day)}"
        )


@app.command("alerts")
def alerts(on: str | None = ON, login: str | None = LOGIN) -> None:
    """Dettes signalées avant leur prescription, de la plus proche à la plus lointaine."""
    engine = default_engine()
    try:
        day = _day(on)
        actor = authentication.actor_for_login(engine, login) if login else system_actor()
        rows = limitation.alerts(engine, actor, day)
    except DomainError as err:
        _fail(err)
    if not rows:
        typer.echo("Aucune dette signalée.")
    for r in rows:
        typer.echo(
            f"cotisant {r['contributor_id']} — {r['period']} {r['fund']} {r['item']} : "
            f"{format_euros_fr(r['amount'])}, prescrite après le {r['limitation_date'].isoformat()}"
        )
