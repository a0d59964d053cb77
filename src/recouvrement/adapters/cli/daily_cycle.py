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
    "credits_already_applied": "crédits déjà imputés (reprise)",
    "anniversary_days": "jours d'échéance de majorations examinés",
    "debts_examined": "dettes examinées pour les majorations",
    "late_debts": "dettes déclarées après leur échéance",
    "surcharge_initial_posted": "majorations initiales passées",
    "surcharge_additional_posted": "majorations complémentaires passées",
    "surcharge_audit_posted": "majorations après contrôle passées",
    "surcharges_already_posted": "majorations déjà passées (reprise)",
    "surcharge_rules_unknown": "dettes sans barème de majoration connu",
    "surcharges_remitted": "majorations remises d'office",
    "remission_requests_withdrawn": "demandes de remise devenues sans objet",
    "remission_rule_unknown": "remises sans règle connue pour la période",
    "reminder": "relances amiables envoyées",
    "final_notice": "derniers avis avant poursuites envoyés",
    "formal_notice": "mises en demeure envoyées",
    "enforcement_order": "contraintes émises",
    "bailiff_handover": "dossiers remis au commissaire de justice",
    "handover_files": "fichiers de remise au commissaire de justice",
    "files_settled": "dossiers soldés",
    "files_prescribed": "dossiers prescrits (plus de poursuite)",
    "files_limitation_unknown": "dossiers dont la prescription n'est pas connue (lacune des règles)",
    "files_without_ladder": "dossiers sans barème de relance",
    "files_suspended": "dossiers suspendus",
    "files_below_minimum": "dossiers sous le seuil de relance",
    "files_waiting": "dossiers en attente de l'étape suivante",
    "payment_plans_followed": "échéanciers suivis",
    "plan_instalments_paid": "échéances d'échéanciers réglées",
    "payment_plans_lapsed": "échéanciers devenus caducs",
    "payment_plans_completed": "échéanciers soldés",
    "refunds_past_legal_deadline": "remboursements au-delà du délai légal",
    "limitation_alerts": "alertes de prescription",
    "prescribed_not_proposed": "créances prescrites non proposées en non-valeur",
    "write_offs_recovered": "créances admises en non-valeur recouvrées",
    "recoveries_already_posted": "recouvrements déjà passés (reprise)",
    "advances_planned": "acomptes aux attributaires calculés",
    "advance_files": "virements d'acompte émis",
    "advance_paid": "acomptes versés",
    "advance_nothing_to_pay": "acomptes nuls (rien à verser)",
    "advance_overdue": "acomptes non calculés à leur date",
    "advance_waiting_for_notification": "acomptes en attente de la notification du fonds",
    "regularisations_planned": "régularisations calculées",
    "regularisation_files": "virements de régularisation émis",
    "regularisation_paid": "régularisations versées",
    "regularisation_nothing_to_pay": "régularisations nulles",
    "regularisation_without_advance": "régularisations sans acompte enregistré",
    "emails_sent": "courriels d'annonce envoyés",
    "emails_pending": "courriels d'annonce en attente (pas de serveur SMTP)",
    "emails_failed": "courriels d'annonce refusés par le serveur",
    "transfer_actions_refused": "actions de reversement refusées (voir le journal d'audit)",
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
