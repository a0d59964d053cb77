"""`recouvrement write-offs`: propose, approve or reject an admission en non-valeur; list them;
the yearly report by grounds (JSON or CSV).

Each act is done in the name of a person (`--login`): the approvals compare people (four eyes).
Keys are written `caisse/rubrique/période`, e.g. `unedic/unemployment_employer/2014-01`. A refusal
is printed in French, exit code 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from recouvrement.adapters.cli.acts import act_day as _day
from recouvrement.adapters.cli.acts import fail as _fail
from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import format_euros_fr
from recouvrement.services import authentication, write_off_report, write_offs

app = typer.Typer(
    help="Admissions en non-valeur : proposition, approbation, état annuel par motif.",
    no_args_is_help=True,
)

LOGIN = typer.Option(..., "--login", help="identifiant de l'agent qui agit")
ON = typer.Option(None, "--on", help="date de l'acte (AAAA-MM-JJ, défaut : aujourd'hui)")


def parse_key(text: str) -> tuple[str, str, str]:
    parts = text.split("/")
    if len(parts) != 3:
        raise DomainError.single(
            "key", f"clé illisible : {text!r} (attendu caisse/rubrique/période)", "bad_key"
        )
    return parts[0], parts[1], parts[2]


def _show(w: dict) -> None:
    approvals = ", ".join(f"{a['login']} ({a['role']})" for a in w["approvals"]) or "aucune"
    typer.echo(
        f"Admission en non-valeur n° {w['id']} — cotisant {w['contributor_id']} : "
        f"{format_euros_fr(w['total'])}, {w['grounds_label']}, {w['state_label']}"
        f" ; approbations : {approvals}"
    )
    for line in w["lines"]:
        typer.echo(
            f"  {line['fund']}/{line['item']}/{line['period']} : "
            f"{format_euros_fr(line['proposed'])} proposé, "
            f"{format_euros_fr(line['written_off'])} admis, "
            f"{format_euros_fr(line['recovered'])} recouvré depuis"
        )


@app.command("propose")
def propose(
    contributor_id: int = typer.Argument(..., help="numéro du cotisant"),
    keys: list[str] = typer.Argument(..., help="créances : caisse/rubrique/période"),
    grounds: str = typer.Option(
        ...,
        "--grounds",
        help="insolvency, closed_liquidation, death, disappearance, small_balance, prescribed",
    ),
    reason: str = typer.Option("", "--reason", help="exposé des faits"),
    on: str | None = ON,
    login: str = LOGIN,
) -> None:
    """Proposer l'admission en non-valeur de créances d'un cotisant."""
    engine = default_engine()
    try:
        actor = authentication.actor_for_login(engine, login)
        w = write_offs.propose(
            engine,
            actor,
            contributor_id,
            [parse_key(k) for k in keys],
            grounds,
            on=_day(on),
            reason=reason,
        )
    except DomainError as err:
        _fail(err)
    _show(w)


@app.command("approve")
def approve(
    write_off_id: int = typer.Argument(..., help="numéro de l'admission en non-valeur"),
    note: str = typer.Option("", "--note", help="observation"),
    on: str | None = ON,
    login: str = LOGIN,
) -> None:
    """Approuver ; la dernière approbation requise comptabilise l'admission."""
    engine = default_engine()
    try:
        actor = authentication.actor_for_login(engine, login)
        w = write_offs.approve_write_off(engine, actor, write_off_id, on=_day(on), note=note)
    except DomainError as err:
        _fail(err)
    _show(w)


@app.command("reject")
def reject(
    write_off_id: int = typer.Argument(..., help="numéro de l'admission en non-valeur"),
    reason: str = typer.Option(..., "--reason", help="motif du rejet"),
    on: str | None = ON,
    login: str = LOGIN,
) -> None:
    """Rejeter une proposition d'admission en non-valeur."""
    engine = default_engine()
    try:
        actor = authentication.actor_for_login(engine, login)
        w = write_offs.reject_write_off(engine, actor, write_off_id, on=_day(on), reason=reason)
    except DomainError as err:
        _fail(err)
    _show(w)


@app.command("list")
def list_(
    contributor_id: int | None = typer.Option(None, "--contributor", help="un cotisant"),
    state: str | None = typer.Option(None, "--state", help="proposed, approved, rejected"),
) -> None:
    """Les admissions en non-valeur, les plus récentes d'abord."""
    engine = default_engine()
    try:
        items = write_offs.list_write_offs(
            engine, system_actor("cli"), contributor_id=contributor_id, state=state
        )
    except DomainError as err:
        _fail(err)
    for w in items:
        _show(w)
    if not items:
        typer.echo("Aucune admission en non-valeur.")


@app.command("report")
def report(
    year: int = typer.Option(..., "--year", help="année des décisions"),
    fmt: str = typer.Option("json", "--format", help="json ou csv"),
    output: Path | None = typer.Option(None, "--output", help="fichier (défaut : la sortie)"),
) -> None:
    """État annuel des admissions en non-valeur par motif et par caisse."""
    engine = default_engine()
    try:
        if fmt not in ("json", "csv"):
            raise DomainError.single("--format", f"format inconnu : {fmt!r} (json ou csv)")
        figures = write_off_report.yearly_report(engine, system_actor("cli"), year)
    except DomainError as err:
        _fail(err)
    text = (
        write_off_report.report_csv(figures)
        if fmt == "csv"
        else json.dumps(figures, ensure_ascii=False, indent=2) + "\n"
    )
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        total = figures["total"]
        typer.echo(
            f"État {year} écrit dans {output} : {total['count']} admission(s), "
            f"{format_euros_fr(total['written_off'])} admis en non-valeur."
        )
