"""Write-off rules: grounds and their conditions (CSS D243-2), approving roles, key parsing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recouvrement.domain import write_offs as rules
from recouvrement.domain.actors import Role
from recouvrement.domain.errors import DomainError, Forbidden
from recouvrement.rules.parameters import load_parameters

KEY = ("unedic", "unemployment_employer", "2014-01")
DUE = {KEY: date(2014, 2, 15)}


def problems(grounds, amount=10_000, on=date(2015, 3, 1), small=None):
    return rules.grounds_problems(
        rules.Grounds(grounds),
        [rules.WriteOffKey(*KEY, amount)],
        DUE,
        on,
        minimum_months_after_due=12,
        small_ceiling=small,
        small_months_after_notice=12,
    )


def test_insolvency_and_disappearance_wait_a_year_after_the_due_date_death_does_not():
    early = date(2015, 2, 14)
    assert [p.code for p in problems("insolvency", on=early)] == ["too_early"]
    assert [p.code for p in problems("disappearance", on=early)] == ["too_early"]
    assert problems("insolvency", on=date(2015, 2, 15)) == []
    assert problems("death", on=early) == []
    assert problems("closed_liquidation", on=early) == []
    assert problems("prescribed", on=early) == []


def test_a_small_balance_exists_only_from_2020_and_stays_under_its_ceiling():
    assert [p.code for p in problems("small_balance")] == ["grounds_not_in_force"]
    assert problems("small_balance", amount=9_999, small=10_000) == []
    assert [p.code for p in problems("small_balance", amount=10_000, small=10_000)] == ["not_small"]


def test_an_empty_key_is_not_a_debt():
    assert [p.code for p in problems("death", amount=0)] == ["no_debt"]


def test_the_small_balance_ceiling_is_five_percent_of_the_monthly_ceiling_rounded_down():
    params = load_parameters()
    on = date(2024, 1, 1)
    ceiling = rules.small_balance_ceiling(
        params.value("write_offs.small_balance_rate", on),
        params.value("social_security_ceiling.monthly", on),
    )
    assert ceiling == 19_320  # 5 % of 3 864 €
    assert rules.small_balance_ceiling(None, 386_400) is None
    assert rules.small_balance_ceiling(Decimal("0.05"), 386_401) == 19_320


def test_approving_roles_follow_the_threshold_and_decree_2020_852():
    params = load_parameters()
    before = params.value("write_offs.joint_approval_threshold", date(2015, 1, 1))
    after = params.value("write_offs.joint_approval_threshold", date(2020, 7, 5))
    assert rules.approving_roles(before - 1, before) == {Role.DIRECTOR}
    assert rules.approving_roles(before, before) == {Role.DIRECTOR, Role.ACCOUNTING_OFFICER}
    assert rules.approving_roles(1, after) == {Role.DIRECTOR, Role.ACCOUNTING_OFFICER}


def test_four_eyes_one_person_one_role_never_the_proposer():
    both = frozenset({Role.DIRECTOR, Role.ACCOUNTING_OFFICER})
    with pytest.raises(Forbidden, match="auteur"):
        rules.approval_role("a", both, both, [], "a")
    assert rules.approval_role("b", both, both, [], "a") is Role.DIRECTOR
    done = [{"role": "director", "login": "b"}]
    with pytest.raises(Forbidden, match="déjà approuvé"):
        rules.approval_role("b", both, both, done, "a")
    with pytest.raises(Forbidden, match="comptable"):
        rules.approval_role("c", frozenset({Role.DIRECTOR}), both, done, "a")
    assert rules.approval_role("d", both, both, done, "a") is Role.ACCOUNTING_OFFICER
    assert not rules.is_complete(both, done)
    assert rules.is_complete(both, [*done, {"role": "accounting_officer", "login": "d"}])


def test_keys_are_triples_once_and_never_the_credit():
    assert rules.parse_keys([list(KEY), {"fund": "ags", "item": "ags", "period": "2014"}]) == [
        KEY,
        ("ags", "ags", "2014"),
    ]
    for bad in ([KEY, KEY], [("", "credit", "")], [], [("a", "b")], ["abc"]):
        with pytest.raises(DomainError):
            rules.parse_keys(bad)
    with pytest.raises(DomainError, match="inconnu"):
        rules.parse_grounds("boredom")


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)), st.integers(0, 240))
def test_add_months_lands_in_the_right_month_never_before_the_day(day, months):
    later = rules.add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day <= day.day
    assert later >= day
