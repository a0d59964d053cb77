"""Limitation dates worked by hand from CSS L244-3, L244-8-1, L244-9 and the Code civil."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recouvrement.domain.limitation import (
    EVENTS,
    SUSPENDED,
    LimitationEvent,
    add_months,
    claim_expiry,
    claim_rule,
    expiry,
    is_prescribed,
)
from recouvrement.rules.parameters import ParameterError, load_parameters

P = load_parameters()


def at(*events: tuple[date, str]) -> list[LimitationEvent]:
    return [LimitationEvent(on, kind) for on, kind in events]


def employer(period: str, due: date | None, *events, kind="principal") -> date:
    return expiry(P, "employer", kind, period, due, at(*events))


@pytest.mark.parametrize(
    ("scheme", "period", "due", "expected"),
    [
        # since 2017: three years from the end of the year the contributions are due for
        ("employer", "2017-01", date(2017, 2, 15), date(2020, 12, 31)),
        ("employer", "2023-12", date(2024, 1, 15), date(2026, 12, 31)),
        ("employer", "2023-Q4", date(2024, 1, 15), date(2026, 12, 31)),
        # the self-employed: three years from 30 June of the next year
        ("self_employed", "2023", date(2024, 5, 5), date(2027, 6, 30)),
        ("self_employed", "2019-Q2", date(2019, 5, 5), date(2023, 6, 30)),
        # before 2017: the three civil years before the notice's year, counted from exigibility
        ("employer", "2016-12", date(2017, 1, 15), date(2020, 12, 31)),
        ("employer", "2016-11", date(2016, 12, 15), date(2019, 12, 31)),
        ("self_employed", "2015-Q4", date(2016, 2, 5), date(2019, 12, 31)),
        # no call: the period's year stands for the exigibility
        ("employer", "2014-06", None, date(2017, 12, 31)),
    ],
)
def test_claim_expiry(scheme, period, due, expected):
    assert claim_expiry(P, scheme, "principal", period, due) == expected


def test_surcharges_since_2017_run_from_the_end_of_the_year_of_exigibility():
    # L244-3 al. 3: December 2021 contributions fell due in January 2022
    assert claim_expiry(P, "employer", "surcharge", "2021-12", date(2022, 1, 15)) == date(
        2025, 12, 31
    )
    assert claim_expiry(P, "employer", "principal", "2021-12", date(2022, 1, 15)) == date(
        2024, 12, 31
    )
    # before 2017 they follow the principal
    assert claim_expiry(P, "employer", "surcharge", "2015-12", date(2016, 1, 15)) == date(
        2019, 12, 31
    )


def test_formal_notice_opens_three_years_after_its_month():
    # MED 10 March 2024 → deadline to pay 10 April 2024 → action until 10 April 2027 (L244-8-1)
    assert employer("2022-01", date(2022, 2, 15), (date(2024, 3, 10), "formal_notice")) == date(
        2027, 4, 10
    )


def test_a_notice_of_2015_keeps_five_years_capped_by_three_years_from_2017():
    # MED 1 June 2014: action from 1 July 2014, five years → 1 July 2019 (L244-11); the new three
    # years run from 1 January 2017 → 1 January 2020, later: the former end stays
    assert employer("2013-01", date(2013, 2, 15), (date(2014, 6, 1), "formal_notice")) == date(
        2019, 7, 1
    )
    # MED 1 June 2016: five years → 1 July 2021; three years from 2017 → 1 January 2020 (art. 2222)
    assert employer("2015-01", date(2015, 2, 15), (date(2016, 6, 1), "formal_notice")) == date(
        2020, 1, 1
    )


def test_enforcement_order_then_measure():
    events = (
        (date(2024, 3, 10), "formal_notice"),
        (date(2025, 2, 1), "enforcement_order"),
        (date(2027, 9, 1), "enforcement_measure"),
    )
    assert employer("2022-01", date(2022, 2, 15), *events[:2]) == date(2028, 2, 1)
    assert employer("2022-01", date(2022, 2, 15), *events) == date(2030, 9, 1)


def test_enforcement_order_before_2017_is_a_documented_gap():
    with pytest.raises(ParameterError):
        employer(
            "2013-01",
            date(2013, 2, 15),
            (date(2014, 6, 1), "formal_notice"),
            (date(2015, 6, 1), "enforcement_order"),
        )


def test_acknowledgement_restarts_the_running_period():
    # a request for time to pay on 1 June 2024 (C. civ. 2240, 2231): three new years of claim
    assert employer(
        "2021-03", date(2021, 4, 15), (date(2024, 6, 1), "payment_plan_request")
    ) == date(2027, 6, 1)
    # a payment during the action: three new years of action
    assert employer(
        "2021-03",
        date(2021, 4, 15),
        (date(2024, 3, 10), "formal_notice"),
        (date(2026, 1, 5), "payment"),
    ) == date(2029, 1, 5)


def test_nothing_revives_a_prescribed_debt():
    assert employer("2021-03", date(2021, 4, 15), (date(2025, 1, 1), "payment")) == date(
        2024, 12, 31
    )


def test_audit_contradictory_phase_suspends():
    base = employer("2021-03", date(2021, 4, 15))
    phase = LimitationEvent(date(2024, 10, 1), "audit_contradictory_phase", date(2024, 10, 30))
    assert expiry(P, "employer", "principal", "2021-03", date(2021, 4, 15), [phase]) == base + (
        timedelta(days=30)
    )
    open_phase = LimitationEvent(date(2024, 10, 1), "audit_contradictory_phase")
    assert expiry(P, "employer", "principal", "2021-03", None, [open_phase]) == SUSPENDED


def test_unknown_event_and_scheme_are_refused():
    with pytest.raises(ValueError):
        employer("2021-03", None, (date(2022, 1, 1), "phone_call"))
    with pytest.raises(ValueError):
        claim_expiry(P, "farmer", "principal", "2021-03", None)


def test_prescribed_the_day_after():
    assert not is_prescribed(date(2024, 12, 31), date(2024, 12, 31))
    assert is_prescribed(date(2024, 12, 31), date(2025, 1, 1))


def test_add_months_keeps_the_month_end():
    assert add_months(date(2023, 12, 31), 2) == date(2024, 2, 29)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)


years = st.integers(min_value=1999, max_value=2060)
schemes = st.sampled_from(["employer", "self_employed"])
kinds = st.sampled_from(["principal", "surcharge"])
days = st.dates(min_value=date(2017, 1, 1), max_value=date(2070, 12, 31))
acts = st.lists(
    st.builds(
        LimitationEvent,
        days,
        st.sampled_from([e for e in EVENTS if e != "audit_contradictory_phase"]),
    ),
    max_size=6,
)


@given(
    schemes,
    kinds,
    years,
    st.integers(min_value=0, max_value=400),
    st.none() | st.integers(min_value=0, max_value=2000),
)
def test_the_rule_by_year_gives_the_scalar_date(scheme, kind, year, offset, paid_after):
    """The set-based path dates groups with `claim_rule` and the years it names; it must agree
    with `claim_expiry`, and a payment never makes the date earlier (the SQL filter relies on
    the due year as a lower bound)."""
    due = date(year, 1, 15) + timedelta(days=offset)
    paid_on = None if paid_after is None else due + timedelta(days=paid_after)
    period = f"{year}-{(offset % 12) + 1:02d}"
    rule = claim_rule(P, scheme, kind, year)
    basis = due.year if rule.basis in ("exigibility", "payment") else year
    if rule.basis == "payment" and paid_on is not None:
        basis = max(basis, paid_on.year)
    expected = rule.expiry(basis)
    assert expected == claim_expiry(P, scheme, kind, period, due, paid_on)
    assert claim_expiry(P, scheme, kind, period, due) <= expected


def test_surcharges_of_paid_contributions_run_from_the_year_of_payment():
    # L244-3 al. 3: contributions due January 2022 paid in May 2023 → surcharges end 31 Dec 2026
    assert claim_expiry(
        P, "employer", "surcharge", "2021-12", date(2022, 1, 15), date(2023, 5, 2)
    ) == date(2026, 12, 31)
    # the principal's own date does not move
    assert claim_expiry(
        P, "employer", "principal", "2021-12", date(2022, 1, 15), date(2023, 5, 2)
    ) == date(2024, 12, 31)


@given(schemes, kinds, st.integers(min_value=2017, max_value=2060), acts)
def test_acts_never_bring_the_date_before_the_claim_expiry(scheme, kind, year, some):
    """So a SQL filter on the date without acts keeps every debt the acts could concern."""
    period = f"{year}-06"
    due = date(year, 7, 15)
    assert claim_expiry(P, scheme, kind, period, due) <= expiry(P, scheme, kind, period, due, some)


def test_a_second_notice_within_the_claim_period_opens_a_new_action():
    events = ((date(2022, 6, 1), "formal_notice"), (date(2024, 11, 2), "formal_notice"))
    assert employer("2021-03", date(2021, 4, 15), *events) == date(2027, 12, 2)
    # after the claim period (31 Dec 2024) a notice no longer covers the contributions
    late = ((date(2022, 6, 1), "formal_notice"), (date(2025, 2, 3), "formal_notice"))
    assert employer("2021-03", date(2021, 4, 15), *late) == date(2025, 7, 1)
