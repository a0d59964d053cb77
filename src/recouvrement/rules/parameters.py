"""Dated legal parameters, loaded from the YAML files of `rules/parameters/`.

A change of law is a data change: a rate for a new date is a new line in a file, never code.
Lookup is "latest value on or before the date", per territory, falling back to the `default`
territory. Loading refuses overlaps (two values starting the same day), values out of order and
gaps (a value that ends with `to:` must be followed by one starting the next day), with a message
naming the file, the parameter and the date.

File format (see docs/rules.md)::

    parameters:
      unemployment.employer_rate:
        description: Taux de la contribution patronale d'assurance chômage
        unit: rate            # rate | euros | integer | boolean | text
        values:
          - from: 2013-01-01
            value: "0.0400"    # rates and euros are written as strings: exact decimals
            source: "Convention d'assurance chômage du 6 mai 2011, art. 4 ; ..."
          - from: 2013-01-01
            territory: "976"
            value: "0.0175"
            source: "..."
          - from: 2026-01-01
            to: 2026-06-30     # optional explicit end; then the next value must start 2026-07-01
            value: null        # null: the parameter does not apply from that date
            source: "..."
          - from: 2027-01-01
            gap: true          # the value is not known: a lookup in this span raises ParameterError
            value: null
            source: "what was searched, and where"
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

import yaml

DEFAULT_TERRITORY = "default"
PARAMETERS_DIR = Path(__file__).parent / "parameters"
UNITS = ("rate", "euros", "integer", "boolean", "text")


class ParameterError(ValueError):
    """A parameter file is wrong, or a lookup asks for a date the law data does not cover."""


@dataclass(frozen=True)
class ParameterValue:
    """One dated value.

    Attributes:
        start: first day it applies.
        end: last day it applies, or None while in force.
        value: Decimal for rates, int cents for euros, int, bool or str; None: does not apply.
        source: the article or official page it was read from.
        territory: "default" or a department code such as "976".
        gap: the law data has no known value for this span (searched, not found); lookups refuse
            it rather than guess.
    """

    start: date
    end: date | None
    value: object
    source: str
    territory: str
    gap: bool = False


@dataclass(frozen=True)
class Parameter:
    name: str
    description: str
    unit: str
    timelines: dict[str, tuple[ParameterValue, ...]]  # territory -> values by start

    def timeline(self, territory: str = DEFAULT_TERRITORY) -> tuple[ParameterValue, ...]:
        return self.timelines.get(territory) or self.timelines[DEFAULT_TERRITORY]

    def at(self, on: date, territory: str = DEFAULT_TERRITORY) -> ParameterValue:
        values = self.timeline(territory if territory in self.timelines else DEFAULT_TERRITORY)
        starts = [v.start for v in values]
        i = bisect_right(starts, on) - 1
        if i < 0 or (values[i].end is not None and on > values[i].end):
            raise ParameterError(
                f"{self.name} : aucune valeur en vigueur le {on.isoformat()}"
                f" (territoire {territory})"
            )
        if values[i].gap:
            end = values[i].end.isoformat() if values[i].end else "…"
            raise ParameterError(
                f"{self.name} : valeur inconnue le {on.isoformat()} (territoire {territory}) :"
                f" lacune documentée du {values[i].start.isoformat()} au {end}"
                f" — {values[i].source}"
            )
        return values[i]

    def values_on(
        self, days: Iterable[date], territory: str = DEFAULT_TERRITORY
    ) -> list[ParameterValue | ParameterError]:
        """The value in force on each day, or the error a scalar lookup would raise.

        Vectorised assessment builds its per-month tables from this, so the batch path and the
        scalar path read exactly the same data and refuse exactly the same gaps.
        """
        out: list[ParameterValue | ParameterError] = []
        for day in days:
            try:
                out.append(self.at(day, territory))
            except ParameterError as err:
                out.append(err)
        return out


class ParameterSet:
    """All parameters, looked up by name."""

    def __init__(self, parameters: dict[str, Parameter]):
        self.parameters = parameters

    def __contains__(self, name: str) -> bool:
        return name in self.parameters

    def get(self, name: str) -> Parameter:
        try:
            return self.parameters[name]
        except KeyError:
            raise ParameterError(f"paramètre inconnu : {name}") from None

    def entry(self, name: str, on: date, territory: str = DEFAULT_TERRITORY) -> ParameterValue:
        return self.get(name).at(on, territory)

    def value(self, name: str, on: date, territory: str = DEFAULT_TERRITORY):
        return self.entry(name, on, territory).value

    def names(self) -> list[str]:
        return sorted(self.parameters)


def _convert(unit: str, raw, where: str):
    if raw is None:
        return None
    if unit in ("rate", "euros"):
        if isinstance(raw, float):
            raise ParameterError(f"{where} : écrire la valeur entre guillemets (décimal exact)")
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            raise ParameterError(f"{where} : valeur décimale illisible {raw!r}") from None
        if unit == "rate":
            return value
        cents = value * 100
        if cents != cents.to_integral_value():
            raise ParameterError(f"{where} : montant avec des fractions de centime {raw!r}")
        return int(cents)
    if unit == "integer":
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise ParameterError(f"{where} : entier attendu, lu {raw!r}")
        return raw
    if unit == "boolean":
        if not isinstance(raw, bool):
            raise ParameterError(f"{where} : booléen attendu, lu {raw!r}")
        return raw
    return str(raw)


def _as_date(raw, where: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ParameterError(f"{where} : date invalide {raw!r} (attendu AAAA-MM-JJ)") from None


def _parse_parameter(name: str, spec: dict, origin: str) -> Parameter:
    where = f"{origin} › {name}"
    if not isinstance(spec, dict):
        raise ParameterError(f"{where} : description attendue (unit, values…)")
    unit = spec.get("unit")
    if unit not in UNITS:
        raise ParameterError(f"{where} : unité {unit!r} inconnue (parmi {', '.join(UNITS)})")
    raw_values = spec.get("values")
    if not isinstance(raw_values, list) or not raw_values:
        raise ParameterError(f"{where} : au moins une valeur datée attendue")
    by_territory: dict[str, list[ParameterValue]] = {}
    for i, item in enumerate(raw_values):
        at = f"{where} › valeur {i + 1}"
        if not isinstance(item, dict) or "from" not in item or "value" not in item:
            raise ParameterError(f"{at} : champs « from » et « value » obligatoires")
        source = str(item.get("source") or "").strip()
        if not source:
            raise ParameterError(f"{at} : source obligatoire (article ou page officielle)")
        territory = str(item.get("territory", DEFAULT_TERRITORY))
        gap = item.get("gap", False)
        if not isinstance(gap, bool) or (gap and item["value"] is not None):
            raise ParameterError(f"{at} : « gap: true » exige « value: null »")
        start = _as_date(item["from"], at)
        end = _as_date(item["to"], at) if item.get("to") is not None else None
        if end is not None and end < start:
            raise ParameterError(f"{at} : « to » {end} avant « from » {start}")
        by_territory.setdefault(territory, []).append(
            ParameterValue(start, end, _convert(unit, item["value"], at), source, territory, gap)
        )
    if DEFAULT_TERRITORY not in by_territory:
        raise ParameterError(f"{where} : il faut des valeurs pour le territoire « default »")
    timelines = {}
    for territory, values in by_territory.items():
        for prev, cur in itertools.pairwise(values):
            if cur.start == prev.start:
                raise ParameterError(
                    f"{where} : deux valeurs commencent le {cur.start} (territoire {territory})"
                )
            if cur.start < prev.start:
                raise ParameterError(
                    f"{where} : valeurs dans le désordre autour du {cur.start}"
                    f" (territoire {territory})"
                )
            if prev.end is not None and cur.start != prev.end + timedelta(days=1):
                kind = "chevauchement" if cur.start <= prev.end else "trou"
                raise ParameterError(
                    f"{where} : {kind} entre la valeur finissant le {prev.end} et celle "
                    f"commençant le {cur.start} (territoire {territory})"
                )
        # a value without `to` runs until the next one starts
        closed = [
            v
            if v.end is not None or nxt is None
            else ParameterValue(
                v.start, nxt.start - timedelta(days=1), v.value, v.source, v.territory, v.gap
            )
            for v, nxt in zip(values, [*values[1:], None], strict=True)
        ]
        # the last value stays open-ended unless it says otherwise
        if values[-1].end is None:
            closed[-1] = values[-1]
        timelines[territory] = tuple(closed)
    return Parameter(name, str(spec.get("description", "")), unit, timelines)


def parse_documents(documents: Iterable[tuple[str, str]]) -> ParameterSet:
    """Parameters from (origin, YAML text) pairs; a name defined twice is refused."""
    parameters: dict[str, Parameter] = {}
    for origin, text in documents:
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            raise ParameterError(f"{origin} : YAML illisible ({err})") from None
        if not isinstance(data, dict) or not isinstance(data.get("parameters"), dict):
            raise ParameterError(f"{origin} : clé racine « parameters » attendue")
        for name, spec in data["parameters"].items():
            if name in parameters:
                raise ParameterError(f"{origin} : paramètre {name} déjà défini ailleurs")
            parameters[name] = _parse_parameter(name, spec, origin)
    return ParameterSet(parameters)


def load_directory(directory: Path) -> ParameterSet:
    files = sorted(directory.glob("*.yaml"))
    return parse_documents((f.name, f.read_text(encoding="utf-8")) for f in files)


@lru_cache(maxsize=1)
def load_parameters() -> ParameterSet:
    """The parameters shipped with the package."""
    return load_directory(PARAMETERS_DIR)
