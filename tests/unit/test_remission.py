"""Remission rules: admissibility (CSS R243-20), authority, partial grants, R243-19-1."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recouvrement.domain import remission as rules
from recouvrement.domain.errors import DomainError
from recouvrement.rules.parameters import load_parameters

DUE = date(2015, 2, 16)
ITEMS = "surcharge_initial,surcharge_additional,penalty_*"


def check(lines, unpaid=0, paid=date(2015, 3, 1), days=30, force=False):
    return [
        p.code
        for p in rules.admissibility_problems(
            lines,
            principal_unpaid={("unedic", "2015-01"): unpaid},
            due_dates={"2015-01": DUE},
            paid_dates={("unedic", "2015-01"): paid},
            remissible_items=ITEMS,
            additional_days=days,
            force_majeure=force,
        )
    ]


def line(item="surcharge_initial", amount=5_000):
    return rules.Line("unedic", item, "2015-01", amount)


def test_only_once_the_contributions_are_paid():
    assert check([line()], unpaid=1) == ["principal_unpaid"]
    assert check([line()]) == []


def test_the_additional_surcharge_needs_thirty_days_or_force_majeure():
    additional = line("surcharge_additional", 400)
    assert check([additional], paid=DUE + timedelta(30)) == []
    assert check([additional], paid=DUE + timedelta(31)) == ["paid_too_late"]
    assert check([additional], paid=DUE + timedelta(31), force=True) == []
    assert check([line(), additional], paid=DUE + timedelta(90)) == ["paid_too_late"]
    assert check([additional], days=None) == ["no_rule"]


def test_what_may_be_remitted_is_the_dated_list():
    assert rules.remissible("penalty_late_declaration", ITEMS)
    assert not rules.remissible("surcharge_audit", ITEMS)
    assert check([line("surcharge_audit")]) == ["not_remissible"]
    assert check([line("unemployment_employer")]) == ["not_remissible"]
    assert check([line(amount=0)]) == ["no_surcharge"]
    assert check([]) == ["empty"]


def test_the_director_below_the_threshold_the_appeals_board_from_it():
    threshold = load_parameters().value("remission.director_threshold", date(2015, 3, 1))
    assert rules.authority_for(threshold - 1, threshold) is rules.Authority.DIRECTOR
    assert rules.authority_for(threshold, threshold) is rules.Authority.APPEALS_BOARD


@given(
    st.lists(st.integers(1, 10**7), min_size=1, max_size=6),
    st.data(),
)
def test_a_partial_grant_is_spread_in_order_and_never_exceeds_a_line(amounts, data):
    lines = [line(amount=a) for a in amounts]
    granted = data.draw(st.integers(0, sum(amounts)))
    spread = rules.spread_granted(lines, granted)
    assert sum(spread) == granted
    assert all(0 <= g <= x.requested for g, x in zip(spread, lines, strict=True))
    shorts = [i for i, (g, x) in enumerate(zip(spread, lines, strict=True)) if g < x.requested]
    first_short = shorts[0] if shorts else None
    if first_short is not None:
        assert all(g == 0 for g in spread[first_short + 1 :])
    assert rules.spread_granted(lines, None) == amounts
    with pytest.raises(DomainError):
        rules.spread_granted(lines, sum(amounts) + 1)


def test_decision_states():
    assert rules.decision_state(0, 100) == "refused"
    assert rules.decision_state(40, 100) == "partially_granted"
    assert rules.decision_state(100, 100) == "granted"


def automatic(**changes):
    values = dict(
        due=DUE,
        surcharges_total=5_400,
        ceiling=317_000,
        principal_paid_on=date(2015, 3, 10),
        declared_on=date(2015, 2, 5),
        payment_months=1,
        incidents_before=[],
        clean_months=24,
    )
    values.update(changes)
    return rules.automatic_remission_applies(**values)


def test_automatic_remission_of_r243_19_1():
    assert automatic()
    assert automatic(principal_paid_on=date(2015, 3, 16))
    assert not automatic(principal_paid_on=date(2015, 3, 17))
    assert not automatic(principal_paid_on=None)
    assert not automatic(declared_on=date(2015, 3, 17))
    assert not automatic(surcharges_total=317_000)
    assert not automatic(surcharges_total=0)
    assert automatic(incidents_before=[date(2013, 2, 15)])  # more than 24 months before
    assert not automatic(incidents_before=[date(2013, 2, 16)])
    assert automatic(incidents_before=[DUE + timedelta(1)])  # this due date's own incident


def test_the_automatic_ceiling_is_dated():
    params = load_parameters()
    assert params.value("remission.automatic_ceiling_pss_share", date(2005, 1, 1)) == Decimal(
        "0.40"
    )
    assert params.value("remission.automatic_ceiling_pss_share", date(2015, 1, 1)) == Decimal("1")
    assert rules.automatic_ceiling(Decimal("0.40"), 252_000) == 100_800
