"""The self-employed yearly cycle: provisional base, instalments, recalculation, regularisation."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recouvrement.domain.errors import DomainError
from recouvrement.domain.self_employed_calendar import (
    Basis,
    Frequency,
    Instalment,
    declaration_deadlines,
    provisional_base,
    recalculate,
    regularisation,
    reschedule,
    schedule,
    spread,
    yearly_total,
)
from recouvrement.rules.parameters import ParameterError, load_parameters

PARAMS = load_parameters()
OLD_BUSINESS = date(2010, 3, 1)


def test_provisional_base_prefers_estimate_then_n_minus_1_then_n_minus_2():
    kw = {"activity_start": OLD_BUSINESS, "income_n_minus_2": 3_000_000}
    assert provisional_base(PARAMS, 2020, **kw) == (3_000_000, Basis.N_MINUS_2)
    assert provisional_base(PARAMS, 2020, income_n_minus_1=4_000_000, **kw) == (
        4_000_000,
        Basis.N_MINUS_1,
    )
    assert provisional_base(PARAMS, 2020, income_n_minus_1=4_000_000, estimate=1_000_000, **kw) == (
        1_000_000,
        Basis.ESTIMATE,
    )


def test_first_years_use_the_flat_base():
    """19 % of the PASS both first years from 2017; 19 % then 27 % before (décret 2017-301)."""
    pass_2020 = 12 * 342_800
    assert provisional_base(PARAMS, 2020, activity_start=date(2020, 4, 1)) == (
        pass_2020 * 19 // 100,
        Basis.START_FLAT_BASE,
    )
    assert provisional_base(PARAMS, 2021, activity_start=date(2020, 4, 1)).income == (
        12 * 342_800 * 19 // 100
    )
    assert provisional_base(PARAMS, 2016, activity_start=date(2015, 4, 1)).income == (
        12 * 321_800 * 27 // 100
    )


def test_third_year_without_income_is_refused_naming_the_field():
    with pytest.raises(DomainError) as err:
        provisional_base(PARAMS, 2022, activity_start=date(2020, 1, 1))
    assert err.value.problems[0].field == "income_n_minus_2"


def test_monthly_schedule_on_the_5th_sums_to_the_total():
    total = yearly_total(PARAMS, 2024, "craft", 3_000_000)
    lines = schedule(PARAMS, 2024, total)
    assert [i.due for i in lines] == [date(2024, m, 5) for m in range(1, 13)]
    assert sum(i.amount for i in lines) == total
    assert max(i.amount for i in lines) - min(i.amount for i in lines) <= 1


def test_monthly_on_the_20th_and_quarterly_dates():
    assert schedule(PARAMS, 2024, 1200, day=20)[0].due == date(2024, 1, 20)
    quarterly = schedule(PARAMS, 2024, 1_000_003, Frequency.QUARTERLY)
    assert [i.due for i in quarterly] == [
        date(2024, 2, 5),
        date(2024, 5, 5),
        date(2024, 8, 5),
        date(2024, 11, 5),
    ]
    # 1 000 003 = 4 × 250 000 + 3: the three leftover cents go to the last three instalments
    assert [i.amount for i in quarterly] == [250_000, 250_001, 250_001, 250_001]
    with pytest.raises(DomainError):
        schedule(PARAMS, 2024, 1200, day=12)


@given(total=st.integers(0, 10**10), n=st.integers(1, 12))
def test_spread_never_loses_a_cent(total, n):
    dates = [date(2024, m, 5) for m in range(1, n + 1)]
    parts = [i.amount for i in spread(total, dates)]
    assert sum(parts) == total
    assert parts == sorted(parts)
    assert parts[-1] - parts[0] <= 1


def test_spread_refuses_a_credit():
    with pytest.raises(DomainError):
        spread(-1, [date(2024, 1, 5)])


def test_recalculation_after_the_declaration_keeps_past_instalments():
    provisional = schedule(PARAMS, 2024, yearly_total(PARAMS, 2024, "trade", 2_000_000))
    declared_on = date(2024, 5, 10)  # instalments of 5 Jan … 5 May are already called
    result = recalculate(PARAMS, 2024, "trade", provisional, 4_000_000, declared_on)
    assert result.instalments[:5] == provisional[:5]
    assert sum(i.amount for i in result.instalments) == yearly_total(
        PARAMS, 2024, "trade", 4_000_000
    )
    assert result.credit == 0 and result.unscheduled == 0


def test_recalculation_downwards_gives_a_credit_when_already_overpaid():
    provisional = [Instalment(date(2024, m, 5), 100_000) for m in range(1, 13)]
    result = reschedule(provisional, 450_000, date(2024, 6, 1))
    assert [i.amount for i in result.instalments[5:]] == [0] * 7
    assert result.credit == 50_000
    late = reschedule(provisional, 1_300_000, date(2024, 12, 31))
    assert late.unscheduled == 100_000


def test_regularisation_is_definitive_minus_called():
    called = yearly_total(PARAMS, 2023, "craft", 2_000_000)
    assert regularisation(PARAMS, 2023, "craft", 2_000_000, called) == 0
    assert regularisation(PARAMS, 2023, "craft", 3_000_000, called) > 0
    assert regularisation(PARAMS, 2023, "craft", 1_000_000, called) < 0


def test_declaration_deadlines_known_years_and_gaps():
    assert declaration_deadlines(PARAMS, 2015) == (date(2015, 5, 19), date(2015, 6, 9))
    assert declaration_deadlines(PARAMS, 2018) == (date(2018, 5, 18), date(2018, 6, 8))
    with pytest.raises(ParameterError, match="non trouvée"):
        declaration_deadlines(PARAMS, 2016)
