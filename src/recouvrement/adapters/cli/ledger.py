"""The journal from the command line: check it, read a balance, post a file of entries."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.domain.ledger_records import entry_from_record
from recouvrement.domain.money import format_euros_fr
from recouvrement.services import ledger
from recouvrement.services.ledger_bulk import post_entries_bulk
from recouvrement.services.ledger_check import LedgerReport, check_ledger

app = typer.Typer(help="Journal comptable : contrôle, soldes, écritures.", no_args_is_help=True)


def _n(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def report_lines(report: LedgerReport) -> list[str]:
    """The check's findings in French, one line per finding."""
    lines = [
        f"Contrôle du journal : {_n(report.entries)} écritures, {_n(report.postings)} lignes, "
        f"{_n(report.cache_rows)} soldes en cache."
    ]
    lines.append(f"Écritures déséquilibrées ou incomplètes : {_n(report.unbalanced_count)}")
    for u in report.unbalanced:
        why = (
            f"{u.postings} ligne(s), une écriture en a au moins deux"
            if u.postings < 2
            else f"la somme des lignes fait {u.total} centimes au lieu de 0"
        )
        lines.append(f"  écriture {u.entry_id} (clé {u.idempotency_key}) : {why}")
    lines.append(f"Soldes en cache différents du journal : {_n(report.cache_difference_count)}")
    for d in report.cache_differences:
        cached = "absent" if d.cached is None else f"{d.cached} centimes"
        lines.append(f"  {d.key} : cache {cached}, journal {d.journal} centimes")
    lines.append("Lignes datées autrement que leur écriture : " + _n(report.date_mismatch_count))
    for m in report.date_mismatches:
        lines.append(
            f"  écriture {m.entry_id} (clé {m.idempotency_key}) : {m.postings} ligne(s) "
            "avec une autre date de valeur"
        )
    lines.append(f"Lignes rattachées à une écriture absente : {_n(report.orphan_count)}")
    for entry_id in report.orphan_entry_ids:
        lines.append(f"  écriture {entry_id} introuvable")
    lines.append(
        "Chiffres annuels des attributaires différents du journal : "
        + _n(report.fund_figure_difference_count)
    )
    lines.extend(f"  {finding}" for finding in report.fund_figure_differences)
    shown = (
        len(report.unbalanced)
        + len(report.cache_differences)
        + len(report.date_mismatches)
        + len(report.orphan_entry_ids)
        + len(report.fund_figure_differences)
    )
    total = report.findings
    if shown < total:
        lines.append(f"({_n(total - shown)} anomalies de plus non listées)")
    lines.append(
        "Résultat : journal équilibré, cache conforme."
        if report.ok
        else f"Résultat : {_n(total)} anomalie(s)."
    )
    return lines


@app.command("check")
def check() -> None:
    """Vérifie que chaque écriture est équilibrée et que chaque solde en cache égale le journal.

    Code de sortie 0 si tout est conforme, 1 sinon (avec la liste des anomalies).
    """
    report = check_ledger(default_engine())
    for line in report_lines(report):
        typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)


@app.command("balance")
def balance(
    contributor_id: int = typer.Argument(..., help="identifiant du cotisant"),
    as_of: str | None = typer.Option(None, "--as-of", help="date de valeur AAAA-MM-JJ"),
) -> None:
    """Affiche les soldes d'un cotisant par compte · fonds · rubrique · période."""
    when = _date(as_of, "as_of") if as_of else None
    rows = ledger.balances(default_engine(), system_actor(), contributor_id, as_of=when)
    if not rows:
        typer.echo("Aucun solde.")
    for r in rows:
        key = " · ".join(x or "-" for x in (r["ledger_account"], r["fund"], r["item"], r["period"]))
        typer.echo(f"{key:<70} {format_euros_fr(r['balance']):>18}")


@app.command("post")
def post(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="écritures en JSON Lines"),
    batch_size: int = typer.Option(20_000, help="écritures par lot"),
) -> None:
    """Passe un fichier d'écritures (une par ligne JSON), tout ou rien.

    Chaque ligne : {"key", "value_date", "cause", "description", "reverses",
    "postings": [{"account", "contributor_id", "fund", "item", "period", "debit" | "credit"}]},
    les montants en euros écrits en texte ("120.50"). Un rejeu du même fichier ne passe rien de plus.
    """
    entries, errors, numbers = [], [], []
    with path.open(encoding="utf-8") as f:
        for number, text in enumerate(f, start=1):
            if not text.strip():
                continue
            try:
                entries.append(entry_from_record(json.loads(text)))
                numbers.append(number)
            except json.JSONDecodeError as err:
                errors.append(f"ligne {number} : JSON illisible ({err.msg})")
            except DomainError as err:
                errors.extend(
                    f"ligne {number} : {p.field + ' : ' if p.field else ''}{p.reason}"
                    for p in err.problems
                )
    if errors:
        for e in errors[:200]:
            typer.secho(e, fg=typer.colors.RED, err=True)
        typer.secho(f"{len(errors)} erreur(s) : rien n'est passé.", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    try:
        res = post_entries_bulk(
            default_engine(), system_actor(), entries, batch_size=batch_size, source=path.name
        )
    except DomainError as err:
        for p in err.problems:
            field = _line_of(p.field, numbers)
            typer.secho(f"{field}{p.reason}", fg=typer.colors.RED, err=True)
        typer.secho("Rien n'est passé.", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{res.posted} écriture(s) passée(s), {res.already_posted} déjà passée(s).")


def _line_of(field: str, numbers: list[int]) -> str:
    """entries[12].postings[0].amount → "ligne 14 : postings[0].amount : " (file line numbers)."""
    if field.startswith("entries["):
        index, _, rest = field[len("entries[") :].partition("]")
        if index.isdigit() and int(index) < len(numbers):
            rest = rest.lstrip(".")
            return f"ligne {numbers[int(index)]} : " + (f"{rest} : " if rest else "")
    return f"{field} : " if field else ""


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError.single(
            field, f"date invalide : {value!r} (AAAA-MM-JJ)", "bad_date"
        ) from None
