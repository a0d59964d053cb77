"""What the commands that record an act share: the day of the act and how a refusal is printed.

A refusal prints each problem in French, field first, and exits with code 2; a day not given is
today's.
"""

from __future__ import annotations

from datetime import date

import typer

from recouvrement.domain.errors import DomainError


def fail(err: DomainError) -> None:
    for p in err.problems:
        where = f"{p.field} : " if p.field else ""
        typer.secho(f"Erreur : {where}{p.reason}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def act_day(value: str | None) -> date:
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError.single("--on", f"date invalide : {value!r} (AAAA-MM-JJ)") from None
