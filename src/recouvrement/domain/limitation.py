"""Limitation (prescription) of a debt: the last day on which the collector may still act.

Three successive periods, each started by an act of the collector (CSS L244-3, L244-8-1, L244-9):

1. **claim** (prescription des cotisations): before any formal notice, contributions may be claimed
   until three years after the end of the year they are due for (L244-3 al. 1 since 2017: the
   year of the period; before: the year of exigibility, "les trois années civiles qui précèdent
   l'année d'envoi" of the mise en demeure); for the self-employed, three years from 30 June of
   the next year (since 2017). Surcharges (majorations de retard) since 2017: three years from the
   end of the year the contributions they sanction were paid or, unpaid, fell due (L244-3 al. 3);
   before, they follow those contributions.
2. **action** (action civile en recouvrement): a formal notice (mise en demeure) sent within the
   claim period opens it; it runs from the expiry of the month the notice gives (R244-1): five
   years (L244-11) for notices before 2017, three years since (L244-8-1), the shorter period
   running from 1 January 2017 without exceeding the former one (Code civil art. 2222 al. 2).
3. **execution**: an enforcement order (contrainte, L244-9) has the effects of a judgment; its
   execution is time-barred three years after it is served; each enforcement measure interrupts
   (Code civil art. 2244).

An acknowledgement of the debt by the contributor — a payment, a request for time to pay or for a
remission — interrupts the running period (Code civil art. 2240) and starts a new one of the same
duration (art. 2231). The contradictory phase of an audit suspends it (L244-3 al. 2): the time it
lasts is added. An act after the limitation date revives nothing: the debt is prescribed.

Dates here are the **last day** an act is still in time: a debt is prescribed on the day after.

>>> from recouvrement.rules.parameters import load_parameters
>>> p = load_parameters()
>>> claim_expiry(p, "employer", "principal", "2021-03", date(2021, 4, 15))
datetime.date(2024, 12, 31)
>>> claim_expiry(p, "self_employed", "principal", "2021-Q1", date(2021, 2, 5))
datetime.date(2025, 6, 30)

A formal notice of 10 March 2024 opens the action: one month, then three years.

>>> expiry(p, "employer", "principal", "2021-03", date(2021, 4, 15),
...        [LimitationEvent(date(2024, 3, 10), "formal_notice")])
datetime.date(2027, 4, 10)
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from recouvrement.rules.parameters import ParameterSet

SCHEMES = ("employer", "self_employed")
FORMAL_NOTICE = "formal_notice"
ENFORCEMENT_ORDER = "enforcement_order"
# acknowledgements (Code civil art. 2240) and acts of execution (art. 2244): a new period of the
# same duration starts on the day of the act (art. 2231)
INTERRUPTIONS = (
    "payment",
    "payment_plan_request",
    "remission_request",
    "acknowledgement",
    "enforcement_measure",
)
SUSPENSIONS = ("audit_contradictory_phase",)  # L244-3 al. 2, with an end date (`until`)
EVENTS = (FORMAL_NOTICE, ENFORCEMENT_ORDER, *INTERRUPTIONS, *SUSPENSIONS)
EVENT_LABELS = {
    FORMAL_NOTICE: "mise en demeure",
    ENFORCEMENT_ORDER: "contrainte",
    "payment": "paiement",
    "payment_plan_request": "demande de délais de paiement",
    "remission_request": "demande de remise",
    "acknowledgement": "reconnaissance de dette",
    "enforcement_measure": "acte d'exécution forcée",
    "audit_contradictory_phase": "période contradictoire d'un contrôle",
}
SUSPENDED = date.max  # a suspension without end: no limitation date while it lasts


@dataclass(frozen=True)
class LimitationEvent:
    """An act that changes the limitation of the debts of one (contributor, period)."""

    on: date
    event: str
    until: date | None = None  # end of a suspension


class ClaimRule(NamedTuple):
    """The claim expiry of a debt as a function of one year (for the set-based SQL path).

    basis: "period" (the year of the period), "exigibility" (the year of its due date) or
    "payment" (the later of that year and the year its contributions were paid, for
    surcharges); the expiry is (basis year + years_after)-month-day.
    """

    basis: str
    years_after: int
    month: int
    day: int

    def expiry(self, basis_year: int) -> date:
        return date(basis_year + self.years_after, self.month, self.day)


def add_months(day: date, months: int) -> date:
    """Same day `months` later, at the month's end when it has no such day.

    >>> add_months(date(2020, 12, 31), 6)
    datetime.date(2021, 6, 30)
    >>> add_months(date(2024, 1, 31), 1)
    datetime.date(2024, 2, 29)
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """Same day `years` later; 29 February becomes 28 February (Code civil: day for day).

    >>> add_years(date(2024, 2, 29), 3)
    datetime.date(2027, 2, 28)
    """
    return add_months(day, 12 * years)


def period_year(period: str) -> int:
    """The calendar year of a ledger period ("2024-03", "2024-Q1", "2024").

    >>> period_year("2024-Q1")
    2024
    """
    return int(period[:4])


def claim_rule(params: ParameterSet, scheme: str, kind: str, year: int) -> ClaimRule:
    """The claim rule of a debt of `kind` ("principal", "surcharge", "penalty") of a period of
    `year`, under the law in force for that year."""
    if scheme not in SCHEMES:
        raise ValueError(f"régime inconnu : {scheme}")
    start = date(year, 1, 1)
    years = params.value("limitation.contributions.years", start)
    months = params.value(f"limitation.{scheme}.start_months_after_year_end", start)
    basis = params.value("limitation.contributions.reference", start)
    if kind == "surcharge":
        surcharge_basis = params.value("limitation.surcharges.reference", start)
        if surcharge_basis == "payment_or_exigibility":
            basis, months = "payment", 0
    end = add_months(date(2001 + years, 12, 31), months)
    return ClaimRule(basis, end.year - 2001, end.month, end.day)


def claim_expiry(
    params: ParameterSet,
    scheme: str,
    kind: str,
    period: str,
    due_date: date | None,
    paid_on: date | None = None,
) -> date:
    """Last day of the claim period of a debt without any recorded act (see the module doc).

    `due_date` is the debt's exigibility (its call's due date); without one, the period's year
    stands for it. `paid_on`: the day the contributions a surcharge sanctions were fully paid.

    >>> from recouvrement.rules.parameters import load_parameters
    >>> claim_expiry(load_parameters(), "employer", "surcharge", "2021-12", date(2022, 1, 15),
    ...              paid_on=date(2023, 5, 2))
    datetime.date(2026, 12, 31)
    """
    year = period_year(period)
    rule = claim_rule(params, scheme, kind, year)
    return rule.expiry(basis_year(rule, year, due_date, paid_on))


def basis_year(rule: ClaimRule, year: int, due_date: date | None, paid_on: date | None) -> int:
    """The year a claim rule counts from (see `ClaimRule`)."""
    due_year = year if rule.basis == "period" or due_date is None else due_date.year
    if rule.basis == "payment" and paid_on is not None:
        return max(due_year, paid_on.year)
    return due_year


def _span(params: ParameterSet, name: str, start: date) -> date:
    """End of a period of `name` years starting on `start`; a later shortening of the duration
    runs from its own date without exceeding the former end (Code civil art. 2222 al. 2)."""
    end = add_years(start, params.value(name, start))
    for value in params.get(name).timeline():
        if start < value.start <= end and not value.gap and value.value is not None:
            end = min(end, add_years(value.start, value.value))
    return end


def expiry(
    params: ParameterSet,
    scheme: str,
    kind: str,
    period: str,
    due_date: date | None,
    events: Iterable[LimitationEvent],
    paid_on: date | None = None,
) -> date:
    """Limitation date of a debt given the acts recorded on its (contributor, period).

    >>> from recouvrement.rules.parameters import load_parameters
    >>> p = load_parameters()

    A payment plan requested on 1 June 2024 restarts three years of claim:

    >>> expiry(p, "employer", "principal", "2021-03", date(2021, 4, 15),
    ...        [LimitationEvent(date(2024, 6, 1), "payment_plan_request")])
    datetime.date(2027, 6, 1)

    A contrainte served on 2 May 2025 after that notice: three years to execute it.

    >>> expiry(p, "employer", "principal", "2021-03", date(2021, 4, 15),
    ...        [LimitationEvent(date(2024, 3, 10), "formal_notice"),
    ...         LimitationEvent(date(2025, 5, 2), "enforcement_order")])
    datetime.date(2028, 5, 2)

    A notice sent after the limitation date comes too late:

    >>> expiry(p, "employer", "principal", "2021-03", date(2021, 4, 15),
    ...        [LimitationEvent(date(2025, 1, 2), "formal_notice")])
    datetime.date(2024, 12, 31)
    """
    deadline = claim_expiry(params, scheme, kind, period, due_date, paid_on)
    claim_years = params.value("limitation.contributions.years", date(period_year(period), 1, 1))
    phase = "claim"
    claim_deadline = deadline  # the claim period, which suspensions and acknowledgements extend
    for e in sorted(events, key=lambda e: (e.on, EVENTS.index(e.event))):
        if e.event not in EVENTS:
            raise ValueError(f"acte inconnu : {e.event}")
        if e.on > deadline:
            break
        if e.event in SUSPENSIONS:
            if e.until is None:
                return SUSPENDED
            deadline += timedelta(days=(e.until - e.on).days + 1)
            if phase == "claim":
                claim_deadline = deadline
        elif e.event == FORMAL_NOTICE:
            # a notice is valid while the contributions may still be claimed; a later notice
            # within that period opens a new action period (it only ever extends it)
            if phase == "claim":
                phase = "action"
            if e.on <= claim_deadline:
                months = params.value("limitation.formal_notice.months", e.on)
                deadline = max(
                    deadline, _span(params, "limitation.action.years", add_months(e.on, months))
                )
        elif e.event == ENFORCEMENT_ORDER:
            phase = "execution"
            deadline = max(deadline, _span(params, "limitation.enforcement.years", e.on))
        elif phase == "claim":
            deadline = max(deadline, add_years(e.on, claim_years))
            claim_deadline = deadline
        elif phase == "action":
            deadline = max(deadline, _span(params, "limitation.action.years", e.on))
        else:
            deadline = max(deadline, _span(params, "limitation.enforcement.years", e.on))
    return deadline


def is_prescribed(limitation_date: date, on: date) -> bool:
    """A debt is prescribed the day after its limitation date.

    >>> is_prescribed(date(2024, 12, 31), date(2025, 1, 1))
    True
    >>> is_prescribed(date(2024, 12, 31), date(2024, 12, 31))
    False
    """
    return on > limitation_date
