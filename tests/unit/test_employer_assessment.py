"""Employer unemployment and AGS contributions: mainland rules, Mayotte's amendment, batch = scalar."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recouvrement.domain.assessment.employer import (
    EmployeeMonth,
    assess_batch,
    assess_batch_chunked,
    assess_employee_month,
    build_tables,
    month_index,
)
from recouvrement.domain.errors import DomainError
from recouvrement.domain.periods import Period
from recouvrement.rules.parameters import ParameterError, load_parameters

PARAMS = load_parameters()


def assess(period, territory, gross, birth=date(1980, 6, 15), **kw):
    lines = assess_employee_month(
        PARAMS, EmployeeMonth(Period.parse(period), territory, gross, birth, **kw)
    )
    return {line.item: line for line in lines}


# --- mainland --------------------------------------------------------------------------------


def test_mainland_base_is_capped_at_four_social_security_ceilings():
    lines = assess("2016-06", "75", 2_000_000)
    assert lines["unemployment_employer"].ceiling == 4 * 321800
    assert lines["unemployment_employer"].base == 4 * 321800
    assert lines["unemployment_employer"].amount == 51488  # 12 872 € × 4.00 %
    assert lines["ags"].amount == 3218  # 0.25 %


def test_other_overseas_departments_follow_the_mainland_rules():
    assert {k: v.amount for k, v in assess("2016-06", "974", 400000).items()} == {
        k: v.amount for k, v in assess("2016-06", "75", 400000).items()
    }


@pytest.mark.parametrize(
    ("period", "rate"),
    [("2017-12", "0.0240"), ("2018-01", "0.0095"), ("2018-09", "0.0095"), ("2018-10", "0")],
)
def test_employee_share_falls_on_its_dates(period, rate):
    line = assess(period, "75", 300000)["unemployment_employee"]
    assert line.rate == Decimal(rate)
    assert line.amount == int(Decimal(300000) * Decimal(rate))


def test_each_line_is_rounded_half_up_to_the_cent():
    # 1 234.57 € × 0.15 % = 1.851855 € → 1.85 € ; × 4.05 % = 49.999 € → 50.00 €
    lines = assess("2019-03", "75", 123457)
    assert lines["ags"].amount == 185
    assert lines["unemployment_employer"].amount == 5000


def test_mainland_employees_aged_65_were_excluded_until_june_2014():
    old = date(1948, 1, 1)
    assert assess("2014-06", "75", 300000, old)["unemployment_employer"].amount == 0
    assert assess("2014-07", "75", 300000, old)["unemployment_employer"].amount == 12000


def test_public_sector_employer_without_opt_in_owes_nothing_and_is_told_why():
    lines = assess("2020-03", "75", 300000, public_sector=True)
    assert all(line.amount == 0 for line in lines.values())
    assert any("secteur public" in d for d in lines["unemployment_employer"].detail)


def test_public_sector_employer_is_liable_from_its_opt_in_date():
    opted = date(2020, 3, 1)
    before = assess("2020-02", "75", 300000, public_sector=True, opt_in=opted)
    after = assess("2020-03", "75", 300000, public_sector=True, opt_in=opted)
    assert before["unemployment_employer"].amount == 0
    assert "à partir du 01/03/2020" in before["unemployment_employer"].detail[-1]
    assert after["unemployment_employer"].amount == 12150


def test_partial_month_prorates_the_ceiling_by_thirtieths():
    line = assess("2024-02", "75", 2_000_000, days=10)["unemployment_employer"]
    assert line.ceiling == (4 * 386400 * 10 + 15) // 30


# --- Mayotte (amendment of 18 December 2013, art. 2) -----------------------------------------


def test_mayotte_base_is_capped_at_the_mayotte_ceiling_not_four_mainland_ceilings():
    lines = assess("2016-03", "976", 500000)
    assert lines["unemployment_employer"].ceiling == 140100
    assert lines["unemployment_employer"].base == 140100
    assert lines["unemployment_employer"].amount == 2452  # 1 401 € × 1.75 %
    assert lines["unemployment_employee"].amount == 1471  # 1 401 € × 1.05 %
    mainland = assess("2016-03", "75", 500000)["unemployment_employer"]
    assert mainland.base == 500000


def test_mayotte_convention_ceilings_rise_in_may():
    assert assess("2017-04", "976", 900000)["ags"].ceiling == 210150
    assert assess("2017-05", "976", 900000)["ags"].ceiling == 315225
    assert assess("2018-05", "976", 900000)["ags"].ceiling == 472838


def test_mayotte_pay_of_employees_aged_65_or_more_is_excluded():
    lines = assess("2020-06", "976", 200000, date(1955, 3, 10))
    assert all(line.base == 0 and line.amount == 0 for line in lines.values())
    assert "65 ans ou plus" in lines["unemployment_employer"].detail[-1]
    younger = assess("2020-06", "976", 200000, date(1956, 3, 10))
    assert younger["unemployment_employer"].amount == 5600  # 2 000 € × 2.80 %


def test_mayotte_birthday_month_stays_liable_unless_the_birthday_is_the_first():
    """Rule chosen: 65 reached on or before the first day of the month (no prorata in the texts)."""
    assert assess("2020-06", "976", 200000, date(1955, 6, 15))["unemployment_employer"].amount > 0
    assert assess("2020-06", "976", 200000, date(1955, 6, 1))["unemployment_employer"].amount == 0
    assert assess("2020-07", "976", 200000, date(1955, 6, 15))["unemployment_employer"].amount == 0


def test_mayotte_owes_no_ags_before_the_extension():
    before = assess("2016-12", "976", 200000)["ags"]
    assert before.amount == 0 and before.rate == 0
    assert any("AGS non due" in d for d in before.detail)
    after = assess("2017-01", "976", 200000)["ags"]
    assert after.amount == 400  # 0.20 %, ordonnance 2016-1580
    assert "2016-1580" in " ".join(after.sources)


def test_mayotte_public_sector_is_out_of_scope_without_opt_in():
    lines = assess("2019-03", "976", 200000, public_sector=True)
    assert all(line.amount == 0 for line in lines.values())


def test_mayotte_birth_date_is_required_because_of_the_age_rule():
    with pytest.raises(DomainError) as err:
        assess("2019-03", "976", 200000, None)
    assert err.value.problems[0].field == "birth_date"


def test_mayotte_months_without_a_known_ceiling_are_refused_with_the_gap_named():
    with pytest.raises(ParameterError, match="lacune documentée"):
        assess("2014-03", "976", 200000)


def test_every_line_names_its_sources():
    for line in assess("2018-08", "976", 200000).values():
        assert any("Mayotte" in s or "2016-1580" in s for s in line.sources)


# --- batch = scalar --------------------------------------------------------------------------

FIRST, LAST = month_index(2013, 1), month_index(2026, 12)
TABLES = build_tables(PARAMS, FIRST, LAST)

case_strategy = st.fixed_dictionaries(
    {
        "month": st.integers(FIRST, LAST),
        "territory": st.sampled_from(["75", "974", "976", "2A"]),
        "gross": st.integers(0, 3_000_000),
        "birth": st.one_of(st.none(), st.dates(date(1940, 1, 1), date(2005, 12, 31))),
        "days": st.one_of(st.none(), st.integers(1, 31)),
        "public": st.booleans(),
        "opt_in": st.one_of(st.none(), st.dates(date(2012, 1, 1), date(2027, 1, 1))),
    }
)


def _ymd(d):
    return 0 if d is None else d.year * 10000 + d.month * 100 + d.day


@settings(max_examples=300, deadline=None)
@given(st.lists(case_strategy, min_size=1, max_size=40))
def test_vectorised_batch_gives_the_scalar_cents_exactly(cases):
    keys = TABLES.territories
    out = assess_batch(
        TABLES,
        np.array([keys.index(c["territory"]) if c["territory"] in keys else 0 for c in cases]),
        np.array([c["month"] for c in cases], dtype=np.int64),
        np.array([c["gross"] for c in cases], dtype=np.int64),
        np.array([_ymd(c["birth"]) for c in cases], dtype=np.int64),
        np.array([c["days"] or 0 for c in cases], dtype=np.int64),
        np.array([c["public"] for c in cases], dtype=bool),
        np.array([_ymd(c["opt_in"]) for c in cases], dtype=np.int64),
    )
    for i, c in enumerate(cases):
        case = EmployeeMonth(
            Period.month(c["month"] // 12, c["month"] % 12 + 1),
            c["territory"],
            c["gross"],
            c["birth"],
            c["days"],
            c["public"],
            c["opt_in"],
        )
        try:
            lines = assess_employee_month(PARAMS, case)
        except (DomainError, ParameterError):
            assert out["error"][i] != 0
            continue
        assert out["error"][i] == 0
        for line in lines:
            assert out[line.item][i] == line.amount, (c, line)
        assert out["base"][i] == lines[0].base
        assert out["ceiling"][i] == lines[0].ceiling


def test_chunked_threaded_batch_equals_one_call():
    rng = np.random.default_rng(7)
    n = 1000
    territory = rng.integers(0, len(TABLES.territories), n)
    month = rng.integers(FIRST, LAST + 1, n)
    gross = rng.integers(0, 2_000_000, n)
    birth = rng.integers(1945, 2000, n) * 10000 + rng.integers(1, 13, n) * 100 + 1
    whole = assess_batch(TABLES, territory, month, gross, birth)
    chunked = assess_batch_chunked(TABLES, territory, month, gross, birth, chunk=37, workers=3)
    for key, values in whole.items():
        assert (chunked[key] == values).all(), key


# --- Mayotte ceiling gaps ---------------------------------------------------------------------


@pytest.mark.parametrize("period", ["2013-01", "2014-06", "2015-12"])
def test_mayotte_2013_to_2015_is_refused_on_the_ceiling_gap(period):
    # No published Mayotte ceiling was found for 2012-2016: the month is refused, never assessed
    # on a derived figure, and the message names the gap so the agent knows why.
    with pytest.raises(ParameterError, match="lacune documentée du 2012-01-01 au 2016-12-31"):
        assess(period, "976", 200000, date(1980, 6, 15))


@pytest.mark.parametrize("period", ["2013-01", "2014-06", "2015-12"])
def test_mayotte_pay_of_employees_aged_65_is_nil_even_where_the_ceiling_is_unknown(period):
    lines = assess(period, "976", 200000, date(1945, 1, 10))
    assert all(line.amount == 0 and line.base == 0 for line in lines.values())
    assert "65 ans ou plus" in lines["unemployment_employer"].detail[-1]
    tables = build_tables(PARAMS, month_index(2013, 1), month_index(2015, 12))
    year, month = map(int, period.split("-"))
    out = assess_batch(
        tables,
        np.array([tables.territories.index("976")] * 2),
        np.array([month_index(year, month)] * 2),
        np.array([200000, 200000], dtype=np.int64),
        np.array([19450110, 19800615], dtype=np.int64),
    )
    assert out["error"][0] == 0 and out["unemployment_employer"][0] == 0
    assert "lacune documentée" in tables.messages[out["error"][1]]


def test_mayotte_assesses_again_on_the_convention_ceiling_from_january_2016():
    with pytest.raises(ParameterError):
        assess("2015-12", "976", 200000)
    lines = assess("2016-01", "976", 200000)
    assert lines["unemployment_employer"].ceiling == 140100
    assert lines["unemployment_employer"].base == 140100


@pytest.mark.parametrize(
    ("on", "cents"),
    [(date(2025, 1, 1), 282100), (date(2025, 12, 31), 282100), (date(2026, 1, 1), 302200)],
)
def test_mayotte_ceiling_2025_and_2026_are_the_published_figures(on, cents):
    assert PARAMS.value("social_security_ceiling.monthly", on, "976") == cents


@pytest.mark.parametrize(
    "on", [date(2020, 6, 1), date(2021, 12, 31), date(2023, 1, 1), date(2024, 12, 31)]
)
def test_mayotte_ceiling_stays_unknown_where_no_figure_was_found(on):
    with pytest.raises(ParameterError, match="lacune documentée"):
        PARAMS.value("social_security_ceiling.monthly", on, "976")
