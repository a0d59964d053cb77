"""`recouvrement audits`: the audit plan (plan de contrôle) from the command line.

Candidates, drafting, the case's moves (submit, sign-off by a director of each party, decline),
starting an audit and recording its results. Every command acts as the agent named by `--agent`
(default: the system), with that agent's rights. Exit code 2 on a refusal.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import Actor, system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import format_euros_fr
from recouvrement.services import audit_plan, authentication

app = typer.Typer(
    help="Plan de contrôle : sélection, approbation, contrôles.", no_args_is_help=True
)

AGENT = typer.Option(None, "--agent", help="agir au nom de cet agent (défaut : le système)")
ON = typer.Option(None, "--on", help="date de l'acte (AAAA-MM-JJ, défaut : aujourd'hui)")


def _actor(engine, login: str | None) -> Actor:
    return authentication.actor_for_login(engine, login) if login else system_actor("contrôle")


def _day(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError.single("on", f"date invalide : {value!r} (AAAA-MM-JJ)") from None


def _run(fn):
    try:
        return fn()
    except DomainError as err:
        for p in err.problems:
            where = f"{p.field} : " if p.field else ""
            typer.secho(f"Refusé : {where}{p.reason}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def _show_plan(plan: dict) -> None:
    typer.echo(
        f"Plan de contrôle n° {plan['id']} ({plan['agreement']}, {plan['year']}) : "
        f"état {plan['state']}, dossier n° {plan['case_id']}, {len(plan['audits'])} contrôle(s)"
    )
    for a in plan["audits"]:
        typer.echo(
            f"  contrôle n° {a['id']} · cotisant {a['contributor_id']} ({a['name']}) · "
            f"score {a['score']} · {a['status']}"
            + (f" · redressé {format_euros_fr(a['adjusted'])}" if a["adjusted"] else "")
        )


@app.command("candidates")
def candidates_(
    year: int = typer.Argument(..., help="année du plan"),
    limit: int = typer.Option(50, "--limit"),
    agent: str | None = AGENT,
    on: str | None = ON,
) -> None:
    """Les cotisants que les critères de risque retiennent, avec leurs raisons."""
    engine = default_engine()
    found = _run(
        lambda: audit_plan.candidates(engine, _actor(engine, agent), year, on=_day(on), limit=limit)
    )
    typer.echo(f"Critères du {found['criteria_from']} (score minimal {found['min_score']})")
    for c in found["items"]:
        why = ", ".join(f"{r['detail']} (+{r['points']})" for r in c["reasons"])
        typer.echo(f"  cotisant {c['contributor_id']} · score {c['score']} · {why}")


@app.command("draft")
def draft(
    year: int = typer.Argument(...),
    limit: int = typer.Option(50, "--limit"),
    contributor: list[int] = typer.Option(None, "--contributor", help="cotisant à inscrire"),
    agreement: str = typer.Option(audit_plan.DEFAULT_AGREEMENT, "--agreement"),
    agent: str | None = AGENT,
    on: str | None = ON,
) -> None:
    """Prépare le plan de l'année : les candidats retenus, ou les cotisants nommés."""
    engine = default_engine()
    plan = _run(
        lambda: audit_plan.draft_plan(
            engine, _actor(engine, agent), year, on=_day(on), limit=limit,
            contributor_ids=contributor or None, agreement_code=agreement,
        )
    )  # fmt: skip
    _show_plan(plan)


@app.command("move")
def move(
    plan_id: int = typer.Argument(...),
    action: str = typer.Argument(..., help="submit, sign_off, decline ou abandon"),
    reason: str = typer.Option("", "--reason"),
    agent: str | None = AGENT,
    on: str | None = ON,
) -> None:
    """Fait avancer le dossier du plan (signature d'un directeur de chaque partie)."""
    engine = default_engine()
    plan = _run(
        lambda: audit_plan.move_plan(
            engine, _actor(engine, agent), plan_id, action, on=_day(on), reason=reason
        )
    )
    _show_plan(plan)


@app.command("show")
def show(plan_id: int = typer.Argument(...), agent: str | None = AGENT) -> None:
    engine = default_engine()
    _show_plan(_run(lambda: audit_plan.get_plan(engine, _actor(engine, agent), plan_id)))


@app.command("start")
def start(audit_id: int = typer.Argument(...), agent: str | None = AGENT, on: str | None = ON):
    """Commence un contrôle d'un plan approuvé (l'organisme de recouvrement)."""
    engine = default_engine()
    a = _run(lambda: audit_plan.start_audit(engine, _actor(engine, agent), audit_id, on=_day(on)))
    typer.echo(f"Contrôle n° {a['id']} commencé le {a['started_on']}")


@app.command("results")
def results(
    audit_id: int = typer.Argument(...),
    file: Path | None = typer.Option(
        None, "--file", help='JSON : [{"period", "fund", "item", "amount": "1200.00"}]'
    ),
    notice: str = typer.Option(..., "--notice", help="date de la mise en demeure (AAAA-MM-JJ)"),
    agent: str | None = AGENT,
) -> None:
    """Clôt un contrôle : chaque redressement devient une dette de sa période."""
    engine = default_engine()
    lines = json.loads(file.read_text(encoding="utf-8")) if file else []
    a = _run(
        lambda: audit_plan.record_results(
            engine, _actor(engine, agent), audit_id, lines, notice_date=_day(notice)
        )
    )
    typer.echo(f"Contrôle n° {a['id']} achevé : redressé {format_euros_fr(a['adjusted'])}")
    for line in a["adjustments"]:
        typer.echo(
            f"  {line['period']} · {line['fund']} · {line['item']} : "
            f"{format_euros_fr(line['amount'])} (écriture {line['entry_key']})"
        )
