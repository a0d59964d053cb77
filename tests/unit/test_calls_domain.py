"""Due dates of calls, instalment split and references (domain/calls.py), without a database."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recouvrement.domain.calendars import calendar_for
from recouvrement.domain.calls import (
    CREDIT_SLOT,
    CallKind,
    call_reference,
    differences,
    employer_due,
    instalment_periods,
    notice_date,
    provisional_plan,
    regularisation_due,
    regularisation_plan,
    self_employed_dues,
    split,
)
from recouvrement.domain.errors import DomainError
from recouvrement.domain.payment_reference import contributor_of_reference
from recouvrement.domain.self_employed_calendar import Frequency
from recouvrement.rules.parameters import load_parameters

PARAMS = load_parameters()
MAINLAND = calendar_for("69")
MAYOTTE = calendar_for("976")


# --- employers (R243-6, R243-6-1) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "headcount", "kind", "due"),
    [
        # from 2017: 50 and more on the 5th of M+1, otherwise the 15th
        ("2024-03", 50, CallKind.EMPLOYER_MONTHLY, date(2024, 4, 5)),
        ("2024-03", 49, CallKind.EMPLOYER_MONTHLY, date(2024, 4, 15)),
        ("2024-03", 3, CallKind.EMPLOYER_MONTHLY, date(2024, 4, 15)),
        # a quarter declared as such: the 15th of the month after it
        ("2024-Q2", 3, CallKind.EMPLOYER_QUARTERLY, date(2024, 7, 15)),
        # 2013-2016: nine or fewer pay by quarter, 10-49 on the 15th, 50+ on the 5th
        ("2014-05", 9, CallKind.EMPLOYER_QUARTERLY, date(2014, 7, 15)),
        ("2014-05", 10, CallKind.EMPLOYER_MONTHLY, date(2014, 6, 16)),  # 15 June 2014: Sunday
        ("2016-11", 120, CallKind.EMPLOYER_MONTHLY, date(2016, 12, 5)),
        ("2016-12", 4, CallKind.EMPLOYER_QUARTERLY, date(2017, 1, 16)),  # 15 Jan 2017: Sunday
    ],
)
def test_employer_due_dates(period, headcount, kind, due):
    result = employer_due(PARAMS, period, headcount, MAINLAND)
    assert (result.kind, result.due) == (kind, due)


def test_a_due_date_on_a_holiday_moves_to_the_next_business_day_of_the_territory():
    # 5 May 2024 is a Sunday; the 15 August is a holiday everywhere
    assert employer_due(PARAMS, "2024-04", 60, MAINLAND).due == date(2024, 5, 6)
    assert employer_due(PARAMS, "2024-07", 3, MAINLAND).due == date(2024, 8, 16)
    # 5 April 2021 is Easter Monday
    april = self_employed_dues(PARAMS, 2021, Frequency.MONTHLY, 5, MAINLAND)[3]
    assert (april.legal, april.due) == (date(2021, 4, 5), date(2021, 4, 6))


def test_mayotte_holidays_move_a_due_date_that_the_mainland_keeps():
    # 27 April 2026 is a Monday: open on the mainland, closed in Mayotte
    legal = date(2026, 4, 27)
    assert MAINLAND.next_or_same(legal) == legal
    assert MAYOTTE.next_or_same(legal) == date(2026, 4, 28)


def test_a_year_is_not_an_employer_period():
    with pytest.raises(DomainError):
        employer_due(PARAMS, "2024", 3, MAINLAND)


# --- self-employed (R131-1) -----------------------------------------------------------------------


@pytest.mark.parametrize("year", range(2014, 2027))
@pytest.mark.parametrize("day", [5, 20])
def test_every_monthly_due_date_is_a_business_day_on_the_chosen_day_or_just_after(year, day):
    dues = self_employed_dues(PARAMS, year, Frequency.MONTHLY, day, MAINLAND)
    assert [d.legal for d in dues] == [date(year, m, day) for m in range(1, 13)]
    for d in dues:
        assert MAINLAND.is_business_day(d.due)
        assert 0 <= (d.due - d.legal).days <= 4
        assert d.kind == CallKind.SELF_EMPLOYED_MONTHLY


@pytest.mark.parametrize("year", range(2014, 2027))
def test_quarterly_due_dates_are_5_feb_may_aug_nov_or_the_next_business_day(year):
    dues = self_employed_dues(PARAMS, year, Frequency.QUARTERLY, None, MAYOTTE)
    assert [d.legal for d in dues] == [date(year, m, 5) for m in (2, 5, 8, 11)]
    assert all(MAYOTTE.is_business_day(d.due) for d in dues)


def test_examples_of_self_employed_due_dates():
    dues = self_employed_dues(PARAMS, 2025, Frequency.MONTHLY, 5, MAINLAND)
    assert dues[0].due == date(2025, 1, 6)  # 5 January 2025: Sunday
    assert dues[4].due == date(2025, 5, 5)
    dues = self_employed_dues(PARAMS, 2024, Frequency.MONTHLY, 20, MAINLAND)
    assert dues[3].due == date(2024, 4, 22)  # 20 April 2024: Saturday
    with pytest.raises(DomainError):
        self_employed_dues(PARAMS, 2024, Frequency.MONTHLY, 12, MAINLAND)


def test_notice_is_issued_15_days_before_but_never_before_the_call():
    assert notice_date(PARAMS, date(2024, 3, 5), date(2024, 1, 1)) == date(2024, 2, 19)
    assert notice_date(PARAMS, date(2024, 3, 5), date(2024, 3, 1)) == date(2024, 3, 1)


def test_instalment_periods():
    assert instalment_periods(2024, Frequency.QUARTERLY) == [f"2024-Q{q}" for q in range(1, 5)]
    assert instalment_periods(2024, Frequency.MONTHLY)[-1] == "2024-12"


def test_regularisation_falls_due_with_the_first_instalment_15_days_away():
    dues = [d.due for d in self_employed_dues(PARAMS, 2024, Frequency.MONTHLY, 5, MAINLAND)]
    assert regularisation_due(PARAMS, dues, date(2024, 5, 10), MAINLAND) == date(2024, 6, 5)
    assert regularisation_due(PARAMS, dues, date(2024, 5, 21), MAINLAND) == date(2024, 6, 5)
    assert regularisation_due(PARAMS, dues, date(2024, 5, 22), MAINLAND) == date(2024, 7, 5)
    # nothing left in the year: the cutoff day itself, on a business day
    assert regularisation_due(PARAMS, dues, date(2024, 12, 10), MAINLAND) == date(2024, 12, 26)


# --- split and plans ------------------------------------------------------------------------------


amounts = st.dictionaries(
    st.sampled_from(["health", "basic_pension", "crds", "family_allowances"]),
    st.integers(min_value=0, max_value=10**12),
    min_size=1,
)


@given(amounts, st.sampled_from([1, 4, 12]))
def test_the_split_never_loses_or_creates_a_cent(amounts, n):
    periods = [f"p{i}" for i in range(n)]
    parts = split(amounts, periods)
    for item, amount in amounts.items():
        shares = [parts[(item, p)] for p in periods]
        assert sum(shares) == amount
        assert max(shares) - min(shares) <= 1
        assert shares == sorted(shares)  # the leftover cents go on the last instalments


@given(amounts, amounts, st.integers(min_value=0, max_value=12))
def test_a_recalculation_keeps_the_past_and_lands_exactly_on_the_new_total(old, new, done):
    periods = instalment_periods(2024, Frequency.MONTHLY)
    dues = [date(2024, m, 5) for m in range(1, 13)]
    cutoff = date(2024, done + 1, 1) if done < 12 else date(2025, 1, 1)
    first = provisional_plan(old, periods, dues, {}, date(2023, 12, 1))
    second = provisional_plan(new, periods, dues, first, cutoff)
    for period, due in zip(periods, dues, strict=True):
        if due < cutoff:
            for item in old:
                assert second.get((item, period), 0) == first[(item, period)]
    for item, amount in new.items():
        carried = sum(v for (i, _), v in second.items() if i == item)
        if done < 12:
            assert carried == amount  # instalments to come, plus a credit when negative
        else:
            # no instalment left: an excess is a credit, a shortfall waits for the regularisation
            called = sum(v for (i, s), v in first.items() if i == item and s != CREDIT_SLOT)
            assert carried == min(amount, called)
    diff = differences(second, first)
    for key, value in diff.items():
        assert first.get(key, 0) + value == second.get(key, 0)


def test_regularisation_plan_owes_or_credits_per_item():
    plan = regularisation_plan({"health": 500, "crds": 100}, {"health": 300, "crds": 150}, 2023)
    assert plan[("health", "2023")] == 200 and plan[("health", CREDIT_SLOT)] == 0
    assert plan[("crds", "2023")] == 0 and plan[("crds", CREDIT_SLOT)] == -50


def test_a_call_reference_is_matched_back_to_its_account():
    reference = call_reference(42, "2024-Q1")
    assert reference == "RF340000000042 2024-Q1" and len(reference) <= 35
    assert contributor_of_reference(reference) == 42
    assert contributor_of_reference(call_reference(123456, "2023")) == 123456
