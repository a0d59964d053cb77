"""`recouvrement plans`: payment plans (délais de paiement) requested, examined, decided, listed.

Each act is done in the name of an agent (`--login`), as the case engine and the audit trail
need a person. A refusal is printed in French with exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import typer

from recouvrement.adapters.cli.acts import act_day, fail
from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import format_euros_fr
from recouvrement.services import authentication, payment_plans

app = typer.Typer(
    help="Délais de paiement : demande, examen, octroi ou refus, suivi des échéances.",
    no_args_is_help=True,
)

LOGIN = typer.Option(..., "--login", help="identifiant de l'agent qui agit")
ON = typer.Option(None, "--on", help="date de l'acte (AAAA-MM-JJ, défaut : aujourd'hui)")
STATUS = payment_plans.STATUS_FR


def _run(action):
    try:
        return action()
    except DomainError as err:
        fail(err)


def _show(plan: dict) -> None:
    status = STATUS.get(plan["status"], plan["status"])
    typer.echo(
        f"Échéancier n° {plan['id']} — compte {plan['contributor_id']}, {plan['months']} mois, "
        f"{status}" + (f", {format_euros_fr(plan['total'])}" if plan.get("total") else "")
    )
    for problem in plan.get("problems") or []:
        typer.echo(f"  condition non remplie : {problem['reason']}")
    for i in plan.get("instalments") or []:
        paid = f", payée le {i['paid_on']}" if i.get("paid_on") else ""
        typer.echo(
            f"  échéance {i['rank']} : {format_euros_fr(i['amount'])} le {i['due_date']}{paid}"
        )


def _actor(engine, login: str):
    return authentication.actor_for_login(engine, login)


@app.command("request")
def request(
    contributor_id: int = typer.Argument(..., help="n° du compte cotisant"),
    months: int = typer.Option(..., "--months", help="durée demandée en mois"),
    reason: str = typer.Option("", "--reason", help="motif de la demande"),
    login: str = LOGIN,
    on: str | None = ON,
) -> None:
    """Enregistrer une demande de délais pour un cotisant."""
    engine = default_engine()
    _show(
        _run(
            lambda: payment_plans.request_plan(
                engine, _actor(engine, login), contributor_id, months=months, on=act_day(on),
                reason=reason,
            )
        )
    )  # fmt: skip


@app.command("examine")
def examine(plan_id: int, login: str = LOGIN, on: str | None = ON) -> None:
    """Examiner une demande au regard des conditions en vigueur."""
    engine = default_engine()
    _show(
        _run(
            lambda: payment_plans.examine_plan(
                engine, _actor(engine, login), plan_id, on=act_day(on)
            )
        )
    )


@app.command("grant")
def grant(
    plan_id: int,
    months: int | None = typer.Option(None, "--months", help="durée accordée (défaut : demandée)"),
    note: str = typer.Option("", "--note", help="observations"),
    login: str = LOGIN,
    on: str | None = ON,
) -> None:
    """Accorder l'échéancier (conditions vérifiées à nouveau ce jour-là)."""
    engine = default_engine()
    _show(
        _run(
            lambda: payment_plans.grant_plan(
                engine, _actor(engine, login), plan_id, on=act_day(on), months=months, note=note
            )
        )
    )


@app.command("refuse")
def refuse(
    plan_id: int,
    reason: str = typer.Option(..., "--reason", help="motif du refus"),
    login: str = LOGIN,
    on: str | None = ON,
) -> None:
    """Refuser la demande, motif à l'appui."""
    engine = default_engine()
    _show(
        _run(
            lambda: payment_plans.refuse_plan(
                engine, _actor(engine, login), plan_id, on=act_day(on), reason=reason
            )
        )
    )


@app.command("list")
def list_(
    contributor_id: int | None = typer.Option(None, "--contributor", help="n° du compte"),
    status: str | None = typer.Option(None, "--status", help=", ".join(STATUS)),
    login: str = LOGIN,
) -> None:
    """Lister les échéanciers accessibles."""
    engine = default_engine()
    plans = _run(
        lambda: payment_plans.list_plans(
            engine, _actor(engine, login), contributor_id=contributor_id, status=status
        )
    )
    for plan in plans:
        _show(plan)
    if not plans:
        typer.echo("Aucun échéancier.")


@app.command("letter")
def letter(
    plan_id: int,
    output: Path = typer.Option(..., "--output", help="fichier PDF à écrire"),
    login: str = LOGIN,
) -> None:
    """Écrire la lettre d'échéancier (PDF) telle qu'envoyée."""
    engine = default_engine()
    pdf = _run(lambda: payment_plans.plan_letter(engine, _actor(engine, login), plan_id))
    output.write_bytes(pdf)
    typer.echo(f"Lettre écrite : {output}")
