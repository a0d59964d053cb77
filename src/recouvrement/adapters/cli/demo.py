"""The demo region from the command line: `recouvrement demo load`, used by `make run`."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import system_actor
from recouvrement.domain.demo_region import DEFAULT_SEED, MAX_SIZE, RegionSize
from recouvrement.domain.errors import Conflict
from recouvrement.services import authentication, demo

app = typer.Typer(help="Région de démonstration : organismes, agents et cotisants fictifs.")

DEFAULT_TOKENS_FILE = Path("var") / "demo-tokens.txt"


@app.callback()
def _group() -> None:
    """Région de démonstration : organismes, agents et cotisants fictifs."""


def _describe(counts: dict[str, int]) -> str:
    return (
        f"{counts['organisations']} organisme(s), {counts['contributors']} cotisant(s), "
        f"{counts['agents']} agent(s)"
    )


@app.command("load")
def load(
    seed: int = typer.Option(
        DEFAULT_SEED, help="graine du générateur : même graine, mêmes données"
    ),
    self_employed: int = typer.Option(
        3000, min=0, max=MAX_SIZE, help="travailleurs indépendants (artisans, commerçants)"
    ),
    employers: int = typer.Option(300, min=0, max=MAX_SIZE, help="employeurs de Mayotte"),
    mainland_employers: int = typer.Option(
        30, min=0, max=MAX_SIZE, help="employeurs de métropole dans la région"
    ),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="ne rien faire (sans erreur) si la base contient déjà des données"
    ),
    tokens_file: Path = typer.Option(
        DEFAULT_TOKENS_FILE, help="fichier où écrire les jetons d'accès des agents de démonstration"
    ),
    activity: bool = typer.Option(
        False,
        "--activity",
        help="jouer aussi quelques mois de vie (déclarations, paiements, cycle quotidien)",
    ),
) -> None:
    """Charge la région de démonstration dans une base vide."""
    engine = default_engine()
    try:
        existing = demo.stored_counts(engine)
    except (OperationalError, ProgrammingError):
        typer.secho(
            "Erreur : le schéma de la base n'est pas en place ; lancez d'abord "
            "« recouvrement db upgrade ».",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1) from None
    if any(existing.values()):
        if if_empty:
            typer.echo(
                f"La base contient déjà des données ({_describe(existing)}) : "
                "région de démonstration non chargée."
            )
            raise typer.Exit(0)
        _refuse_non_empty(
            f"la base contient déjà {_describe(existing)} : la région de démonstration ne se "
            "charge que dans une base vide"
        )

    size = RegionSize(self_employed, employers, mainland_employers)
    with typer.progressbar(length=1, label="Chargement de la région de démonstration") as bar:

        def on_progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        try:
            report = demo.load_region(
                engine, system_actor(), seed=seed, size=size, on_progress=on_progress
            )
        except Conflict as err:
            if any(p.code == "not_empty" for p in err.problems):
                _refuse_non_empty(str(err))
            raise
    path = _write_tokens(tokens_file, report)
    c = report.counts
    typer.echo(
        f"Région de démonstration chargée (graine {report.seed}) : {c['organisations']} organismes, "
        f"{c['self_employed']} indépendants, {c['employers']} employeurs "
        f"({c['establishments']} établissements, {c['employees']} salariés), "
        f"{c['agents']} comptes d'accès et {c['authorizations']} habilitations."
    )
    typer.echo(f"Jetons d'accès des {len(report.tokens)} comptes de démonstration : {path}")
    if activity:
        _play(engine, seed)


def _play(engine, seed: int) -> None:
    """A few months of declarations, payments and daily cycles, up to the region's date."""
    from recouvrement.services import demo_activity

    with typer.progressbar(length=1, label="Activité de la région (cycle quotidien)") as bar:

        def on_day(day, done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        counts = demo_activity.simulate_activity(
            engine, system_actor("démonstration"), seed=seed, progress=on_day
        )
    typer.echo(
        f"Activité jouée sur {counts['days']} jours : {counts.get('declarations', 0)} déclarations, "
        f"{counts.get('receipts', 0)} paiements reçus, cycle quotidien exécuté chaque jour."
    )


def _refuse_non_empty(reason: str) -> None:
    typer.secho(
        f"Erreur : {reason}. Pour repartir de zéro, supprimez var/recouvrement.db puis lancez "
        "« recouvrement db upgrade » ; pour ne rien faire dans ce cas, ajoutez --if-empty.",
        fg=typer.colors.RED,
        err=True,
    )
    raise typer.Exit(1)


def _write_tokens(path: Path, report: demo.LoadReport) -> Path:
    """One line per login; readable by the owner only, since each line opens the API."""
    path.parent.mkdir(parents=True, exist_ok=True)
    issued = datetime.now(UTC).date().isoformat()
    lines = [
        f"# Jetons d'accès de la région de démonstration (graine {report.seed}), émis le "
        f"{issued}, valables {authentication.TOKEN_DAYS} jours.",
        '# Usage : curl -H "Authorization: Bearer <jeton>" '
        "http://127.0.0.1:8000/api/v1/contributors",
        "# Nouveau jeton : recouvrement organisations token <identifiant>",
        "# identifiant\torganisme\trôles\tjeton",
        *(
            f"{t.login}\t{t.organisation_code}\t{','.join(t.roles)}\t{t.token}"
            for t in report.tokens
        ),
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path.resolve()
