"""Late surcharges (majorations de retard): what a debt owes up to a day. Pure: no I/O, no clock.

The law (CSS R243-18, R243-16 since 1 April 2020) charges, on contributions not paid by their due
date (date d'exigibilité):

- an **initial surcharge** (majoration de retard, 5 % from 2008, 10 % before) once, on the amount
  not paid at the due date; it is posted the day after the due date;
- an **additional surcharge** (majoration complémentaire, 0.4 % then 0.2 % "par mois ou fraction de
  mois écoulé, à compter de la date d'exigibilité"; before 2008 2 or 3 % "par trimestre ou fraction
  de trimestre écoulé après l'expiration d'un délai de trois mois") on "le montant des cotisations
  … dues". Each step (month, or quarter before 2008) that has begun is due in full.

How we read "montant des cotisations dues" for a step: the principal still unpaid at the end of the
**anniversary** that opens the step — the due date plus a whole number of steps. So the first month
starts the day after the due date and is charged on the balance at the due date; a payment made
during a month lowers the base of the next months only; a debt paid in full during a month still
owes that month (the "fraction de mois") and nothing after it: the surcharge is finalised at full
payment. Anniversaries fall on the same day of the month as the due date, or on the last day of a
shorter month (due 31 January: 28 or 29 February, 31 March…). Each posting is rounded on its own,
half up to the cent (no rule of the law found on rounding; this is the house rule of
domain/money.py). Surcharges never bear surcharges: only principal items are surcharged.

After an audit (contrôle), the supplement called by a notice (mise en demeure) follows CSS
R243-18 al. 3 (R243-17 since 2020): the additional surcharge counts only from 1 February of the year
after the year regularised, and from 1 April 2018 its rate falls to 0.1 % when the supplement is
paid within thirty days of the notice. Since the reduction depends on that payment, the additional
surcharges of an audit debt are computed once the window has closed.

>>> from datetime import date
>>> scale = Scale(Decimal("0.05"), Decimal("0.002"), 1, 0)
>>> [(line.item, line.key_suffix, line.amount) for line in ordinary_surcharges(
...     date(2019, 3, 15), scale, lambda day: 100_000, date(2019, 4, 17))]
[('surcharge_initial', 'initial', 5000), ('surcharge_additional', '2019-03-15', 200), \
('surcharge_additional', '2019-04-15', 200)]
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from recouvrement.domain.money import CENT, Rounding

INITIAL_ITEM = "surcharge_initial"
ADDITIONAL_ITEM = "surcharge_additional"
AUDIT_ITEM = "surcharge_audit"
UNDERESTIMATE_ITEM = "surcharge_underestimate"
SURCHARGE_ROUNDING = Rounding.HALF_UP
INITIAL_KEY = "initial"
UNDERESTIMATE_KEY = "underestimate"

_NOT_PRINCIPAL_PREFIXES = ("surcharge_", "penalty_")
_NOT_PRINCIPAL_ITEMS = frozenset({"", "credit"})

UnpaidAt = Callable[[date], int]
"""The principal of the debt unpaid at the end of a day, in cents (≤ 0 when paid)."""


def is_principal(item: str) -> bool:
    """Contribution items bear surcharges; surcharges, penalties and the credit key do not.

    >>> is_principal("unemployment_employer"), is_principal("surcharge_initial"), is_principal("")
    (True, False, False)
    """
    return item not in _NOT_PRINCIPAL_ITEMS and not item.startswith(_NOT_PRINCIPAL_PREFIXES)


@dataclass(frozen=True)
class Scale:
    """The ordinary scale in force for the period of a debt.

    Attributes:
        initial_rate: the initial surcharge, or None when there is none.
        additional_rate: the additional surcharge per step begun.
        step_months: 1 (per month or fraction, from 2008) or 3 (per quarter or fraction, before).
        first_months: months after the due date before the first step begins (3 before 2008).
    """

    initial_rate: Decimal | None
    additional_rate: Decimal
    step_months: int
    first_months: int


@dataclass(frozen=True)
class AuditRegime:
    """How an audit adjustment's additional surcharge runs (R243-18 al. 3, R243-17).

    Attributes:
        notice_date: the day the notice (mise en demeure) was issued.
        additional_from: the first day counted (1 February after the year regularised).
        reduced_rate: the rate when paid within the window, or None when the law has none.
        window_days: the days after the notice within which payment opens the reduced rate.
        initial_applies: whether the initial surcharge is charged on the supplement.
    """

    notice_date: date
    additional_from: date
    reduced_rate: Decimal | None
    window_days: int
    initial_applies: bool

    @property
    def window_end(self) -> date:
        return self.notice_date + timedelta(days=self.window_days)


class SurchargeLine(NamedTuple):
    """One surcharge to post on a debt.

    Attributes:
        item: surcharge_initial, surcharge_additional or surcharge_audit.
        key_suffix: "initial" or the ISO date of the anniversary that opens the step; with the
            debt's key it makes the idempotency key, so a step is never charged twice.
        value_date: the day the surcharge is posted (the day after the due date or anniversary).
        base: the unpaid principal it is computed on, in cents.
        rate: the rate applied.
        amount: cents, rounded half up.
    """

    item: str
    key_suffix: str
    value_date: date
    base: int
    rate: Decimal
    amount: int


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the last day of a shorter month.

    >>> add_months(date(2024, 1, 31), 1), add_months(date(2024, 1, 31), 2)
    (datetime.date(2024, 2, 29), datetime.date(2024, 3, 31))
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def months_between(start: date, end: date) -> int:
    """Whole calendar months from the month of `start` to the month of `end`."""
    return (end.year - start.year) * 12 + end.month - start.month


def is_anniversary(due_date: date, scale: Scale, day: date) -> bool:
    """Does a step of the additional surcharge open at the end of `day`?

    >>> quarterly = Scale(Decimal("0.10"), Decimal("0.02"), 3, 3)
    >>> [is_anniversary(date(2005, 1, 31), quarterly, d) for d in
    ...  (date(2005, 1, 31), date(2005, 4, 30), date(2005, 5, 31), date(2005, 7, 31))]
    [False, True, False, True]
    """
    months = months_between(due_date, day)
    return (
        months >= scale.first_months
        and (months - scale.first_months) % scale.step_months == 0
        and add_months(due_date, months) == day
    )


def anniversaries(due_date: date, scale: Scale, before: date) -> Iterator[date]:
    """The anniversaries that open a step, earliest first, strictly before `before`."""
    months = scale.first_months
    while (day := add_months(due_date, months)) < before:
        yield day
        months += scale.step_months


def surcharge_amount(base: int, rate: Decimal) -> int:
    """`rate` of `base` cents, rounded half up to the cent.

    >>> surcharge_amount(12_345, Decimal("0.002")), surcharge_amount(12_345, Decimal("0.05"))
    (25, 617)
    """
    euros = (Decimal(base) * rate / 100).quantize(CENT, rounding=SURCHARGE_ROUNDING.decimal_mode)
    return int(euros * 100)


def initial_surcharge(due_date: date, rate: Decimal | None, unpaid_at: UnpaidAt, up_to: date):
    """The initial surcharge on the principal unpaid at the due date, once due (up_to > due)."""
    if rate is None or up_to <= due_date:
        return None
    base = unpaid_at(due_date)
    amount = surcharge_amount(base, rate) if base > 0 else 0
    if amount <= 0:
        return None
    return SurchargeLine(
        INITIAL_ITEM, INITIAL_KEY, due_date + timedelta(days=1), base, rate, amount
    )


def ordinary_surcharges(
    due_date: date, scale: Scale, unpaid_at: UnpaidAt, up_to: date
) -> list[SurchargeLine]:
    """Every surcharge of a debt whose value date is on or before `up_to`.

    A debt of 1,000.00 € due 15 March 2019 (0.2 % scale), paid 400 € on 20 April and the rest on
    10 May: 50 € initial; 2 € for the month opened at the end of 15 March (1,000 € unpaid); 2 € for
    the month opened at the end of 15 April (1,000 € still unpaid that day); nothing from 15 May, as
    nothing is unpaid then: the month of the final payment was the last one charged.

    >>> paid = {date(2019, 4, 20): 40_000, date(2019, 5, 10): 60_000}
    >>> unpaid = lambda day: 100_000 - sum(v for d, v in paid.items() if d <= day)
    >>> scale = Scale(Decimal("0.05"), Decimal("0.002"), 1, 0)
    >>> [(x.key_suffix, x.base, x.amount) for x in ordinary_surcharges(
    ...     date(2019, 3, 15), scale, unpaid, date(2019, 12, 31))]
    [('initial', 100000, 5000), ('2019-03-15', 100000, 200), ('2019-04-15', 100000, 200)]

    Paid 400 € on 10 April instead, the April month is charged on the 600 € left:

    >>> paid = {date(2019, 4, 10): 40_000, date(2019, 5, 10): 60_000}
    >>> [(x.key_suffix, x.base, x.amount) for x in ordinary_surcharges(
    ...     date(2019, 3, 15), scale, unpaid, date(2019, 12, 31))][2]
    ('2019-04-15', 60000, 120)
    """
    lines: list[SurchargeLine] = []
    initial = initial_surcharge(due_date, scale.initial_rate, unpaid_at, up_to)
    if initial is not None:
        lines.append(initial)
    for day in anniversaries(due_date, scale, up_to):
        base = unpaid_at(day)
        amount = surcharge_amount(base, scale.additional_rate) if base > 0 else 0
        if amount > 0:
            lines.append(
                SurchargeLine(
                    ADDITIONAL_ITEM,
                    day.isoformat(),
                    day + timedelta(days=1),
                    base,
                    scale.additional_rate,
                    amount,
                )
            )
    return lines


def audit_surcharges(
    due_date: date, scale: Scale, regime: AuditRegime, unpaid_at: UnpaidAt, up_to: date
) -> list[SurchargeLine]:
    """The surcharges of an audit adjustment whose value date is on or before `up_to`.

    The additional surcharge counts monthly from `regime.additional_from`; a month that began
    before the notice is charged on what the notice called (the supplement was unpaid all along).
    Nothing additional is posted before the window closes; then every month opened so far is
    posted at once, at the reduced rate if the supplement was paid in full within the window.

    A supplement of 10,000.00 € for 2022, notice 1 June 2024, due 1 July 2024, paid on day 29:

    >>> regime = AuditRegime(date(2024, 6, 1), date(2023, 2, 1), Decimal("0.001"), 30, False)
    >>> scale = Scale(Decimal("0.05"), Decimal("0.002"), 1, 0)
    >>> unpaid = lambda day: 0 if day >= date(2024, 6, 30) else 1_000_000
    >>> lines = audit_surcharges(date(2024, 7, 1), scale, regime, unpaid, date(2024, 12, 31))
    >>> len(lines), lines[0].key_suffix, lines[-1].key_suffix, sum(x.amount for x in lines)
    (17, '2023-01-31', '2024-05-31', 17000)

    17 months opened (February 2023 to June 2024) at 0.1 % of 10,000 €: 170 €. Paid on day 31, the
    ordinary 0.2 % applies, and July 2024 is charged as well, its month having begun unpaid:

    >>> unpaid = lambda day: 0 if day >= date(2024, 7, 2) else 1_000_000
    >>> lines = audit_surcharges(date(2024, 7, 1), scale, regime, unpaid, date(2024, 12, 31))
    >>> len(lines), lines[-1].key_suffix, sum(x.amount for x in lines)
    (18, '2024-06-30', 36000)
    """
    lines: list[SurchargeLine] = []
    if regime.initial_applies:
        initial = initial_surcharge(due_date, scale.initial_rate, unpaid_at, up_to)
        if initial is not None:
            lines.append(initial)
    window_end = regime.window_end
    if up_to <= window_end:
        return lines
    rate = scale.additional_rate
    if regime.reduced_rate is not None and unpaid_at(window_end) <= 0:
        rate = regime.reduced_rate
    first = regime.additional_from - timedelta(days=1)
    months = 0
    while (day := add_months(first, months)) < up_to:
        months += scale.step_months
        base = unpaid_at(max(day, regime.notice_date))
        amount = surcharge_amount(base, rate) if base > 0 else 0
        if amount > 0:
            value_date = max(day, window_end) + timedelta(days=1)
            lines.append(SurchargeLine(AUDIT_ITEM, day.isoformat(), value_date, base, rate, amount))
    return lines


def audit_additional_from(period_end: date, from_month: int) -> date:
    """1 February (from_month) of the year after the year regularised."""
    return date(period_end.year + 1, from_month, 1)


def underestimate_rate(
    estimated: int,
    actual: int,
    threshold: Fraction,
    rate: Decimal | None,
    high_rate: Decimal | None,
    high_ratio: Decimal,
) -> Decimal | None:
    """The rate of the self-employed under-estimate surcharge (CSS L131-6-2 al. 4), or None.

    Due when the final income is more than a third above the estimate; 5 % up to 1.5 times the
    estimate, 10 % beyond (incomes in cents, compared exactly).

    >>> args = (Fraction(1, 3), Decimal("0.05"), Decimal("0.10"), Decimal("1.5"))
    >>> [underestimate_rate(30_000_00, actual, *args) for actual in
    ...  (40_000_00, 40_000_01, 45_000_00, 45_000_01)]
    [None, Decimal('0.05'), Decimal('0.05'), Decimal('0.10')]
    """
    if rate is None or actual <= estimated * (1 + threshold):
        return None
    if high_rate is not None and actual > estimated * Fraction(high_ratio):
        return high_rate
    return rate
