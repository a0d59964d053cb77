"""The refund rules without a database: credit layers (FIFO), the L243-6 limitation, the Mayotte
pre-transfer receipts, amounts, accounts and the four-eyes rule."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recouvrement.domain import refunds as r
from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.errors import DomainError, Forbidden
from recouvrement.rules.parameters import load_parameters

THREE = r.RefundRules(limitation_years=3)
MAYOTTE_BEFORE = r.RefundRules(3, date(2013, 1, 1), pre_transfer_refundable=False)
MAYOTTE_AFTER = r.RefundRules(3, date(2013, 1, 1), pre_transfer_refundable=True)


def officer(login="ac.1", *roles):
    return Actor(login, 1, "URSSAF-RA", frozenset(roles or (Role.ACCOUNTING_OFFICER,)))


def test_the_oldest_payment_is_consumed_first():
    layers = r.credit_layers(
        [(date(2012, 1, 5), -100), (date(2013, 1, 5), -200), (date(2013, 6, 1), 150)]
    )
    assert layers == [r.CreditLayer(date(2013, 1, 5), 150)]


def test_a_shortfall_is_made_good_before_a_new_layer_counts():
    layers = r.credit_layers([(date(2014, 1, 1), 50), (date(2014, 2, 1), -80)])
    assert layers == [r.CreditLayer(date(2014, 2, 1), 30)]


def test_limitation_is_three_years_to_the_day():
    layer = r.CreditLayer(date(2012, 3, 15), 1_000)
    assert r.refundable_amount([layer], date(2015, 3, 15), THREE) == 1_000
    assert r.refundable_amount([layer], date(2015, 3, 16), THREE) == 0


def test_a_payment_on_29_february_is_barred_after_28_february():
    assert r.limitation_end(date(2012, 2, 29), THREE) == date(2015, 2, 28)


def test_the_four_months_deadline_ends_on_the_months_last_day():
    assert r.add_months(date(2015, 10, 31), 4) == date(2016, 2, 29)
    assert r.add_months(date(2015, 3, 2), 4) == date(2015, 7, 2)


def test_mayotte_receipts_of_the_former_collector_follow_the_amendment():
    cacm = r.CreditLayer(date(2012, 11, 5), 700)  # cashed by the CACM before the transfer
    cssm = r.CreditLayer(date(2013, 2, 5), 300)
    on = date(2014, 3, 3)
    assert r.refundable_amount([cacm, cssm], on, MAYOTTE_BEFORE) == 300
    assert r.refundable_amount([cacm, cssm], on, MAYOTTE_AFTER) == 1_000
    assert r.refundable_amount([cacm, cssm], date(2015, 11, 6), MAYOTTE_AFTER) == 300


def test_the_mayotte_parameters_are_read_by_territory():
    params = load_parameters()
    on = date(2014, 3, 3)
    assert params.value("refunds.limitation_years", on, "976") == 3
    assert params.value("refunds.collection_transfer_date", on, "976") == "2013-01-01"
    assert params.value("refunds.pre_transfer_receipts_refundable", on, "976") is True
    assert (
        params.value("refunds.pre_transfer_receipts_refundable", date(2013, 6, 1), "976") is False
    )
    assert params.value("refunds.collection_transfer_date", on, "69") is None
    assert params.value("refunds.payment_deadline_months", date(2010, 12, 21)) is None
    assert params.value("refunds.payment_deadline_months", date(2010, 12, 22)) == 4


def test_layers_reaching_limitation_within_the_horizon():
    soon = r.CreditLayer(date(2012, 4, 10), 7_000)
    later = r.CreditLayer(date(2014, 6, 2), 5_000)
    gone = r.CreditLayer(date(2011, 1, 3), 1_000)
    day = date(2015, 3, 20)
    assert r.reaching_limitation([gone, soon, later], day, 60, THREE) == [soon]
    assert r.reaching_limitation([gone, soon, later], day, 10, THREE) == []


@pytest.mark.parametrize(
    ("amount", "code"),
    [(501, "above_credit"), (401, "time_barred"), (0, "not_positive"), (1.5, "not_cents")],
)
def test_amount_problems(amount, code):
    assert [p.code for p in r.refund_amount_problems(amount, 500, 400)] == [code]
    with pytest.raises(DomainError):
        r.require_refundable(amount, 500, 400)


def test_amounts_within_the_refundable_part_pass():
    assert r.require_refundable(400, 500, 400) == 400


def test_a_bic_is_derived_from_the_iban_or_checked_against_it():
    account = r.beneficiary_account("FR14 2004 1010 0505 0001 3M02 606", None, " Jeanne  Martin ")
    assert account == r.BeneficiaryAccount(
        "Jeanne Martin", "FR1420041010050500013M02606", "PSSTFRPP"
    )
    with pytest.raises(DomainError) as err:
        r.beneficiary_account("FR1420041010050500013M02606", "DEUTDEFFXXX", "Jeanne Martin")
    assert err.value.problems[0].code == "bad_bic"


def test_every_problem_of_an_account_is_named():
    with pytest.raises(DomainError) as err:
        r.beneficiary_account("FR0000000000000000000000000", "XX", "")
    assert {p.field for p in err.value.problems} == {"iban", "bic", "holder"}


def test_only_an_accounting_officer_approves():
    with pytest.raises(Forbidden) as err:
        r.require_four_eyes(officer("a.martin", Role.AGENT), "b.durand", None)
    assert err.value.problems[0].code == "not_accounting_officer"
    r.require_four_eyes(officer("ac.1"), "b.durand", "c.petit")


@pytest.mark.parametrize(("checker", "requester"), [("ac.1", None), ("b.durand", "AC.1")])
def test_the_checker_or_the_requesting_agent_cannot_approve(checker, requester):
    with pytest.raises(Forbidden) as err:
        r.require_four_eyes(officer("ac.1"), checker, requester)
    assert err.value.problems[0].code == "self_approval"
    assert "quatre yeux" in err.value.problems[0].reason


movements = st.lists(
    st.tuples(
        st.dates(date(2010, 1, 1), date(2016, 12, 31)),
        st.integers(-(10**6), 10**6).filter(bool),
    ),
    max_size=30,
)


@given(movements)
def test_layers_never_create_or_lose_a_cent(moves):
    moves = sorted(moves, key=lambda m: m[0])
    layers = r.credit_layers(moves)
    assert all(layer.amount > 0 for layer in layers)
    assert sum(layer.amount for layer in layers) == max(0, -sum(a for _d, a in moves))
    assert [layer.paid_on for layer in layers] == sorted(layer.paid_on for layer in layers)


@given(movements, st.dates(date(2010, 1, 1), date(2020, 1, 1)))
def test_the_refundable_part_shrinks_with_time(moves, on):
    layers = r.credit_layers(sorted(moves, key=lambda m: m[0]))
    now = r.refundable_amount(layers, on, THREE)
    later = r.refundable_amount(layers, on + timedelta(days=30), THREE)
    assert 0 <= later <= now <= sum(layer.amount for layer in layers)
