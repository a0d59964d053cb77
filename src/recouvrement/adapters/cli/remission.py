"""`recouvrement remission`: receive a request for remission of surcharges, propose it to the
appeals board, decide it (with its reasons), list the requests.

Each act is done in the name of a person (`--login`): the director or a member of the appeals
board decides. Keys are written `caisse/rubrique/période`, e.g.
`unedic/surcharge_initial/2015-01`. A refusal is printed in French, exit code 2.
"""

from __future__ import annotations

import typer

from recouvrement.adapters.cli.acts import act_day as _day
from recouvrement.adapters.cli.acts import fail as _fail
from recouvrement.adapters.cli.write_offs import parse_key
from recouvrement.adapters.db.engine import default_engine
from recouvrement.domain.actors import system_actor
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import format_euros_fr, parse_euros
from recouvrement.services import authentication, remission

app = typer.Typer(
    help="Remises de majorations : demande, proposition à la commission, décision motivée.",
    no_args_is_help=True,
)

LOGIN = typer.Option(..., "--login", help="identifiant de la personne qui agit")
ON = typer.Option(None, "--on", help="date de l'acte (AAAA-MM-JJ, défaut : aujourd'hui)")
GRANTED = typer.Option(
    None, "--granted", help="montant remis en euros (défaut : tout ce qui est demandé)"
)


def _show(r: dict) -> None:
    typer.echo(
        f"Demande de remise n° {r['id']} — cotisant {r['contributor_id']} : "
        f"{format_euros_fr(r['total'])} demandés, {r['state_label']} "
        f"(décision : {r['authority_label']})"
        + (f", {format_euros_fr(r['granted'])} remis" if r["decided_on"] else "")
        + (f", lettre {r['letter_reference']}" if r["letter_reference"] else "")
    )


@app.command("request")
def request(
    contributor_id: int = typer.Argument(..., help="numéro du cotisant"),
    keys: list[str] = typer.Argument(..., help="majorations : caisse/rubrique/période"),
    reason: str = typer.Option("", "--reason", help="motifs invoqués par le cotisant"),
    force_majeure: bool = typer.Option(
        False, "--force-majeure", help="événement irrésistible et extérieur invoqué"
    ),
    on: str | None = ON,
    login: str = LOGIN,
) -> None:
    """Enregistrer une demande de remise de majorations reçue le jour dit."""
    engine = default_engine()
    try:
        actor = authentication.actor_for_login(engine, login)
        r = remission.request_remission(
            engine,
            actor,
            contributor_id,
            [parse_key(k) for k in keys],
            on=_day(on),
            reason=reason,
            force_majeure=force_majeure,
        )
    except DomainError as err:
        _fail(err)
    _show(r)


@app.command("propose")
def propose(
    request_id: int = typer.Argument(..., help="numéro de la demande"),
    text: str = typer.Option(..., "--text", help="motifs de la proposition"),
    granted: str | None = GRANTED,
    on: str | None = ON,
    login: str = LOGIN,
) -> None:
    """Proposition motivée du directeur à la commission de recours amiable."""
    engine = default_engine()
    try:
        actor = authentication.actor_for_login(engine, login)
        r = remission.propose_remission(
            engine,
            actor,
            request_id,
            on=_day(on),
            text=text,
            granted=None if granted is None else parse_euros(granted),
        )
    except DomainError as err:
        _fail(err)
    _show(r)


@app.command("decide")
def decide(
    request_id: int = typer.Argument(..., help="numéro de la demande"),
    text: str = typer.Option(..., "--text", help="motifs de la décision"),
    granted: str | None = GRANTED,
    on: str | None = ON,
    login: str = LOGIN,
) -> None:
    """Décision motivée (directeur sous le seuil, commission au-delà) ; la lettre est produite."""
    engine = default_engine()
    try:
        actor = authentication.actor_for_login(engine, login)
        r = remission.decide_remission(
            engine,
            actor,
            request_id,
            on=_day(on),
            text=text,
            granted=None if granted is None else parse_euros(granted),
        )
    except DomainError as err:
        _fail(err)
    _show(r)


@app.command("list")
def list_(
    contributor_id: int | None = typer.Option(None, "--contributor", help="un cotisant"),
    state: str | None = typer.Option(None, "--state", help="pending, proposed, granted…"),
) -> None:
    """Les demandes de remise, les plus récentes d'abord."""
    engine = default_engine()
    try:
        items = remission.list_remissions(
            engine, system_actor("cli"), contributor_id=contributor_id, state=state
        )
    except DomainError as err:
        _fail(err)
    for r in items:
        _show(r)
    if not items:
        typer.echo("Aucune demande de remise.")
