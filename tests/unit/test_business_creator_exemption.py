"""ACCRE / ACRE relief on the self-employed lines."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from recouvrement.domain.assessment.business_creator_exemption import (
    business_creator_relief,
    exempted_share_of_year,
    income_share,
)
from recouvrement.domain.assessment.self_employed import assess_year
from recouvrement.rules.parameters import ParameterError, load_parameters

PARAMS = load_parameters()
PASS_2024 = 12 * 386_400
EXEMPTED = {"health", "daily_allowances", "basic_pension", "invalidity_death", "family_allowances"}


def test_full_relief_under_75_percent_of_the_pass_for_a_whole_year():
    income = PASS_2024 // 2
    lines = assess_year(PARAMS, 2024, "craft", income)
    relief = business_creator_relief(PARAMS, 2024, date(2024, 1, 1), income, lines)
    assert set(relief) == EXEMPTED
    assert all(relief[line.item] == line.amount for line in lines if line.item in EXEMPTED)


def test_relief_decreases_linearly_to_nothing_at_the_pass():
    assert income_share(PARAMS, 2024, PASS_2024 * 875 // 1000) == Fraction(1, 2)
    assert income_share(PARAMS, 2024, PASS_2024) == 0
    lines = assess_year(PARAMS, 2024, "trade", PASS_2024 * 2)
    assert set(
        business_creator_relief(PARAMS, 2024, date(2024, 1, 1), PASS_2024 * 2, lines).values()
    ) == {0}


def test_creation_mid_year_shares_the_twelve_months_between_two_years():
    first = exempted_share_of_year(PARAMS, 2023, date(2023, 7, 1))
    second = exempted_share_of_year(PARAMS, 2024, date(2023, 7, 1))
    assert first == Fraction(184, 365)
    assert second == Fraction(182, 366)  # 1 Jan → 30 Jun 2024
    assert exempted_share_of_year(PARAMS, 2025, date(2023, 7, 1)) == 0


def test_creations_from_2026_get_a_quarter():
    income = 1_000_000
    lines = assess_year(PARAMS, 2026, "craft", income)
    relief = business_creator_relief(PARAMS, 2026, date(2026, 1, 1), income, lines)
    basic = next(line.amount for line in lines if line.item == "basic_pension")
    assert relief["basic_pension"] == (basic + 2) // 4  # 25 %, half-up


def test_csg_complementary_pension_and_training_are_never_exempted():
    lines = assess_year(PARAMS, 2024, "craft", 1_000_000)
    relief = business_creator_relief(PARAMS, 2024, date(2024, 3, 1), 1_000_000, lines)
    assert not {"csg_deductible", "crds", "complementary_pension", "vocational_training"} & set(
        relief
    )


def test_accre_before_2017_is_a_known_gap():
    with pytest.raises(ParameterError, match="non trouvée"):
        income_share(PARAMS, 2016, 1_000_000)
