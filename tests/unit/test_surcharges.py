"""Late surcharges, worked by hand per regime, against the shipped parameters."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from recouvrement.domain.surcharges import (
    AuditRegime,
    Scale,
    add_months,
    audit_surcharges,
    is_principal,
    ordinary_surcharges,
    surcharge_amount,
    underestimate_rate,
)
from recouvrement.rules.parameters import load_parameters
from recouvrement.services.surcharges import audit_regime, scale_of_period


def payments(total: int, paid: dict[date, int]):
    """unpaid_at for a debt of `total` cents paid `paid` (value date → cents)."""
    return lambda day: total - sum(v for d, v in paid.items() if d <= day)


def summary(lines):
    return [(x.item, x.key_suffix, x.value_date, x.base, x.amount) for x in lines]


def test_scale_follows_the_period_of_activity():
    assert scale_of_period("2005-03") == Scale(Decimal("0.10"), Decimal("0.02"), 3, 3)
    assert scale_of_period("2007-12") == Scale(Decimal("0.10"), Decimal("0.02"), 3, 3)
    assert scale_of_period("2008-01") == Scale(Decimal("0.05"), Decimal("0.004"), 1, 0)
    assert scale_of_period("2017-Q4") == Scale(Decimal("0.05"), Decimal("0.004"), 1, 0)
    assert scale_of_period("2018-01") == Scale(Decimal("0.05"), Decimal("0.002"), 1, 0)
    assert scale_of_period("2018") == Scale(Decimal("0.05"), Decimal("0.002"), 1, 0)


def test_2010_debt_at_0_4_percent_a_month():
    # 1,000.00 € for March 2010 due 15 April 2010, paid in full on 20 June 2010:
    # 5 % = 50.00 €; months opened at the end of 15 April, 15 May, 15 June: 3 × 0.4 % = 12.00 €.
    lines = ordinary_surcharges(
        date(2010, 4, 15),
        scale_of_period("2010-03"),
        payments(100_000, {date(2010, 6, 20): 100_000}),
        date(2011, 1, 1),
    )
    assert summary(lines) == [
        ("surcharge_initial", "initial", date(2010, 4, 16), 100_000, 5_000),
        ("surcharge_additional", "2010-04-15", date(2010, 4, 16), 100_000, 400),
        ("surcharge_additional", "2010-05-15", date(2010, 5, 16), 100_000, 400),
        ("surcharge_additional", "2010-06-15", date(2010, 6, 16), 100_000, 400),
    ]


def test_2016_debt_paid_late_in_two_parts():
    # 2,345.67 € for the second quarter of 2016 due 15 July 2016; 1,000 € paid 1 September, the
    # rest 3 October. Initial 117.28 € (117.2835 rounded half up); 15 July: 9.38 € (9.38268);
    # 15 August: 9.38 €; 15 September: 1,345.67 € left → 5.38 € (5.38268); 15 October: nothing.
    lines = ordinary_surcharges(
        date(2016, 7, 15),
        scale_of_period("2016-Q2"),
        payments(234_567, {date(2016, 9, 1): 100_000, date(2016, 10, 3): 134_567}),
        date(2017, 1, 1),
    )
    assert [(x.key_suffix, x.base, x.amount) for x in lines] == [
        ("initial", 234_567, 11_728),
        ("2016-07-15", 234_567, 938),
        ("2016-08-15", 234_567, 938),
        ("2016-09-15", 134_567, 538),
    ]


def test_2019_debt_at_0_2_percent_a_month_still_unpaid():
    lines = ordinary_surcharges(
        date(2019, 3, 15), scale_of_period("2019-02"), payments(100_000, {}), date(2019, 6, 16)
    )
    # 50 € + 4 months begun (after 15 March, 15 April, 15 May, 15 June): 4 × 2 €
    assert [x.amount for x in lines] == [5_000, 200, 200, 200, 200]
    assert lines[-1].value_date == date(2019, 6, 16)


def test_2005_debt_quarterly_after_three_months():
    # 10 % then 2 % per quarter or part of a quarter begun after three months (pre-2008 R243-18):
    # 1,000 € due 15 April 2005, paid 1 December 2005: 100 € + 15 July (20 €) + 15 October (20 €).
    lines = ordinary_surcharges(
        date(2005, 4, 15),
        scale_of_period("2005-03"),
        payments(100_000, {date(2005, 12, 1): 100_000}),
        date(2006, 6, 1),
    )
    assert [(x.key_suffix, x.amount) for x in lines] == [
        ("initial", 10_000),
        ("2005-07-15", 2_000),
        ("2005-10-15", 2_000),
    ]


def test_no_surcharge_on_a_debt_paid_on_time():
    scale = scale_of_period("2019-02")
    on_time = payments(100_000, {date(2019, 3, 15): 100_000})
    assert ordinary_surcharges(date(2019, 3, 15), scale, on_time, date(2020, 1, 1)) == []
    early = payments(100_000, {date(2019, 3, 1): 100_000})
    assert ordinary_surcharges(date(2019, 3, 15), scale, early, date(2020, 1, 1)) == []


def test_one_day_late_owes_the_initial_and_a_month_begun():
    lines = ordinary_surcharges(
        date(2019, 3, 15),
        scale_of_period("2019-02"),
        payments(100_000, {date(2019, 3, 16): 100_000}),
        date(2020, 1, 1),
    )
    assert [(x.item, x.amount) for x in lines] == [
        ("surcharge_initial", 5_000),
        ("surcharge_additional", 200),
    ]


def test_nothing_is_posted_before_the_day_after_the_due_date():
    scale = scale_of_period("2019-02")
    assert ordinary_surcharges(date(2019, 3, 15), scale, payments(1, {}), date(2019, 3, 15)) == []


def test_month_end_anniversaries_fall_on_the_last_day_of_shorter_months():
    lines = ordinary_surcharges(
        date(2019, 1, 31), scale_of_period("2018-12"), payments(100_000, {}), date(2019, 5, 1)
    )
    assert [x.key_suffix for x in lines] == [
        "initial",
        "2019-01-31",
        "2019-02-28",
        "2019-03-31",
        "2019-04-30",
    ]


def test_rounding_is_half_up_to_the_cent_per_posting():
    assert surcharge_amount(250, Decimal("0.002")) == 1  # 0.5 cent → 1 cent
    assert surcharge_amount(249, Decimal("0.002")) == 0
    assert surcharge_amount(12_345, Decimal("0.05")) == 617  # 617.25 → 617


def test_surcharges_and_penalties_bear_no_surcharge():
    assert is_principal("basic_pension")
    for item in ("surcharge_initial", "surcharge_additional", "surcharge_audit", "penalty_x"):
        assert not is_principal(item)
    assert not is_principal("credit")


def test_audit_adjustment_paid_on_day_29_gets_the_reduced_rate():
    notice = date(2024, 6, 1)
    regime = audit_regime("2022-06", notice)
    assert regime == AuditRegime(notice, date(2023, 2, 1), Decimal("0.001"), 30, False)
    scale = scale_of_period("2022-06")
    day29 = payments(1_000_000, {notice + timedelta(days=29): 1_000_000})
    day31 = payments(1_000_000, {notice + timedelta(days=31): 1_000_000})
    due = date(2024, 7, 1)
    reduced = audit_surcharges(due, scale, regime, day29, date(2024, 12, 31))
    ordinary = audit_surcharges(due, scale, regime, day31, date(2024, 12, 31))
    assert {x.rate for x in reduced} == {Decimal("0.001")}
    assert {x.rate for x in ordinary} == {Decimal("0.002")}
    assert (len(reduced), sum(x.amount for x in reduced)) == (17, 17_000)
    assert (len(ordinary), sum(x.amount for x in ordinary)) == (18, 36_000)
    # nothing before the window closes; everything opened so far on the day after
    assert audit_surcharges(due, scale, regime, day29, notice + timedelta(days=30)) == []
    assert {x.value_date for x in reduced} == {notice + timedelta(days=31)}


def test_audit_before_2018_has_no_reduced_rate_and_keeps_the_initial():
    regime = audit_regime("2015-06", date(2017, 6, 1))
    assert regime.reduced_rate is None and regime.initial_applies
    scale = scale_of_period("2015-06")
    paid = payments(100_000, {date(2017, 6, 20): 100_000})
    lines = audit_surcharges(date(2017, 6, 15), scale, regime, paid, date(2018, 1, 1))
    assert lines[0].item == "surcharge_initial" and lines[0].amount == 5_000
    assert {x.rate for x in lines[1:]} == {Decimal("0.004")}
    # February 2016 to June 2017: 17 months at 0.4 % of 1,000 €
    assert sum(x.amount for x in lines[1:]) == 17 * 400


def test_underestimate_thresholds_from_the_parameters():
    params = load_parameters()

    def rate(year, estimated, actual):
        on = date(year, 1, 1)
        return underestimate_rate(
            estimated,
            actual,
            Fraction(params.value("late_surcharges.underestimate_threshold", on)),
            params.value("late_surcharges.underestimate_rate", on),
            params.value("late_surcharges.underestimate_high_rate", on),
            params.value("late_surcharges.underestimate_high_ratio", on),
        )

    assert rate(2017, 3_000_000, 4_000_000) is None  # exactly a third above: not more
    assert rate(2017, 3_000_000, 4_000_001) == Decimal("0.05")
    assert rate(2017, 3_000_000, 4_500_001) == Decimal("0.10")
    assert rate(2019, 3_000_000, 9_000_000) is None  # suspended for 2018 and 2019
    assert rate(2022, 3_000_000, 9_000_000) is None  # abolished


@st.composite
def debts(draw):
    due = draw(st.dates(date(2008, 1, 1), date(2030, 12, 31)))
    total = draw(st.integers(1, 10**9))
    parts = draw(st.lists(st.tuples(st.integers(0, 500), st.integers(1, 10**9)), max_size=4))
    paid: dict[date, int] = {}
    for offset, amount in parts:
        day = due + timedelta(days=offset)
        paid[day] = paid.get(day, 0) + amount
    return due, total, paid


@settings(max_examples=200, deadline=None)
@given(debts(), st.integers(0, 800), st.integers(0, 800))
def test_a_later_run_only_adds_lines_to_an_earlier_one(debt, first, second):
    """Catching up: what is due up to a day is a prefix of what is due up to any later day."""
    due, total, paid = debt
    scale = Scale(Decimal("0.05"), Decimal("0.002"), 1, 0)
    unpaid = payments(total, paid)
    early = due + timedelta(days=min(first, second))
    late = due + timedelta(days=max(first, second))
    a = ordinary_surcharges(due, scale, unpaid, early)
    b = ordinary_surcharges(due, scale, unpaid, late)
    assert b[: len(a)] == a
    assert all(x.value_date <= late and x.amount > 0 for x in b)
    assert len({x.key_suffix for x in b}) == len(b)
    months = [x for x in b if x.item == "surcharge_additional"]
    assert all(add_months(due, i) == date.fromisoformat(x.key_suffix) for i, x in enumerate(months))
    # never more months than begun since the due date
    assert len(months) <= (late - due).days // 28 + 1
