"""French PDF letters from Jinja2 templates: call notices, account statements, and the reminders
and formal notices that go out by the ten thousand a day.

A template (``templates/<name>.html``) is data: Jinja2 renders it into the small HTML subset of
``letter_markup``, which ``letter_layout`` places on A4 pages with fpdf2. Its context keys are listed
at its top. Labels (items, funds, causes, months) live in ``labels.yaml`` and the organisations'
letterheads in ``letterhead.yaml``, so no letter text is written in Python.

The output depends only on the template and the context: the creation date is the letter's own
date (``<meta name="date">``), so rendering a batch again gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from functools import cache
from pathlib import Path

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from recouvrement.adapters.documents import letter_layout, letter_markup
from recouvrement.domain.money import format_euros_fr
from recouvrement.domain.payment_reference import format_reference

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"


@cache
def labels() -> dict:
    """French labels by kind (items, funds, causes…), from ``labels.yaml``."""
    return yaml.safe_load((HERE / "labels.yaml").read_text(encoding="utf-8"))


@cache
def letterheads() -> dict:
    """Name, address and contact lines of each issuing organisation, from ``letterhead.yaml``."""
    return yaml.safe_load((HERE / "letterhead.yaml").read_text(encoding="utf-8"))


def letterhead(code: str, name: str) -> dict:
    """The letterhead of an organisation; its registered name alone when none is on file."""
    known = letterheads().get("organisations", {}).get(code)
    if known:
        return known
    return {"name": name, "address": [], "contact": letterheads()["default_contact"]}


def label(code: str, kind: str) -> str:
    """The French label of a code (item, fund, cause…), the code itself when none is on file."""
    return labels()[kind].get(code, code)


def date_fr(day: date | str) -> str:
    """« 1er avril 2024 », « 15 avril 2024 »."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    first = labels()["first_day"] if day.day == 1 else str(day.day)
    return f"{first} {labels()['months'][day.month - 1]} {day.year}"


def date_short(day: date | str) -> str:
    """« 05/04/2024 »."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return day.strftime("%d/%m/%Y")


def period_fr(period: str) -> str:
    """A ledger period as a French reader says it: « mars 2024 », « 1er trimestre 2024 »."""
    if not period:
        return labels()["no_period"]
    if len(period) == 7 and period[4] == "-" and period[5:].isdigit():
        return f"{labels()['months'][int(period[5:]) - 1]} {period[:4]}"
    if len(period) == 7 and period[5] == "Q":
        return labels()["quarters"][int(period[6]) - 1].format(year=period[:4])
    if len(period) == 4:
        return labels()["year"].format(year=period)
    return period


def _printed_reference(reference: str) -> str:
    """The RF reference in blocks of four, joined by no-break spaces so it never splits."""
    return format_reference(reference).replace(" ", "\u00a0")


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(
        euros=format_euros_fr,
        date_fr=date_fr,
        date_short=date_short,
        period_fr=period_fr,
        label=label,
        rf=_printed_reference,
    )
    env.globals.update(letterhead=letterhead)
    return env


def _template(name: str) -> Template:
    if "/" in name or "." in name:
        raise ValueError(f"nom de modèle invalide : {name!r}")
    return _environment().get_template(f"{name}.html")


def render_markup(template: str, context: dict) -> str:
    """The letter markup a template produces (useful to read a template's output in a test)."""
    return _template(template).render(context)


def render_pdf(template: str, context: dict) -> bytes:
    """One letter as PDF bytes."""
    return letter_layout.draw(letter_markup.parse(render_markup(template, context)))


def render_many(template: str, contexts: Iterable[dict]) -> Iterator[bytes]:
    """Letters of one template, one PDF each, in the order of the contexts.

    The template is compiled once and the font metrics loaded once for the whole batch.
    """
    compiled = _template(template)
    for context in contexts:
        yield letter_layout.draw(letter_markup.parse(compiled.render(context)))
