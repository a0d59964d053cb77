"""Amicable collection from the command line: debtor lists, phone reminders, the ladder in force.

`--agent` acts as that agent (their rights and authorizations apply); without it, the system actor.
Errors are printed in French and exit with code 2 (the common handler of `adapters/cli`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import Actor, system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import format_euros_fr, parse_euros
from recouvrement.services import authentication, collection_files, debtor_lists, phone_reminders

app = typer.Typer(
    help="Recouvrement amiable : listes de débiteurs, relances téléphoniques, échelle de relance.",
    no_args_is_help=True,
)

_STEP_FR = {
    "reminder": "relance amiable",
    "final_notice": "dernier avis avant poursuites",
    "formal_notice": "mise en demeure",
    "enforcement_order": "contrainte",
    "bailiff_handover": "remise au commissaire de justice",
}
_ANCHOR_FR = {
    "due_date": "après la date d'exigibilité",
    "previous": "après l'étape précédente",
    "previous_deadline": "après le délai de paiement de l'étape précédente",
}


def _actor(engine, login: str | None) -> Actor:
    return authentication.actor_for_login(engine, login) if login else system_actor()


def _day(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError.single("date", f"date invalide : {value!r} (AAAA-MM-JJ)") from None


def _cents(value: str | None) -> int | None:
    return None if value is None else parse_euros(value)


@app.command("debtors")
def debtors(
    on: str | None = typer.Option(None, "--date", help="date de la liste (AAAA-MM-JJ)"),
    organisation: str | None = typer.Option(None, "--organisation", help="code de l'organisme"),
    scheme: str | None = typer.Option(None, "--scheme", help="employer ou self_employed"),
    min_amount: str = typer.Option("0", "--min-amount", help="montant dû minimal en euros"),
    min_age: int = typer.Option(0, "--min-age", help="ancienneté minimale en jours"),
    step: str | None = typer.Option(None, "--step", help="étape atteinte (reminder…) ou none"),
    page: int = typer.Option(1, "--page"),
    page_size: int = typer.Option(50, "--page-size"),
    csv_file: Path | None = typer.Option(None, "--csv", help="écrire la liste entière en CSV"),
    agent: str | None = typer.Option(None, "--agent", help="au nom de cet agent"),
) -> None:
    """Liste des débiteurs classée par score (montant, ancienneté, incidents, prescription)."""
    engine = default_engine()
    actor = _actor(engine, agent)
    filters = {
        "organisation": organisation,
        "scheme": scheme,
        "min_amount": _cents(min_amount) or 0,
        "min_age_days": min_age,
        "step": step,
    }
    day = _day(on)
    if csv_file is not None:
        body = debtor_lists.debtor_list_csv(engine, actor, day, **filters)
        csv_file.write_text(body, encoding="utf-8")
        typer.echo(f"{body.count(chr(10)) - 1} débiteurs écrits dans {csv_file}")
        return
    result = debtor_lists.debtor_list(engine, actor, day, page=page, page_size=page_size, **filters)
    typer.echo(
        f"{result['total']} débiteurs au {day.isoformat()}, "
        f"{format_euros_fr(result['total_owed'])} dus ; page {page}"
    )
    for line in result["lines"]:
        step_fr = _STEP_FR.get(line["step"], "aucune relance") if line["step"] else "aucune"
        limit = line["limitation_date"] or "-"
        typer.echo(
            f"{line['rank']:>5}  {line['score']:6.2f}  n° {line['contributor_id']:<8} "
            f"{line['name'][:32]:<32} {format_euros_fr(line['owed']):>14}  "
            f"{line['age_days']:>4} j  {line['incidents']} incid.  prescr. {limit}  {step_fr}"
        )


@app.command("remind")
def remind(
    contributor_id: int = typer.Argument(..., help="n° du cotisant appelé"),
    outcome: str = typer.Argument(..., help="reached, no_answer, wrong_number ou promise"),
    on: str | None = typer.Option(None, "--date", help="date de l'appel (AAAA-MM-JJ)"),
    promised_on: str | None = typer.Option(None, "--promised-on", help="date promise"),
    promised_amount: str | None = typer.Option(None, "--amount", help="montant promis (euros)"),
    note: str = typer.Option("", "--note"),
    agent: str = typer.Option(..., "--agent", help="l'agent qui a appelé"),
) -> None:
    """Enregistre une relance téléphonique ; une promesse suspend les relances écrites."""
    engine = default_engine()
    row = phone_reminders.log_phone_reminder(
        engine,
        _actor(engine, agent),
        contributor_id,
        _day(on),
        outcome,
        promised_on=_day(promised_on) if promised_on else None,
        promised_amount=_cents(promised_amount),
        note=note,
    )
    typer.echo(f"Relance n° {row['id']} enregistrée pour le cotisant {contributor_id}.")
    if row["hold_id"]:
        typer.echo(f"Relances écrites suspendues (promesse au {row['promised_on']}).")


@app.command("ladder")
def ladder(
    on: str | None = typer.Option(None, "--date", help="date (AAAA-MM-JJ)"),
    contributor_id: int | None = typer.Option(
        None, "--contributor", help="montrer les étapes atteintes par ce cotisant"
    ),
    agent: str | None = typer.Option(None, "--agent", help="au nom de cet agent"),
) -> None:
    """L'échelle de relance en vigueur, par régime ; ou les étapes atteintes par un cotisant."""
    engine = default_engine()
    actor = _actor(engine, agent)
    if contributor_id is not None:
        file = collection_files.collection_file(engine, actor, contributor_id)
        for s in file["steps"]:
            deadline = f", à payer avant le {s['pay_by']}" if s["pay_by"] else ""
            typer.echo(
                f"{s['period']}  {s['reached_on']}  {_STEP_FR.get(s['step'], s['step'])}  "
                f"{s['reference']}  {format_euros_fr(s['amount'])}{deadline}"
            )
        for h in file.get("holds", []):
            end = h["lifted_on"] or h["until"] or "…"
            typer.echo(f"suspension {h['kind']} ({h['source']}) du {h['placed_on']} au {end}")
        if not file["steps"]:
            typer.echo("Aucune relance.")
        return
    for scheme, steps in collection_files.ladder_in_force(actor, _day(on)).items():
        typer.echo(f"Régime {scheme} :")
        for s in steps:
            delay = f"{s['months']} mois " if s["months"] else ""
            delay += f"{s['days']} j" if s["days"] else ""
            typer.echo(
                f"  {s['rank']}. {_STEP_FR.get(s['step'], s['step'])} : {delay.strip()} "
                f"{_ANCHOR_FR[s['after']]} (seuil {format_euros_fr(s['min_amount'])})"
            )
            typer.echo(f"     source : {s['source']}")
