"""ACCRE / ACRE: the business creator's exemption, applied to assessed self-employed lines.

For the first months of activity (rules: exemption.business_creator.duration_months) the listed
contributions are waived: fully under a first income threshold, then decreasingly (linearly) up to a
second one, times the share set for the creation date (100 %, then 25 % for creations from 2026),
times the share of the year that falls within the exempted months (counted in days).
Each item's relief is rounded half-up to the cent from its exact value.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from recouvrement.domain.assessment.lines import AssessedLine
from recouvrement.domain.errors import DomainError
from recouvrement.rules.parameters import ParameterError, ParameterSet

PREFIX = "exemption.business_creator."


def _value(params: ParameterSet, name: str, on: date):
    value = params.value(PREFIX + name, on)
    if value is None:
        raise ParameterError(
            f"{PREFIX}{name} : donnée non trouvée au {on.isoformat()} (lacune connue des règles)"
        )
    return value


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for candidate in (31, 30, 29, 28):  # the same day, or the month's last one
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def exempted_share_of_year(params: ParameterSet, year: int, creation: date) -> Fraction:
    """The part of `year` inside the exempted months after `creation`, in days."""
    months = _value(params, "duration_months", creation)
    end = _add_months(creation, months)  # first day no longer exempted
    first, last = date(year, 1, 1), date(year + 1, 1, 1)
    days = (min(end, last) - max(creation, first)).days
    return Fraction(max(days, 0), (last - first).days)


def income_share(params: ParameterSet, year: int, income_cents: int) -> Fraction:
    """1 under the first threshold, 0 from the second, linear in between."""
    on = date(year, 1, 1)
    ceiling = 12 * params.value("social_security_ceiling.monthly", on)
    full = Fraction(_value(params, "full_below_pass", on)) * ceiling
    none = Fraction(_value(params, "none_above_pass", on)) * ceiling
    if income_cents <= full:
        return Fraction(1)
    if income_cents >= none:
        return Fraction(0)
    return (none - income_cents) / (none - full)


def business_creator_relief(
    params: ParameterSet,
    year: int,
    creation: date,
    income_cents: int,
    lines: list[AssessedLine],
) -> dict[str, int]:
    """Relief in cents per exempted item of `lines` (the year's assessment)."""
    if creation > date(year, 12, 31):
        raise DomainError.single("creation", "création postérieure à l'année", "after_year")
    if creation < date(year, 1, 1) - timedelta(days=366 * 2):
        return {}
    items = {part.strip() for part in _value(params, "items", creation).split(",")}
    share = (
        Fraction(_value(params, "rate", creation))
        * income_share(params, year, income_cents)
        * exempted_share_of_year(params, year, creation)
    )
    relief = {}
    for line in lines:
        if line.item in items:
            exact = line.amount * share
            relief[line.item] = int(
                (2 * exact.numerator + exact.denominator) // (2 * exact.denominator)
            )
    return relief
