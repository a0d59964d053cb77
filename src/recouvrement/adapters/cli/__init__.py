"""The `recouvrement` command: one sub-command group per domain area, each in its own module."""

from __future__ import annotations

import importlib
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
    assessment = _optional("assessment")
    if assessment is not None:
        assessment.register(app)  # top-level commands: assess, explain
    daily_cycle = _optional("daily_cycle")
    if daily_cycle is not None:
        daily_cycle.register(app)  # top-level commands: run-day, run-until
    for module_name, group in (
        ("ledger", "ledger"),
        ("registration", "registration"),
        ("demo", "demo"),
        ("agreements", "agreements"),
        ("transfers", "transfers"),
        ("audit", "audit"),
        ("agents", "agents"),
        ("cases", "cases"),
        ("calls", "calls"),
        ("statements", "statements"),
        ("refunds", "refunds"),
        ("action_plan", "action-plan"),
        ("receipts", "receipts"),
        ("statistics", "statistics"),
        ("payment_plans", "plans"),
        ("limitation", "limitation"),
        ("collection", "collection"),
        ("legacy", "legacy"),
        ("audits", "audits"),
        ("remission", "remission"),
        ("write_offs", "write-offs"),
    ):
        module = _optional(module_name)
        if module is not None:
            app.add_typer(module.app, name=group)


def _optional(name: str):
    """A command module, or None while that area of the product is not installed."""
    try:
        return importlib.import_module(f"recouvrement.adapters.cli.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"recouvrement.adapters.cli.{name}":
            raise
        return None


_register()


def main() -> None:
    try:
        app()
    except DomainError as err:
        for p in err.problems:
            where = f"{p.field} : " if p.field else ""
            typer.secho(f"Erreur : {where}{p.reason}", fg=typer.colors.RED, err=True)
        sys.exit(2)
