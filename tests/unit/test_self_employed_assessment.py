"""Self-employed craftsmen and traders: figures checked by hand against published examples."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recouvrement.domain.assessment.self_employed import (
    ITEMS,
    SUMMARY_KEYS,
    assess_batch,
    assess_year,
    summarise,
)
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import apply_rate
from recouvrement.rules.parameters import ParameterError, load_parameters

PARAMS = load_parameters()
COVERED_YEARS = range(2014, 2027)  # 2013: complementary-pension minimum base not found


def pass_cents(year: int) -> int:
    return 12 * PARAMS.value("social_security_ceiling.monthly", date(year, 1, 1))


def items(year: int, activity: str, income_cents: int) -> dict[str, int]:
    return summarise(assess_year(PARAMS, year, activity, income_cents))


def test_2026_hand_check_on_45000_euros_for_a_craftsman():
    """LAW.md §10, with the 2026 complementary-pension ceiling of 44 286 € (OpenFisca)."""
    got = items(2026, "craft", 4_500_000)
    assert got["health"] == 261_900  # 5.82 % : 4 % + 2.7 % × (45 000 - 28 836) / 24 030, to 0.01 %
    assert got["daily_allowances"] == 22_500  # 0.5 %
    assert got["basic_pension"] == 798_750  # 17.75 %
    assert got["complementary_pension"] == 315_714  # 7 % × 44 286 + 8 % × 714
    assert got["invalidity_death"] == 58_500  # 1.3 %
    assert got["family_allowances"] == 0  # below 110 % of the PASS
    contributions = 261_900 + 22_500 + 798_750 + 315_714 + 58_500
    csg_base = 4_500_000 + contributions
    assert got["csg_deductible"] == apply_rate(csg_base, Decimal("0.068"))
    assert got["csg_non_deductible"] == apply_rate(csg_base, Decimal("0.024"))
    assert got["crds"] == apply_rate(csg_base, Decimal("0.005"))
    assert got["vocational_training"] == 13_937  # 0.29 % × 48 060
    assert got["csg_crds"] == got["csg_deductible"] + got["csg_non_deductible"] + got["crds"]
    assert got["total"] == sum(got[item] for item in ITEMS)


def test_2017_health_rate_matches_the_published_example():
    """24 600 € in 2017: 6.5 % - 3.5 % × (1 - 24 600 / 27 459.60) = 6.14 %, 1 510.44 €."""
    lines = {line.item: line for line in assess_year(PARAMS, 2017, "trade", 2_460_000)}
    assert lines["health"].rate == Decimal("0.0614")
    assert lines["health"].amount == 151_044


def test_minimum_contributions_2016_match_the_published_amounts():
    """2016 minimums: basic pension 784 €, invalidity-death 58 € (décret 2015-1856)."""
    got = items(2016, "craft", 0)
    assert round(got["basic_pension"] / 100) == 784
    assert round(got["invalidity_death"] / 100) == 58
    assert got["daily_allowances"] == apply_rate(pass_cents(2016) * 40 // 100, Decimal("0.007"))
    assert got["health"] == 0  # no minimum health contribution from 2016
    assert got["complementary_pension"] == 0


@pytest.mark.parametrize("year", [2016, 2017])
def test_family_reduced_rate_between_110_and_140_percent_of_the_pass(year):
    ceiling = pass_cents(year)
    low, high = ceiling * 11 // 10, ceiling * 14 // 10
    assert items(year, "craft", low)["family_allowances"] == apply_rate(low, Decimal("0.0215"))
    assert items(year, "craft", high)["family_allowances"] == apply_rate(high, Decimal("0.0525"))
    middle = (low + high) // 2
    exact = Decimal(middle) * (Decimal("0.0215") + Decimal("0.031") * (middle - low) / (high - low))
    assert items(year, "craft", middle)["family_allowances"] == int(
        exact.quantize(Decimal(1), ROUND_HALF_UP)
    )


def test_family_allowances_from_2018_are_zero_below_110_percent():
    assert items(2020, "trade", pass_cents(2020) * 11 // 10)["family_allowances"] == 0
    top = pass_cents(2020) * 2
    assert items(2020, "trade", top)["family_allowances"] == apply_rate(top, Decimal("0.031"))


def test_invalidity_death_rates_differ_by_activity_until_2014_only():
    assert PARAMS.value("self_employed.invalidity_death.rate.craft", date(2014, 6, 1)) == Decimal(
        "0.016"
    )
    assert PARAMS.value("self_employed.invalidity_death.rate.trade", date(2014, 6, 1)) == Decimal(
        "0.011"
    )
    craft, trade = items(2016, "craft", 3_000_000), items(2016, "trade", 3_000_000)
    assert craft["invalidity_death"] == trade["invalidity_death"]
    assert craft["vocational_training"] == apply_rate(pass_cents(2016), Decimal("0.0029"))
    assert trade["vocational_training"] == apply_rate(pass_cents(2016), Decimal("0.0025"))


def health_reference(year: int, income: int) -> int:
    """2022 → 2026 health, computed independently in Decimal from the published scale."""
    ceiling = Decimal(pass_cents(year))
    x = Decimal(max(income, 0))
    knots = [(0, "0"), (Decimal("0.4"), "0"), (Decimal("0.6"), "0.04"), (Decimal("1.1"), "0.067")]
    rate = Decimal("0.067")
    for (k0, r0), (k1, r1) in itertools.pairwise(knots):
        if k0 * ceiling <= x < k1 * ceiling:
            r0, r1 = Decimal(r0), Decimal(r1)
            rate = r0 + (r1 - r0) * (x - k0 * ceiling) / ((k1 - k0) * ceiling)
    rate = rate.quantize(Decimal("0.0001"), ROUND_HALF_UP)
    base = max(Decimal(income), ceiling * Decimal("0.4"))
    capped = min(base, 5 * ceiling)
    exact = capped * rate + (base - capped) * Decimal("0.065")
    return int(exact.quantize(Decimal(1), ROUND_HALF_UP))


@settings(max_examples=300, deadline=None)
@given(year=st.sampled_from([2024, 2025, 2026]), income=st.integers(-2_000_000, 40_000_000))
def test_health_2024_onwards_matches_a_decimal_reference(year, income):
    assert items(year, "craft", income)["health"] == health_reference(year, income)


def test_deficit_keeps_minimum_bases_and_floors_the_csg_base():
    got = items(2026, "trade", -10_000_000)  # 100 000 € deficit
    assert got["basic_pension"] > 0 and got["invalidity_death"] > 0
    assert got["daily_allowances"] > 0
    assert got["complementary_pension"] == got["family_allowances"] == got["health"] == 0
    assert got["csg_crds"] == 0
    small = items(2026, "trade", -50_000)  # 500 € deficit: contributions exceed it
    contributions = sum(small[i] for i in ITEMS[:6])
    assert small["csg_deductible"] == apply_rate(contributions - 50_000, Decimal("0.068"))


@pytest.mark.parametrize("activity", ["craft", "trade"])
def test_years_with_a_missing_figure_raise_a_clear_error(activity):
    with pytest.raises(
        ParameterError,
        match=r"complementary_pension\.minimum_base_pass : donnée non trouvée pour l'année 2013",
    ):
        assess_year(PARAMS, 2013, activity, 3_000_000)


def test_bad_inputs_are_refused_naming_the_field():
    with pytest.raises(DomainError) as err:
        assess_year(PARAMS, 2020, "liberal", 100)
    assert err.value.problems[0].field == "activity"
    with pytest.raises(DomainError) as err:
        assess_year(PARAMS, 2020, "craft", 1.5)
    assert err.value.problems[0].field == "income"
    with pytest.raises(DomainError):
        assess_year(PARAMS, 2020, "craft", 10**15)
    with pytest.raises(ParameterError):
        assess_year(PARAMS, 2012, "craft", 100)


def test_lines_name_their_fund_rounding_and_sources():
    lines = assess_year(PARAMS, 2022, "craft", 3_000_000)
    assert [line.item for line in lines] == list(ITEMS)
    funds = {line.item: line.fund for line in lines}
    assert funds["family_allowances"] == "family_branch"
    assert funds["crds"] == "csg_crds"
    assert funds["health"] == "self_employed_scheme"
    assert all(line.sources for line in lines)
    assert all(line.rounding == "half_up" for line in lines)
    details = {line.item: " ".join(line.detail) for line in lines}
    assert "17,15 % dans la limite" in details["basic_pension"]
    assert "assiette minimale" in details["invalidity_death"]
    assert "PASS de l'année" in details["vocational_training"]


def test_2022_health_excludes_the_daily_allowances_inside_the_scale():
    got = items(2022, "craft", 4_500_000)
    assert got["health"] + got["daily_allowances"] == health_reference(2022, 4_500_000)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(list(COVERED_YEARS)),
            st.sampled_from(["craft", "trade"]),
            st.one_of(
                st.integers(-5_000_000, 60_000_000),
                st.integers(-100_000_000_000, 100_000_000_000),
                # around the knots: multiples of 10 % of a PASS, give or take a cent
                st.builds(lambda k, d: k * 388_800 + d, st.integers(0, 100), st.integers(-2, 2)),
            ),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_batch_equals_one_by_one(rows):
    years = np.array([r[0] for r in rows])
    activities = np.array([r[1] for r in rows])
    incomes = np.array([r[2] for r in rows], dtype=np.int64)
    batch = assess_batch(PARAMS, years, activities, incomes)
    assert set(batch) == set(SUMMARY_KEYS)
    for i, (year, activity, income) in enumerate(rows):
        one = items(year, activity, income)
        assert {key: int(batch[key][i]) for key in SUMMARY_KEYS} == one


def test_batch_at_every_knot_of_every_year():
    years, incomes = [], []
    for year in COVERED_YEARS:
        ceiling = pass_cents(year)
        for tenth in range(0, 61):
            for delta in (-1, 0, 1):
                years.append(year)
                incomes.append(ceiling * tenth // 10 + delta)
    years = np.array(years * 2)
    activities = np.array(["craft"] * (len(years) // 2) + ["trade"] * (len(years) // 2))
    incomes = np.array(incomes * 2, dtype=np.int64)
    batch = assess_batch(PARAMS, years, activities, incomes)
    for i in range(len(years)):
        one = items(int(years[i]), str(activities[i]), int(incomes[i]))
        assert {key: int(batch[key][i]) for key in SUMMARY_KEYS} == one


def test_batch_refuses_unknown_activity_and_uncovered_years():
    with pytest.raises(DomainError):
        assess_batch(PARAMS, np.array([2020]), np.array(["farm"]), np.array([1], dtype=np.int64))
    with pytest.raises(ParameterError):
        assess_batch(PARAMS, np.array([2013]), np.array(["craft"]), np.array([1], dtype=np.int64))
    empty = assess_batch(
        PARAMS, np.array([], dtype=np.int64), np.array([], dtype=str), np.array([], dtype=np.int64)
    )
    assert all(len(v) == 0 for v in empty.values())


@pytest.mark.parametrize("dtype", ["<U5", "<U12", object])
def test_batch_reads_activities_whatever_their_string_width(dtype):
    activities = np.array(["craft", "trade", "craft"], dtype=dtype)
    batch = assess_batch(
        PARAMS, np.array([2016, 2016, 2020]), activities, np.array([1, 2, 3], dtype=np.int64)
    )
    assert int(batch["vocational_training"][0]) != int(batch["vocational_training"][1])
    with pytest.raises(DomainError):
        assess_batch(
            PARAMS,
            np.array([2020]),
            np.array(["craf"], dtype=dtype),
            np.array([1], dtype=np.int64),
        )


def health_2018_reference(year: int, income: int) -> int:
    """2018 → 2021 health in Decimal: 1.35 % → 6.35 % at 110 % PASS, minus 1.35 → 0 points under 40 %."""
    ceiling = Decimal(pass_cents(year))
    x = Decimal(max(income, 0))
    if x < Decimal("1.1") * ceiling:
        rate = Decimal("0.0135") + Decimal("0.05") * x / (Decimal("1.1") * ceiling)
    else:
        rate = Decimal("0.0635")
    if x < Decimal("0.4") * ceiling:
        rate -= Decimal("0.0135") * (1 - x / (Decimal("0.4") * ceiling))
    rate = rate.quantize(Decimal("0.0001"), ROUND_HALF_UP)
    base = max(Decimal(income), ceiling * Decimal("0.4"))
    capped = min(base, 5 * ceiling)
    exact = capped * rate + (base - capped) * Decimal("0.065")
    return int(exact.quantize(Decimal(1), ROUND_HALF_UP))


@settings(max_examples=300, deadline=None)
@given(year=st.sampled_from([2018, 2019, 2020, 2021]), income=st.integers(-2_000_000, 40_000_000))
def test_health_2018_to_2021_matches_a_decimal_reference(year, income):
    assert items(year, "trade", income)["health"] == health_2018_reference(year, income)


# --- 2014 and 2015, worked by hand from the texts ----------------------------------------------------
# 2014: PASS 37 548 € (12 × 3 129). Minimum bases: health 40 % PASS = 15 019,20 € (CSS D612-5 3°) less
# the reduction of CSS D612-7 (décret 2012-1551 art. 4): R = 0,13 × t × (s - revenu) / p, s = 40 % PASS,
# p = 40 %, t = 6,5 % ; daily allowances 40 % PASS ; basic pension and complementary pension 5,25 % PASS
# = 1 971,27 € ; invalidity-death 20 % PASS = 7 509,60 €.


def test_2014_craftsman_at_5000_euros():
    got = items(2014, "craft", 500_000)
    # health: 6,5 % × 15 019,20 = 976,248 ; R = 0,13 × 0,065 × (15 019,20 - 5 000) / 0,40 = 211,6556
    #         976,248 - 211,6556 = 764,5924 -> 764,59 €
    assert got["health"] == 76_459
    assert got["daily_allowances"] == 10_513  # 0,7 % × 15 019,20 = 105,1344
    assert got["basic_pension"] == 85_750  # (16,95 % + 0,20 %) × 5 000 = 857,50
    assert got["complementary_pension"] == 35_000  # 7 % × 5 000
    assert got["invalidity_death"] == 12_015  # 1,6 % × 7 509,60 = 120,1536
    assert got["family_allowances"] == 26_250  # 5,25 % × 5 000
    # CSG-CRDS base: 5 000 + 764,59 + 105,13 + 857,50 + 350 + 120,15 + 262,50 = 7 459,87 €
    assert got["csg_deductible"] == 38_045  # 5,1 % -> 380,45337
    assert got["csg_non_deductible"] == 17_904  # 2,4 % -> 179,03688
    assert got["crds"] == 3_730  # 0,5 % -> 37,29935
    assert got["vocational_training"] == 10_889  # 0,29 % × 37 548 = 108,8892


def test_2014_trader_without_income_pays_the_published_minimums():
    """agence7.fr 2014: 659 € health at zero income, 338 €, 138 €, 83 €, 105 €."""
    got = items(2014, "trade", 0)
    # health: 976,248 - 0,13 × 0,065 × 37 548 = 976,248 - 317,2806 = 658,9674 -> 658,97 €
    assert got["health"] == 65_897
    assert got["daily_allowances"] == 10_513
    assert got["basic_pension"] == 33_807  # 17,15 % × 1 971,27 = 338,07281
    assert got["complementary_pension"] == 13_799  # 7 % × 1 971,27 = 137,9889
    assert got["invalidity_death"] == 8_261  # 1,1 % × 7 509,60 = 82,6056
    assert got["family_allowances"] == 0
    # CSG-CRDS base: 658,97 + 105,13 + 338,07 + 137,99 + 82,61 = 1 322,77 €
    assert got["csg_deductible"] == 6_746  # 5,1 % -> 67,46127
    assert got["csg_non_deductible"] == 3_175  # 2,4 % -> 31,74648
    assert got["crds"] == 661  # 0,5 % -> 6,61385
    assert got["vocational_training"] == 9_387  # 0,25 % × 37 548 = 93,87


def test_2014_health_reduction_is_linear_and_ends_at_40_percent_of_the_pass():
    threshold = pass_cents(2014) * 40 // 100  # 15 019,20 €
    assert items(2014, "craft", threshold)["health"] == 97_625  # 6,5 % × 15 019,20 = 976,248
    assert items(2014, "craft", 2 * threshold)["health"] == 195_250  # no minimum any more
    # a deficit gets the reduction of a zero income (D612-7 II 1°)
    assert items(2014, "craft", -300_000)["health"] == items(2014, "craft", 0)["health"]
    for income in (0, 100_000, 750_000, threshold - 1):
        exact = Decimal("0.065") * (
            Decimal(threshold) - Decimal("0.325") * (Decimal(threshold) - Decimal(income))
        )
        assert items(2014, "trade", income)["health"] == int(
            exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        )


# 2015: PASS 38 040 € (12 × 3 170). Minimum bases: health 10 % PASS = 3 804 € (no D612-7 reduction
# modelled), daily allowances 40 % = 15 216 €, basic and complementary pension 7,7 % = 2 929,08 €,
# invalidity-death 20 % = 7 608 €.


@pytest.mark.parametrize(("activity", "training"), [("craft", 11_032), ("trade", 9_510)])
def test_2015_at_1000_euros(activity, training):
    got = items(2015, activity, 100_000)
    assert got["health"] == 24_726  # 6,5 % × 3 804 = 247,26
    assert got["daily_allowances"] == 10_651  # 0,7 % × 15 216 = 106,512
    assert got["basic_pension"] == 50_966  # (17,05 % + 0,35 %) × 2 929,08 = 509,65992
    assert got["complementary_pension"] == 20_504  # 7 % × 2 929,08 = 205,0356
    assert got["invalidity_death"] == 9_890  # 1,3 % × 7 608 = 98,904 (both activities)
    assert got["family_allowances"] == 2_150  # reduced rate 2,15 % × 1 000
    # CSG-CRDS base: 1 000 + 247,26 + 106,51 + 509,66 + 205,04 + 98,90 + 21,50 = 2 188,87 €
    assert got["csg_deductible"] == 11_163  # 5,1 % -> 111,63237
    assert got["csg_non_deductible"] == 5_253  # 2,4 % -> 52,53288
    assert got["crds"] == 1_094  # 0,5 % -> 10,94435
    assert got["vocational_training"] == training  # 0,29 % / 0,25 % × 38 040


def test_2014_and_2015_batch_equals_one_by_one_at_low_incomes():
    incomes = [-100_000, 0, 1, 100_000, 380_399, 380_400, 750_000, 1_501_919, 1_501_920, 1_521_600]
    rows = [(y, a, i) for y in (2014, 2015) for a in ("craft", "trade") for i in incomes]
    batch = assess_batch(
        PARAMS,
        np.array([r[0] for r in rows]),
        np.array([r[1] for r in rows]),
        np.array([r[2] for r in rows], dtype=np.int64),
    )
    for i, (year, activity, income) in enumerate(rows):
        assert {key: int(batch[key][i]) for key in SUMMARY_KEYS} == items(year, activity, income)
