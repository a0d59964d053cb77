"""Payment plans (délais de paiement, sursis à poursuites): examination, schedule and follow-up.

CSS art. R243-21: the director of the collecting organisation may, once the employee contributions
(cotisations ouvrières) are paid in full, grant a stay of proceedings for the employer
contributions, penalties and late surcharges, with guarantees he appraises; the courts cannot grant
delays. The collectors add conditions of practice — declarations filed, at most twelve months —
kept as dated parameters (`rules/parameters/payment_plans.yaml`), never as literals here.

A plan does not stop late surcharges: they run from the due date until full payment whatever
delays were granted (R243-16 and R243-18; rocheblave.com, « les majorations sont dues peu importe
les délais de paiement consentis »), and the additional surcharge can only be remitted when the
contributions were paid within thirty days of their due date (R243-20), so the surcharges step
keeps running while a plan runs. The plan covers the debts due on the day it is granted (the
surcharges already posted among them); surcharges posted later are owed outside the plan.

Everything here is pure: dates are passed in, amounts are integer cents.

>>> [i.amount for i in schedule(100_00, 3, date(2016, 3, 10), 15, MAINLAND)]
[3333, 3333, 3334]
>>> [i.due_date.isoformat() for i in schedule(100_00, 3, date(2016, 3, 10), 15, MAINLAND)]
['2016-04-15', '2016-05-17', '2016-06-15']
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import NamedTuple

from recouvrement.domain.allocation import Debt, item_kind
from recouvrement.domain.calendars import MAINLAND, BusinessCalendar
from recouvrement.domain.errors import DomainError, Problem
from recouvrement.domain.money import format_euros_fr

__all__ = [
    "MAINLAND",
    "FollowUp",
    "Instalment",
    "Rules",
    "covered_debts",
    "examine",
    "follow_up",
    "schedule",
]


class Rules(NamedTuple):
    """The conditions in force on the day of the examination (payment_plans.yaml)."""

    max_months: int
    employee_share_required: bool
    employee_share_items: frozenset[str]
    declarations_required: bool


class Instalment(NamedTuple):
    """One échéance of a plan: its rank (1…n), due date, amount and the total due up to it."""

    rank: int
    due_date: date
    amount: int
    cumulative: int


class FollowUp(NamedTuple):
    """What a plan's payments say on a day.

    Attributes:
        paid: rank → the day the payments since the grant first covered the schedule up to it.
        lapsed_on: the day after the grace period of the first instalment not covered in time.
        completed_on: the day the last instalment was covered.
    """

    paid: dict[int, date]
    lapsed_on: date | None
    completed_on: date | None


def check_months(months: object) -> int:
    """The requested length, a whole number of months of at least one."""
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise DomainError.single(
            "months", "la durée demandée doit être un nombre entier de mois, au moins 1", "months"
        )
    return months


def covered_debts(debts: Iterable[Debt], on: date) -> list[Debt]:
    """The debts a plan granted on `on` spreads: due on or before that day, not a credit owed back
    (paid last by the allocation order, outside the plan)."""
    return sorted(
        (
            d
            for d in debts
            if d.amount > 0 and d.due_date is not None and d.due_date <= on
            if item_kind(d.item) != "credit"
        ),
        key=lambda d: (d.due_date, d.period, d.fund, d.item),
    )


def examine(
    *,
    employer: bool,
    months: int,
    debts: Sequence[Debt],
    missing_declarations: Sequence[str],
    rules: Rules,
) -> list[Problem]:
    """Every condition the request fails, each named in French; none: the plan may be granted.

    `debts` are the debts the plan would cover (`covered_debts`); `missing_declarations` the
    periods (or years, for the self-employed) whose declaration is due and not filed.
    """
    problems: list[Problem] = []
    if not debts:
        problems.append(
            Problem("debts", "aucune dette exigible à échelonner sur le compte", "no_debt")
        )
    if months > rules.max_months:
        problems.append(
            Problem(
                "months",
                f"durée demandée de {months} mois, supérieure au maximum de "
                f"{rules.max_months} mois",
                "too_long",
            )
        )
    if rules.declarations_required and missing_declarations:
        shown = ", ".join(missing_declarations[:12])
        more = len(missing_declarations) - 12
        problems.append(
            Problem(
                "declarations",
                "déclarations échues non déposées : "
                + shown
                + (f" et {more} autre(s)" if more > 0 else ""),
                "declarations_missing",
            )
        )
    if employer and rules.employee_share_required:
        unpaid = sum(d.amount for d in debts if d.item in rules.employee_share_items)
        if unpaid > 0:
            problems.append(
                Problem(
                    "employee_share",
                    f"part salariale impayée : {format_euros_fr(unpaid)} ; elle doit être "
                    "entièrement réglée avant tout délai (article R243-21 du code de la "
                    "sécurité sociale)",
                    "employee_share_unpaid",
                )
            )
    return problems


def _month_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, _calendar.monthrange(year, month)[1]))


def schedule(
    total: int, months: int, granted_on: date, day: int, cal: BusinessCalendar
) -> list[Instalment]:
    """Monthly instalments of `total` cents: equal parts rounded down to the cent, the remainder
    on the last; the first falls on `day` of the month after the grant, each moved to the next
    business day of the territory's calendar. Never an instalment of zero: a total smaller than
    the number of months is spread over fewer months."""
    if isinstance(total, bool) or not isinstance(total, int) or total <= 0:
        raise DomainError.single("total", "montant à échelonner invalide", "not_cents")
    n = min(check_months(months), total)
    part = total // n
    out = []
    for rank in range(1, n + 1):
        index = granted_on.month - 1 + rank
        due = cal.next_or_same(_month_day(granted_on.year + index // 12, index % 12 + 1, day))
        amount = part if rank < n else total - part * (n - 1)
        out.append(Instalment(rank, due, amount, part * rank if rank < n else total))
    return out


def follow_up(
    instalments: Sequence[Instalment],
    payments: Iterable[tuple[date, int]],
    day: date,
    grace_days: int,
) -> FollowUp:
    """Judge a plan on `day` from its payments (value date, net cents) made after the grant and
    before `day`: an instalment is paid when the payments cover the schedule up to it; one still
    uncovered at the end of its due date plus the grace period lapses the plan the next day.

    Each instalment is judged on the payments as of its own deadline, so running every day or
    once after a gap gives the same answer.

    >>> plan = schedule(300_00, 3, date(2016, 3, 10), 15, MAINLAND)
    >>> f = follow_up(plan, [(date(2016, 4, 14), 100_00), (date(2016, 5, 20), 100_00)],
    ...               date(2016, 7, 1), 15)
    >>> sorted(f.paid), f.lapsed_on
    ([1, 2], datetime.date(2016, 7, 1))
    """
    running: list[tuple[date, int]] = []
    total = 0
    for value_date, amount in sorted(payments):
        if value_date >= day:
            break
        total += amount
        running.append((value_date, total))
    paid: dict[int, date] = {}
    for instalment in instalments:
        reached = next((d for d, cum in running if cum >= instalment.cumulative), None)
        deadline = instalment.due_date + timedelta(days=grace_days)
        if reached is not None and reached <= deadline:
            paid[instalment.rank] = reached
            continue
        if deadline < day:
            return FollowUp(paid, deadline + timedelta(days=1), None)
        return FollowUp(paid, None, None)
    completed = paid[instalments[-1].rank] if instalments else None
    return FollowUp(paid, None, completed)
