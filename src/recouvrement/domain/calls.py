"""Calls of contributions (appels de cotisations): due dates, instalments, payment references.

Pure: the parameters (rules/parameters/due_dates.yaml, self_employed_calendar.yaml) and the
contributor's business calendar are passed in, and so is every date.

- Employers (CSS R243-6, R243-6-1): a month's contributions are due on the 5th of the next month
  for 50 employees and more, on the 15th otherwise; small employers pay by quarter on the 15th of
  the month after the quarter (the rule up to 2016 for nine employees at most, an option from 2017
  for fewer than eleven).
- Self-employed (CSS R131-1 and following): 12 monthly instalments on the 5th or the 20th, or 4
  quarterly ones on 5 Feb, 5 May, 5 Aug and 5 Nov (domain/self_employed_calendar.py).
- A due date on a closed day of the contributor's territory moves to the next business day
  (ACOSS circular 2000-110; see due_dates.closed_day).

Instalment split: each item is split on its own with `self_employed_calendar.spread` (equal parts
rounded down to the cent, the cents left over one each on the last instalments), so every
instalment, every item and the year add up exactly: no cent is created or lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from enum import StrEnum
from typing import NamedTuple

from recouvrement.domain.calendars import BusinessCalendar
from recouvrement.domain.errors import DomainError
from recouvrement.domain.payment_reference import account_reference
from recouvrement.domain.periods import Granularity, Period
from recouvrement.domain.self_employed_calendar import Frequency, due_dates, spread
from recouvrement.rules.parameters import ParameterError, ParameterSet


class CallKind(StrEnum):
    EMPLOYER_MONTHLY = "employer_monthly"
    EMPLOYER_QUARTERLY = "employer_quarterly"
    SELF_EMPLOYED_MONTHLY = "self_employed_monthly"
    SELF_EMPLOYED_QUARTERLY = "self_employed_quarterly"
    SELF_EMPLOYED_REGULARISATION = "self_employed_regularisation"
    AUDIT_ADJUSTMENT = "audit_adjustment"


class CallStatus(StrEnum):
    SCHEDULED = "scheduled"
    ISSUED = "issued"
    OVERDUE = "overdue"
    PAID = "paid"


class Due(NamedTuple):
    """When a call falls due.

    Attributes:
        kind: the kind of call.
        legal: the date the text gives.
        due: the date that applies, moved off a closed day.
    """

    kind: CallKind
    legal: date
    due: date


def _int(params: ParameterSet, name: str, on: date) -> int:
    value = params.value(name, on)
    if value is None:
        raise ParameterError(f"{name} : aucune valeur le {on.isoformat()}")
    return value


def open_day(params: ParameterSet, day: date, calendar: BusinessCalendar) -> date:
    """The due date that applies when `day` is a Saturday, a Sunday or a holiday."""
    rule = params.value("due_dates.closed_day", day)
    if rule != "next":
        raise ParameterError(f"due_dates.closed_day : règle {rule!r} inconnue")
    return calendar.next_or_same(day)


def _day_of_next_month(end: date, day: int) -> date:
    first = end + timedelta(days=1)
    return date(first.year, first.month, day)


def employer_due(
    params: ParameterSet, period: str, headcount: int, calendar: BusinessCalendar
) -> Due:
    """The due date of an employer's contributions for a month (or a quarter), by headcount.

    The rule is read on the first day of the period. Pay is taken as paid within the month worked
    (the platform does not know the pay day); a quarterly option from 2017 is not recorded, so a
    small employer pays monthly unless the period itself is a quarter.
    """
    p = Period.parse(period)
    if p.granularity is Granularity.YEAR:
        raise DomainError.single("period", "un employeur déclare par mois ou par trimestre")
    if headcount < 0:
        raise DomainError.single("headcount", "effectif négatif", "negative")
    on = p.start
    quarterly = p.granularity is Granularity.QUARTER or (
        params.value("due_dates.employer.quarterly_by_default", on)
        and headcount < _int(params, "due_dates.employer.quarterly_headcount_below", on)
    )
    if quarterly:
        quarter_end = Period.quarter(on.year, (on.month - 1) // 3 + 1).end
        legal = _day_of_next_month(
            quarter_end, _int(params, "due_dates.employer.quarterly_day", on)
        )
        kind = CallKind.EMPLOYER_QUARTERLY
    else:
        large = headcount >= _int(params, "due_dates.employer.large_headcount", on)
        day = _int(
            params, "due_dates.employer.large_day" if large else "due_dates.employer.other_day", on
        )
        legal = _day_of_next_month(p.end, day)
        kind = CallKind.EMPLOYER_MONTHLY
    return Due(kind, legal, open_day(params, legal, calendar))


def instalment_periods(year: int, frequency: Frequency) -> list[str]:
    """The ledger period of each instalment: `2024-01`… or `2024-Q1`…"""
    if frequency == Frequency.QUARTERLY:
        return [f"{year}-Q{q}" for q in range(1, 5)]
    return [f"{year}-{m:02d}" for m in range(1, 13)]


def self_employed_dues(
    params: ParameterSet,
    year: int,
    frequency: Frequency,
    day: int | None,
    calendar: BusinessCalendar,
) -> list[Due]:
    """The instalments' due dates of a year (5th or 20th monthly, or the four quarterly dates)."""
    kind = (
        CallKind.SELF_EMPLOYED_QUARTERLY
        if frequency == Frequency.QUARTERLY
        else CallKind.SELF_EMPLOYED_MONTHLY
    )
    return [
        Due(kind, legal, open_day(params, legal, calendar))
        for legal in due_dates(params, year, frequency, day)
    ]


def notice_date(params: ParameterSet, due: date, today: date) -> date:
    """When a self-employed notice is issued: a set number of days before the due date, and not
    before the call is made."""
    days = _int(params, "due_dates.self_employed.notice_days_before", due)
    return max(today, due - timedelta(days=days))


def adjustment_cutoff(params: ParameterSet, today: date) -> date:
    """A recalculation on `today` changes only instalments due on or after this date (R131-5)."""
    return today + timedelta(
        days=_int(params, "due_dates.self_employed.adjustment_min_days", today)
    )


def regularisation_due(
    params: ParameterSet, dues: Sequence[date], today: date, calendar: BusinessCalendar
) -> date:
    """The regularisation of N-1 falls due with the first instalment of N that follows `today` by
    the adjustment delay (R131-4, R131-5); without one left in the year, on the cutoff day itself.
    """
    cutoff = adjustment_cutoff(params, today)
    later = [d for d in dues if d >= cutoff]
    return later[0] if later else open_day(params, cutoff, calendar)


def call_reference(contributor_id: int, period: str) -> str:
    """The reference printed on a call: the account's RF reference, then the period.

    Receipts quoting it are matched to the account (`contributor_of_reference` reads the RF part
    and ignores what follows); the period makes it unique per call.

    >>> call_reference(42, "2024-03")
    'RF340000000042 2024-03'
    """
    return f"{account_reference(contributor_id)} {Period.parse(period)!s}"[:35]


def split(amounts: Mapping[str, int], periods: Sequence[str]) -> dict[tuple[str, str], int]:
    """Each item's amount over the periods, exactly (see the module docstring)."""
    out: dict[tuple[str, str], int] = {}
    for item, amount in amounts.items():
        for period, part in zip(periods, spread(amount, list(range(len(periods)))), strict=True):
            out[(item, period)] = part.amount
    return out


CREDIT_SLOT = "credit"


def provisional_plan(
    amounts: Mapping[str, int],
    periods: Sequence[str],
    dues: Sequence[date],
    called: Mapping[tuple[str, str], int],
    cutoff: date,
) -> dict[tuple[str, str], int]:
    """What each (item, period) should carry for the year's provisional `amounts`.

    Instalments due before `cutoff` keep what was called on them; the rest of each item is spread
    over the instalments still to come. When more was already called than the new amount, the
    instalments to come carry nothing and the excess is a credit (slot `credit`, negative). When
    no instalment is left, what is still owed is left to the regularisation of the year.
    """
    open_periods = [p for p, d in zip(periods, dues, strict=True) if d >= cutoff]
    closed = [p for p in periods if p not in open_periods]
    plan: dict[tuple[str, str], int] = {}
    items = sorted(set(amounts) | {item for item, _ in called})
    for item in items:
        amount = amounts.get(item, 0)
        done = 0
        for period in closed:
            plan[(item, period)] = called.get((item, period), 0)
            done += plan[(item, period)]
        rest = amount - done
        if rest <= 0 or not open_periods:
            for period in open_periods:
                plan[(item, period)] = 0
            plan[(item, CREDIT_SLOT)] = min(rest, 0)
            continue
        plan.update(split({item: rest}, open_periods))
        plan[(item, CREDIT_SLOT)] = 0
    return plan


def regularisation_plan(
    definitive: Mapping[str, int], called: Mapping[str, int], year: int
) -> dict[tuple[str, str], int]:
    """Definitive minus called, per item: owed on the year key, or a credit (CSS R613-1-3)."""
    plan: dict[tuple[str, str], int] = {}
    for item in sorted(set(definitive) | set(called)):
        diff = definitive.get(item, 0) - called.get(item, 0)
        plan[(item, str(year))] = max(diff, 0)
        plan[(item, CREDIT_SLOT)] = min(diff, 0)
    return plan


def differences(
    target: Mapping[tuple[str, str], int], current: Mapping[tuple[str, str], int]
) -> dict[tuple[str, str], int]:
    """The non-zero changes that take `current` to `target`: what a correction posts."""
    keys = sorted(set(target) | set(current))
    diff = {k: target.get(k, 0) - current.get(k, 0) for k in keys}
    return {k: v for k, v in diff.items() if v}
