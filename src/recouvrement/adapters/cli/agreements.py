"""Agreements as data: list them, validate a file, show who does what and where each setting
comes from."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from recouvrement.agreements.loader import (
    AgreementError,
    install_agreement,
    local_directory,
    parse_agreement,
    shipped_agreements,
)
from recouvrement.agreements.model import JOINT

app = typer.Typer(
    help="Conventions et avenants : qui fait quoi, engagements, annexes.", no_args_is_help=True
)


def _fail(err: Exception) -> None:
    typer.secho(f"Erreur : {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@app.command("list")
def list_() -> None:
    """Liste les conventions livrées."""
    try:
        registry = shipped_agreements()
    except AgreementError as err:
        _fail(err)
    for code, a in sorted(registry.agreements.items()):
        amends = f" (modifie {a.amends})" if a.amends else ""
        end = a.valid_to.isoformat() if a.valid_to else "durée indéterminée"
        typer.echo(f"{code:<16} {a.valid_from} → {end}{amends}  {a.title}")


@app.command("check")
def check(path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True)) -> None:
    """Valide un fichier de convention (YAML) et dit ce qui ne va pas."""
    try:
        a = parse_agreement(path.read_text(encoding="utf-8"), path.name)
    except (AgreementError, UnicodeDecodeError) as err:
        _fail(err)
    typer.echo(
        f"{path.name} : convention « {a.code} » valide ({len(a.activities)} activités, "
        f"{len(a.settings)} paramètres)."
    )


@app.command("load")
def load(path: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True)) -> None:
    """Charge une convention ou un avenant (YAML) après validation ; il rejoint les conventions
    livrées pour toutes les commandes et l'API."""
    try:
        a = install_agreement(path.read_text(encoding="utf-8"), path.name)
    except (AgreementError, UnicodeDecodeError) as err:
        _fail(err)
    typer.echo(f"Convention « {a.code} » chargée dans {local_directory()}.")


@app.command("show")
def show(
    name: str = typer.Argument(..., help="code de la convention, ex. isu-region, unedic-mayotte"),
    on: str = typer.Option(None, "--on", help="date d'appréciation (AAAA-MM-JJ)"),
) -> None:
    """Affiche qui fait quoi et l'origine de chaque paramètre (convention ou avenant)."""
    try:
        when = date.fromisoformat(on) if on else None
    except ValueError:
        _fail(ValueError(f"--on : date invalide {on!r}"))
    try:
        resolved = shipped_agreements().resolve(name, when)
    except AgreementError as err:
        _fail(err)
    a = resolved.agreement
    names = {p.organisation: p.name for c in resolved.chain for p in c.parties}
    typer.secho(a.title, bold=True)
    chain = " ← ".join(c.code for c in resolved.chain)
    typer.echo(f"Convention : {a.code} ({chain}), en vigueur le {resolved.on.isoformat()}")
    typer.echo("Parties : " + ", ".join(f"{p.name} ({p.organisation})" for p in a.parties))
    typer.echo("")
    typer.secho("Qui fait quoi", bold=True)
    for act, origin in resolved.activities.values():
        who = "organisation commune" if act.run_by == JOINT else names.get(act.run_by, act.run_by)
        if act.role:
            who += f" — {act.role}"
        line = f"  {act.label} : {who} [{act.article}; {origin}]"
        if act.commitment:
            c = act.commitment
            line += f" — engagement : {c.deadline_business_days} j. ouvrés"
        typer.echo(line)
    if a.targets:
        typer.echo("")
        typer.secho("Objectifs quantifiés", bold=True)
        for t in a.targets:
            typer.echo(f"  {t.label} : {t.target} ({t.source})")
    typer.echo("")
    typer.secho("Paramètres (origine)", bold=True)
    for key, s in sorted(resolved.settings.items()):
        typer.echo(f"  {key} = {s.value}  [{s.origin} : {s.source}]")
        if s.overrides is not None:
            typer.echo(f"      (prévaut sur {s.overrides.origin} : {s.overrides.value})")
    typer.echo("")
    typer.secho("Annexes", bold=True)
    for annex, (content, origin) in resolved.annexes.items():
        title = content.get("title", annex) if isinstance(content, dict) else annex
        typer.echo(f"  {annex} : {title} [{origin}]")
