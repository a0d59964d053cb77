"""The yearly cycle of a self-employed contributor: provisional, recalculated, regularised.

Year N is first called provisionally on the income of N-2 (or on the contributor's own estimate,
or on a flat base in the first two years of activity). When the income of N-1 is declared, in
year N, two things happen at once (CSS L131-6-2, R131-1; one schedule since 2015):
the provisional contributions of N are recalculated on that income, and N-1 is regularised, the
definitive contributions of N-1 minus what was called for it.

Instalments: 12 monthly ones (on the 5th or the 20th) or 4 quarterly ones (5 Feb, 5 May, 5 Aug,
5 Nov). Remainder rule: each instalment is the total divided by their number, rounded down to the
cent, and the cents left over go one each to the last instalments, so the sum is exactly the total
and no instalment exceeds an earlier one by more than a cent.

Pure: no clock, no I/O; the parameters are passed in.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import NamedTuple

from recouvrement.domain.assessment.self_employed import assess_year, summarise
from recouvrement.domain.errors import DomainError
from recouvrement.rules.parameters import ParameterError, ParameterSet


class Frequency(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class Basis(StrEnum):
    """Where the provisional income comes from."""

    ESTIMATE = "estimate"  # the contributor's own estimate (L131-6-2)
    N_MINUS_2 = "n_minus_2"
    N_MINUS_1 = "n_minus_1"  # after the declaration of N-1
    START_FLAT_BASE = "start_flat_base"  # first or second year of activity


class ProvisionalBase(NamedTuple):
    """The income provisional contributions are computed on.

    Attributes:
        income: in cents.
        basis: where it comes from.
    """

    income: int
    basis: Basis


class Instalment(NamedTuple):
    """One due date and its amount in cents."""

    due: date
    amount: int


def _value(params: ParameterSet, name: str, on: date):
    value = params.value(name, on)
    if value is None:
        raise ParameterError(f"{name} : donnée non trouvée pour {on.year} (lacune connue)")
    return value


def provisional_base(
    params: ParameterSet,
    year: int,
    *,
    activity_start: date,
    income_n_minus_2: int | None = None,
    income_n_minus_1: int | None = None,
    estimate: int | None = None,
) -> ProvisionalBase:
    """The base of year N's provisional contributions, by the order the law gives.

    An estimate given by the contributor wins; then the declared income of N-1 (once declared,
    it replaces N-2); then N-2; in the first two years, without any income, the flat base.
    """
    if activity_start.year > year:
        raise DomainError.single(
            "activity_start", "activité commencée après l'année appelée", "after_year"
        )
    if estimate is not None:
        return ProvisionalBase(estimate, Basis.ESTIMATE)
    if income_n_minus_1 is not None:
        return ProvisionalBase(income_n_minus_1, Basis.N_MINUS_1)
    if income_n_minus_2 is not None:
        return ProvisionalBase(income_n_minus_2, Basis.N_MINUS_2)
    seniority = year - activity_start.year
    if seniority > 1:
        raise DomainError.single(
            "income_n_minus_2",
            f"revenu {year - 2} à fournir (activité commencée en {activity_start.year})",
            "missing_income",
        )
    on = date(year, 1, 1)
    name = "first_year" if seniority == 0 else "second_year"
    share = _value(params, f"self_employed.calendar.start_base_pass.{name}", on)
    ceiling = 12 * params.value("social_security_ceiling.monthly", on)
    return ProvisionalBase(int(share * ceiling), Basis.START_FLAT_BASE)


def yearly_total(params: ParameterSet, year: int, activity: str, income: int) -> int:
    """All contributions of a year on an income, in cents (what the schedule spreads)."""
    return summarise(assess_year(params, year, activity, income))["total"]


def regularisation(
    params: ParameterSet, year: int, activity: str, declared_income: int, called: int
) -> int:
    """Definitive contributions of `year` minus what was called for it: > 0 due, < 0 credit."""
    return yearly_total(params, year, activity, declared_income) - called


def due_dates(params: ParameterSet, year: int, frequency: Frequency, day: int | None = None):
    """The instalment dates of a year, from the calendar rules."""
    on = date(year, 1, 1)
    if frequency == Frequency.QUARTERLY:
        text = _value(params, "self_employed.calendar.quarterly_dates", on)
        return [date.fromisoformat(f"{year}-{part.strip()}") for part in text.split(",")]
    days = [
        int(part) for part in _value(params, "self_employed.calendar.monthly_days", on).split(",")
    ]
    chosen = days[0] if day is None else day
    if chosen not in days:
        raise DomainError.single(
            "day", f"jour de prélèvement {chosen} impossible (parmi {days})", "bad_day"
        )
    return [date(year, month, chosen) for month in range(1, 13)]


def spread(total: int, dates: list[date]) -> list[Instalment]:
    """`total` over `dates`: equal parts rounded down, the leftover cents on the last ones."""
    if total < 0:
        raise DomainError.single(
            "total", "montant négatif : c'est un crédit, pas un échéancier", "negative_amount"
        )
    if not dates:
        raise DomainError.single("dates", "aucune échéance restante", "no_due_date")
    share, left = divmod(total, len(dates))
    first_with_extra = len(dates) - left
    return [
        Instalment(due, share + (1 if i >= first_with_extra else 0)) for i, due in enumerate(dates)
    ]


def schedule(
    params: ParameterSet,
    year: int,
    total: int,
    frequency: Frequency = Frequency.MONTHLY,
    day: int | None = None,
) -> list[Instalment]:
    """The year's provisional instalments for `total` cents."""
    return spread(total, due_dates(params, year, frequency, day))


class Rescheduled(NamedTuple):
    """A schedule after a recalculation.

    Attributes:
        instalments: the instalments already due, unchanged, then the new ones.
        credit: what was already called beyond the new total (cents, >= 0), to refund or allocate.
        unscheduled: what is still owed with no instalment left in the year (cents, >= 0); it is
            settled by the regularisation of the year once its income is declared.
    """

    instalments: list[Instalment]
    credit: int
    unscheduled: int


def reschedule(current: list[Instalment], new_total: int, after: date) -> Rescheduled:
    """New total for the year: instalments due on or before `after` stay; the rest absorb it."""
    done = [i for i in current if i.due <= after]
    remaining = [i.due for i in current if i.due > after]
    rest = new_total - sum(i.amount for i in done)
    if rest <= 0:
        return Rescheduled(done + [Instalment(d, 0) for d in remaining], -rest, 0)
    if not remaining:
        return Rescheduled(done, 0, rest)
    return Rescheduled(done + spread(rest, remaining), 0, 0)


def recalculate(
    params: ParameterSet,
    year: int,
    activity: str,
    current: list[Instalment],
    income_n_minus_1: int,
    declared_on: date,
) -> Rescheduled:
    """Provisional N recalculated on the income of N-1 declared on `declared_on` (L131-6-2)."""
    return reschedule(current, yearly_total(params, year, activity, income_n_minus_1), declared_on)


def declaration_deadlines(params: ParameterSet, year: int) -> tuple[date, date]:
    """(paper, online) deadlines of the declaration made in `year` of the income of `year` - 1."""
    on = date(year, 1, 1)
    paper = _value(params, "self_employed.income_declaration.paper_deadline", on)
    online = _value(params, "self_employed.income_declaration.online_deadline", on)
    return date.fromisoformat(paper), date.fromisoformat(online)
