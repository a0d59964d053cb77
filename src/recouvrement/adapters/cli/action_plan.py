"""The convergence action plan of an agreement: actions, their progress, the report."""

from __future__ import annotations

import json
from datetime import date

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.action_plan import STATUS_LABELS, TOPICS
from recouvrement.domain.actors import Actor, system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.services import action_plan, authentication

app = typer.Typer(
    help="Plan d'actions de convergence (avenant Mayotte, art. 10) : actions, avancement, bilan.",
    no_args_is_help=True,
)

AGREEMENT = typer.Option("unedic-mayotte", "--agreement", help="code de la convention")
AGENT = typer.Option(None, "--agent", help="agir au nom de cet agent")


def _actor(engine, login: str | None) -> Actor:
    return authentication.actor_for_login(engine, login) if login else system_actor()


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError.single(option, f"date invalide : {value!r} (AAAA-MM-JJ)") from None


def _run(action):
    try:
        return action()
    except DomainError as err:
        message = "; ".join(
            f"{p.field} : {p.reason}" if p.field else p.reason for p in err.problems
        )
        typer.secho(f"Erreur : {message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


@app.command("add")
def add(
    code: str = typer.Argument(..., help="référence de l'action, ex. STAT-1"),
    topic: str = typer.Option(..., "--topic", help=f"thème : {', '.join(TOPICS)}"),
    title: str = typer.Option(..., "--title", help="intitulé de l'action"),
    owner: str = typer.Option(..., "--owner", help="organisme responsable (partie)"),
    due_on: str = typer.Option(..., "--due", help="échéance (AAAA-MM-JJ)"),
    on: str = typer.Option(..., "--on", help="date d'inscription au plan (AAAA-MM-JJ)"),
    agreement: str = AGREEMENT,
    agent: str | None = AGENT,
) -> None:
    """Inscrire une action au plan."""
    engine = default_engine()
    view = _run(
        lambda: action_plan.add_action(
            engine,
            _actor(engine, agent),
            agreement=agreement,
            code=code,
            topic=topic,
            title=title,
            owner=owner,
            due_on=_day(due_on, "--due"),
            on=_day(on, "--on"),
        )
    )
    typer.echo(f"Action {view['code']} inscrite : {view['title']} (échéance {view['due_on']})")


@app.command("update")
def update(
    code: str = typer.Argument(..., help="référence de l'action"),
    status: str = typer.Option(..., "--status", help=f"nouvel état : {', '.join(STATUS_LABELS)}"),
    on: str = typer.Option(..., "--on", help="date du nouvel état (AAAA-MM-JJ)"),
    note: str = typer.Option("", "--note", help="commentaire (obligatoire pour une difficulté)"),
    agreement: str = AGREEMENT,
    agent: str | None = AGENT,
) -> None:
    """Enregistrer l'avancement d'une action."""
    engine = default_engine()
    view = _run(
        lambda: action_plan.update_action(
            engine,
            _actor(engine, agent),
            agreement=agreement,
            code=code,
            status=status,
            on=_day(on, "--on"),
            note=note,
        )
    )
    typer.echo(f"Action {view['code']} : {STATUS_LABELS[view['status']]}")


@app.command("present")
def present(
    on: str = typer.Option(..., "--on", help="date de présentation du plan (AAAA-MM-JJ)"),
    to: str = typer.Option(..., "--to", help="instance ou destinataires"),
    agreement: str = AGREEMENT,
    agent: str | None = AGENT,
) -> None:
    """Enregistrer la présentation du plan aux attributaires."""
    engine = default_engine()
    _run(
        lambda: action_plan.record_presentation(
            engine,
            _actor(engine, agent),
            agreement=agreement,
            presented_on=_day(on, "--on"),
            presented_to=to,
        )
    )
    typer.echo(f"Présentation du plan enregistrée le {on}.")


@app.command("report")
def report(
    on: str = typer.Option(..., "--on", help="date du bilan (AAAA-MM-JJ)"),
    output_format: str = typer.Option("text", "--format", help="text ou json"),
    agreement: str = AGREEMENT,
    agent: str | None = AGENT,
) -> None:
    """Bilan d'avancement du plan à une date."""
    engine = default_engine()
    data = _run(
        lambda: action_plan.progress_report(
            engine, _actor(engine, agent), agreement=agreement, on=_day(on, "--on")
        )
    )
    if output_format == "json":
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    done = data["completion"]
    typer.echo(
        f"Plan d'actions {agreement} au {data['on']} : {done['done']}/{done['total']} réalisées"
    )
    if data["plan_deadline"]:
        presented = data["presented_on"] or "non présenté"
        late = " (hors délai)" if data["plan_late"] else ""
        typer.echo(f"Présentation attendue le {data['plan_deadline']} : {presented}{late}")
    for view in data["actions"]:
        flag = " — EN RETARD" if view["code"] in data["late"] else ""
        typer.echo(
            f"  {view['code']:<10} {STATUS_LABELS[view['status']]:<14} "
            f"échéance {view['due_on']}  {view['owner']:<10} {view['title']}{flag}"
        )
    if data["blocked"]:
        typer.echo(f"Difficultés à signaler aux attributaires : {', '.join(data['blocked'])}")
