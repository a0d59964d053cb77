"""The `recouvrement` command: one sub-command group per domain area, each in its own module."""

from __future__ import annotations

import sys

import typer

from recouvrement.domain.errors import DomainError

app = typer.Typer(
    name="recouvrement",
    help="Recouvrement des cotisations sociales : un compte par cotisant.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from recouvrement.adapters.cli import db, organisations, serve

    app.add_typer(db.app, name="db")
    app.add_typer(organisations.app, name="organisations")
    app.command("serve")(serve.serve)
    for module_name, group in (
        ("ledger", "ledger"),
        ("registration", "registration"),
        ("demo", "demo"),
    ):
        try:
            module = __import__(f"recouvrement.adapters.cli.{module_name}", fromlist=["app"])
        except ModuleNotFoundError as err:
            if err.name != f"recouvrement.adapters.cli.{module_name}":
                raise
            continue
        app.add_typer(module.app, name=group)


_register()


def main() -> None:
    try:
        app()
    except DomainError as err:
        for p in err.problems:
            where = f"{p.field} : " if p.field else ""
            typer.secho(f"Erreur : {where}{p.reason}", fg=typer.colors.RED, err=True)
        sys.exit(2)
