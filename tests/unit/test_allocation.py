"""Allocation of a payment to debts, in the order the data gives (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from recouvrement.domain.allocation import (
    CREDIT_ITEM,
    AllocationLine,
    Debt,
    allocate,
    item_kind,
    order_on,
    parse_orders,
    sort_key,
)
from recouvrement.domain.errors import DomainError
from recouvrement.rules.allocation import ALLOCATION_FILE, allocation_order, load_allocation_orders

EMPLOYER = allocation_order("employer", date(2024, 6, 1))
SELF_EMPLOYED = allocation_order("self_employed", date(2024, 6, 1))


def debt(period: str, amount: int, item: str = "unemployment_employer", due: date | None = None):
    fund = "ags" if item == "ags" else "unedic"
    if due is None:
        year, month = int(period[:4]), int(period[5:7])
        due = date(year + (month == 12), month % 12 + 1, 15)
    return Debt(fund, item, period, due, amount)


def test_item_kinds():
    assert item_kind("unemployment_employer") == "principal"
    assert item_kind("health") == "principal"
    assert item_kind("surcharge_initial") == "surcharge"
    assert item_kind("surcharge_additional") == "surcharge"
    assert item_kind("surcharge_audit") == "surcharge"
    assert item_kind("surcharge_underestimate") == "surcharge"
    assert item_kind("penalty_late_declaration") == "penalty"
    assert item_kind(CREDIT_ITEM) == "credit"


def test_the_oldest_period_is_paid_first_and_the_last_debt_partly():
    debts = [debt("2024-03", 10_000), debt("2024-01", 10_000), debt("2024-02", 10_000)]
    result = allocate(debts, 25_000, EMPLOYER, on=date(2024, 6, 1))
    assert result.lines == (
        AllocationLine("unedic", "unemployment_employer", "2024-01", 10_000),
        AllocationLine("unedic", "unemployment_employer", "2024-02", 10_000),
        AllocationLine("unedic", "unemployment_employer", "2024-03", 5_000),
    )
    assert result.remainder == 0


def test_principal_of_every_period_before_any_surcharge():
    debts = [
        debt("2024-01", 500, "surcharge_initial"),
        debt("2024-01", 10_000),
        debt("2024-02", 10_000),
    ]
    result = allocate(debts, 20_200, EMPLOYER, on=date(2024, 6, 1))
    assert [(line.period, line.item, line.amount) for line in result.lines] == [
        ("2024-01", "unemployment_employer", 10_000),
        ("2024-02", "unemployment_employer", 10_000),
        ("2024-01", "surcharge_initial", 200),
    ]


def test_the_employee_share_before_the_employers_within_a_period():
    debts = [
        debt("2024-01", 300, "ags"),
        debt("2024-01", 400),
        debt("2024-01", 200, "unemployment_employee"),
    ]
    result = allocate(debts, 500, EMPLOYER, on=date(2024, 6, 1))
    assert [(line.item, line.amount) for line in result.lines] == [
        ("unemployment_employee", 200),
        ("unemployment_employer", 300),
    ]


def test_what_is_left_over_is_a_remainder():
    result = allocate([debt("2024-01", 1_000)], 1_500, EMPLOYER, on=date(2024, 6, 1))
    assert result.allocated == 1_000 and result.remainder == 500
    assert allocate([], 700, EMPLOYER).remainder == 700
    assert allocate([debt("2024-01", 1_000)], 0, EMPLOYER) == ((), 0)


def test_debts_already_due_before_debts_not_yet_due():
    later = debt("2024-01", 1_000, due=date(2024, 7, 5))  # an older period, due later
    due = debt("2024-02", 1_000, due=date(2024, 5, 5))
    result = allocate([later, due], 1_000, EMPLOYER, on=date(2024, 6, 1))
    assert result.lines[0].period == "2024-02"


def test_a_designated_period_comes_first():
    debts = [debt("2024-01", 1_000), debt("2024-02", 1_000)]
    result = allocate(debts, 1_000, EMPLOYER, designation=["2024-02"], on=date(2024, 6, 1))
    assert result.lines == (AllocationLine("unedic", "unemployment_employer", "2024-02", 1_000),)


def test_designation_is_ignored_where_the_order_does_not_allow_it():
    strict = replace(EMPLOYER, designation=False)
    debts = [debt("2024-01", 1_000), debt("2024-02", 1_000)]
    result = allocate(debts, 1_000, strict, designation=["2024-02"], on=date(2024, 6, 1))
    assert result.lines[0].period == "2024-01"


def test_a_self_employed_payment_on_an_instalment_date_pays_that_instalment_first():
    old = Debt("self_employed_scheme", "health", "2024-01", date(2024, 1, 5), 1_000)
    today = Debt("self_employed_scheme", "health", "2024-05", date(2024, 5, 5), 1_000)
    result = allocate([old, today], 1_500, SELF_EMPLOYED, on=date(2024, 5, 5))
    assert [(line.period, line.amount) for line in result.lines] == [
        ("2024-05", 1_000),
        ("2024-01", 500),
    ]
    # A day later it is an ordinary payment: the oldest instalment first.
    result = allocate([old, today], 1_500, SELF_EMPLOYED, on=date(2024, 5, 6))
    assert result.lines[0].period == "2024-01"


def test_the_self_employed_item_order_changed_in_2023_by_data_only():
    items = [
        Debt("csg_crds", "crds", "2024-01", date(2024, 1, 5), 100),
        Debt("self_employed_scheme", "health", "2024-01", date(2024, 1, 5), 100),
    ]
    new = allocate(items, 100, allocation_order("self_employed", date(2023, 1, 1)))
    old = allocate(items, 100, allocation_order("self_employed", date(2022, 12, 31)))
    assert new.lines[0].item == "crds"
    assert old.lines[0].item == "health"


def test_a_new_order_is_a_data_change(tmp_path: Path):
    data = yaml.safe_load(ALLOCATION_FILE.read_text(encoding="utf-8"))
    data["schemes"]["employer"].append(
        {
            "from": date(2030, 1, 1),
            "designation": True,
            "criteria": [
                "due",
                "due_date",
                "period",
                "kind",
                "item",
            ],  # each period with its surcharges
            "kinds": ["principal", "surcharge", "penalty", "credit"],
            "source": "loi imaginaire pour le test",
        }
    )
    path = tmp_path / "allocation.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    debts = [
        debt("2024-01", 500, "surcharge_initial"),
        debt("2024-01", 10_000),
        debt("2024-02", 10_000),
    ]
    before = allocate(debts, 10_500, allocation_order("employer", date(2029, 12, 31), path))
    after = allocate(debts, 10_500, allocation_order("employer", date(2030, 1, 1), path))
    assert [line.item for line in before.lines] == ["unemployment_employer"] * 2
    assert [line.item for line in after.lines] == ["unemployment_employer", "surcharge_initial"]


@pytest.mark.parametrize("amount", [-1, 1.5, 100.0, Decimal("10"), True, "100"])
def test_amounts_other_than_non_negative_integer_cents_are_refused(amount):
    with pytest.raises(DomainError) as err:
        allocate([debt("2024-01", 1_000)], amount, EMPLOYER)
    assert err.value.problems[0].code in {"negative_amount", "not_cents"}


def test_a_debt_of_no_or_negative_amount_is_refused():
    with pytest.raises(DomainError) as err:
        allocate([debt("2024-01", 0), debt("2024-02", -5)], 100, EMPLOYER)
    assert [p.field for p in err.value.problems] == ["debts[0].amount", "debts[1].amount"]


def test_bad_order_data_is_refused_naming_the_scheme():
    good = yaml.safe_load(ALLOCATION_FILE.read_text(encoding="utf-8"))
    for broken in (
        {"schemes": {"employer": [{**good["schemes"]["employer"][0], "criteria": ["age"]}]}},
        {"schemes": {"employer": [{**good["schemes"]["employer"][0], "source": ""}]}},
        {"schemes": {"employer": [{**good["schemes"]["employer"][0], "kinds": ["principal"]}]}},
        {"schemes": {"employer": good["schemes"]["employer"] * 2}},
        {"schemes": {"pensioner": good["schemes"]["employer"]}},
    ):
        with pytest.raises(DomainError) as err:
            parse_orders(broken)
        assert err.value.problems[0].code == "bad_allocation_order"
    with pytest.raises(DomainError) as err:
        order_on(load_allocation_orders(), "employer", date(2012, 12, 31))
    assert err.value.problems[0].code == "parameter_gap"


# ---------------------------------------------------------------------------------------------
# Properties

ITEMS = ["unemployment_employer", "unemployment_employee", "ags", "surcharge_initial", "penalty_x"]
PERIODS = ["2023-11", "2023-12", "2024-01", "2024-02", "2024-Q1", "2024"]


@st.composite
def debt_lists(draw):
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(ITEMS), st.sampled_from(PERIODS)), unique=True, max_size=12
        )
    )
    base = date(2024, 1, 1)
    return [
        Debt(
            "ags" if item == "ags" else "unedic",
            item,
            period,
            base + timedelta(days=draw(st.integers(0, 200))),
            draw(st.integers(1, 10**9)),
        )
        for item, period in keys
    ]


payments = st.integers(0, 5 * 10**9)
days = st.dates(date(2024, 1, 1), date(2024, 12, 31))
designations = st.none() | st.lists(st.sampled_from(PERIODS), max_size=2)


@given(debt_lists(), payments, days, designations)
def test_no_cent_is_created_or_lost_and_no_debt_is_overpaid(debts, amount, on, designation):
    result = allocate(debts, amount, EMPLOYER, designation, on)
    assert sum(line.amount for line in result.lines) + result.remainder == amount
    owed = {(d.fund, d.item, d.period): d.amount for d in debts}
    for line in result.lines:
        assert 0 < line.amount <= owed[(line.fund, line.item, line.period)]
    assert result.remainder == 0 or result.allocated == sum(owed.values())


@given(debt_lists(), payments, days, designations)
def test_a_debt_is_paid_only_when_every_debt_before_it_is_paid_in_full(
    debts, amount, on, designation
):
    result = allocate(debts, amount, EMPLOYER, designation, on)
    ranked = sorted(debts, key=lambda d: sort_key(d, EMPLOYER, frozenset(designation or ()), on))
    paid = {(line.fund, line.item, line.period): line.amount for line in result.lines}
    amounts = [paid.get((d.fund, d.item, d.period), 0) for d in ranked]
    for i, d in enumerate(ranked):
        if amounts[i] and i > 0:
            assert amounts[i - 1] == ranked[i - 1].amount, "an earlier debt is not paid in full"
        assert amounts[i] <= d.amount
    # The lines come in the order of payment.
    assert [(line.fund, line.item, line.period) for line in result.lines] == [
        (d.fund, d.item, d.period) for d, a in zip(ranked, amounts, strict=True) if a
    ]


@given(debt_lists(), payments, days, st.randoms(use_true_random=False))
def test_the_same_debts_in_any_order_give_the_same_allocation(debts, amount, on, rnd):
    shuffled = list(debts)
    rnd.shuffle(shuffled)
    assert allocate(debts, amount, EMPLOYER, on=on) == allocate(shuffled, amount, EMPLOYER, on=on)


@given(debt_lists(), payments, days)
def test_principal_due_is_always_paid_before_any_due_surcharge(debts, amount, on):
    result = allocate(debts, amount, EMPLOYER, on=on)
    paid = {(line.fund, line.item, line.period): line.amount for line in result.lines}
    due = [d for d in debts if d.due_date <= on]
    if any(item_kind(d.item) != "principal" and paid.get((d.fund, d.item, d.period)) for d in due):
        for d in due:
            if item_kind(d.item) == "principal":
                assert paid.get((d.fund, d.item, d.period)) == d.amount
