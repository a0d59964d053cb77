"""`recouvrement run-day DATE` and `recouvrement run-until DATE [--from DATE]`: the daily cycle.

Progress goes to stderr (a line per day, and per batch of a long step), the French summary to
stdout. A day already done may be run again: it changes nothing, and the output says so.
"""

from __future__ import annotations

import time
from datetime import date

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import format_euros_fr
from recouvrement.services import daily_cycle
from recouvrement.services.daily_cycle import DayReport

LABELS = {
    "calls_issued": "appels de cotisations émis",
    "call_notices": "avis d'appel produits",
    "credits_applied": "crédits imputés sur des dettes échues",
    "calls_overdue": "appels impayés à l'échéance (incidents de paiement)",
    "calls_paid": "appels soldés",
    "surcharges_posted": "majorations de retard passées",
    "commitment_breaches_found": "dépassements d'engagement de service constatés",
}


def _fail(message: str) -> None:
    typer.secho(f"Erreur : {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"{what} invalide « {value} » : date attendue au format AAAA-MM-JJ")
        raise  # unreachable: _fail exits


def seconds_fr(seconds: float) -> str:
    return f"{seconds:.1f} s".replace(".", ",")


def label(kind: str) -> str:
    return LABELS.get(kind, kind.replace("_", " "))


def _counts(report_counts: dict[str, int], amounts: dict[str, int]) -> str:
    parts = []
    for kind, n in report_counts.items():
        if n or amounts.get(kind):
            amount = f" ({format_euros_fr(amounts[kind])})" if amounts.get(kind) else ""
            parts.append(f"{label(kind)} {n}{amount}")
    return " ; ".join(parts) or "rien à faire"


class _Progress:
    """Stderr lines: one per day, one per batch of a step that takes several."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def step(self, day: date, step: str, done: int, total: int) -> None:
        if total > 1:
            typer.echo(f"{day.isoformat()} · {step} : lot {done}/{total}", err=True)

    def day(self, report: DayReport) -> None:
        took = time.perf_counter() - self.started
        self.started = time.perf_counter()
        again = " (jour déjà traité : relancé, rien ne change)" if report.already_done else ""
        line = _counts(report.counts, report.amounts)
        typer.echo(
            f"{report.day.isoformat()} terminé en {seconds_fr(took)}{again} — {line}", err=True
        )


def summary_lines(reports: list[DayReport]) -> list[str]:
    if not reports:
        return ["Aucun jour à traiter : le cycle est à jour."]
    counts: dict[str, int] = {}
    amounts: dict[str, int] = {}
    for r in reports:
        for kind, n in r.counts.items():
            counts[kind] = counts.get(kind, 0) + n
        for kind, cents in r.amounts.items():
            amounts[kind] = amounts.get(kind, 0) + cents
    done_before = sum(1 for r in reports if r.already_done)
    first, last = reports[0].day.isoformat(), reports[-1].day.isoformat()
    span = f"le {first}" if first == last else f"du {first} au {last}"
    lines = [f"Cycle quotidien {span} : {len(reports)} jour(s) traité(s)."]
    if done_before:
        lines.append(
            f"{done_before} jour(s) déjà traité(s) auparavant : relancés sans effet "
            "(chaque étape est idempotente)."
        )
    width = max((len(label(k)) for k in counts), default=0)
    for kind, n in counts.items():
        amount = f"   {format_euros_fr(amounts[kind])}" if kind in amounts else ""
        lines.append(f"  {label(kind):<{width}}  {n:>9}{amount}")
    return lines


def _problem(field: str, reason: str) -> str:
    """Problems name the option the user typed."""
    if not field:
        return reason
    return f"{'--from' if field == 'from' else field} : {reason}"


def _run(action) -> list[DayReport]:
    try:
        return action()
    except DomainError as err:
        _fail("; ".join(_problem(p.field, p.reason) for p in err.problems))
        raise  # unreachable


def run_day(day: str = typer.Argument(..., help="jour à traiter AAAA-MM-JJ")) -> None:
    """Exécute le cycle quotidien d'un jour : émission des appels, imputation des crédits,
    incidents de paiement, majorations, remboursements, engagements de service."""
    when = _date(day, "date")
    progress = _Progress()
    report = _run(
        lambda: daily_cycle.run_day(
            default_engine(), system_actor("cycle quotidien"), when, progress.step
        )
    )
    progress.day(report)
    typer.echo("\n".join(summary_lines([report])))


def run_until(
    day: str = typer.Argument(..., help="dernier jour à traiter AAAA-MM-JJ"),
    start: str = typer.Option(
        None,
        "--from",
        help="premier jour à traiter AAAA-MM-JJ (obligatoire la première fois ; "
        "sinon le cycle reprend au premier jour non terminé)",
    ),
) -> None:
    """Exécute le cycle quotidien jour après jour jusqu'à DATE, en reprenant au premier jour non
    terminé (un jour interrompu est repris)."""
    until = _date(day, "date")
    first = _date(start, "--from") if start else None
    progress = _Progress()
    reports = _run(
        lambda: daily_cycle.run_until(
            default_engine(),
            system_actor("cycle quotidien"),
            until,
            progress.step,
            start=first,
            on_day=progress.day,
        )
    )
    typer.echo("\n".join(summary_lines(reports)))


def register(app: typer.Typer) -> None:
    app.command("run-day")(run_day)
    app.command("run-until")(run_until)
