"""The import's allocation (`allocation_batch.allocate_fast`) gives exactly the domain's lines.

It ranks each debt once per order and evaluates only the payment's criteria per receipt; any
difference with `domain.allocation.allocate` would pay another debt than the legal order says.
"""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from recouvrement.domain.allocation import AllocationOrder, Debt, allocate
from recouvrement.rules.allocation import allocation_order
from recouvrement.services.allocation_batch import allocate_fast

ITEMS = (
    "unemployment_employer",
    "unemployment_employee",
    "ags",
    "health",
    "basic_pension",
    "csg_deductible",
    "crds",
    "surcharge_initial",
    "surcharge_additional",
    "penalty_late_declaration",
    "credit",
)
PERIODS = ("2022-11", "2022-12", "2023-01", "2023-02", "2023-Q1", "2023", "")
DAY0 = date(2022, 12, 1)

debts = st.lists(
    st.builds(
        Debt,
        st.sampled_from(("unedic", "ags", "cnav", "")),
        st.sampled_from(ITEMS),
        st.sampled_from(PERIODS),
        st.integers(0, 120).map(lambda n: DAY0 + timedelta(days=n)),
        st.integers(1, 500_000),
    ),
    max_size=12,
    unique_by=lambda d: (d.fund, d.item, d.period),
)
legal_orders = st.builds(
    allocation_order,
    st.sampled_from(("employer", "self_employed")),
    st.sampled_from((date(2016, 3, 1), date(2023, 2, 5))),
)
# Orders outside the shape of rules/allocation.yaml: a payment criterion after a debt criterion.
mixed_orders = st.builds(
    AllocationOrder,
    st.just("employer"),
    st.just(date(2013, 1, 1)),
    st.permutations(("designated", "due", "kind", "due_date", "period", "item")).map(tuple),
    st.just(("principal", "surcharge", "penalty", "credit")),
    st.just(("unemployment_employee",)),
    st.booleans(),
    st.just("test"),
)


@settings(max_examples=400, deadline=None)
@given(
    debts,
    st.integers(0, 2_000_000),
    st.one_of(legal_orders, mixed_orders),
    st.one_of(st.none(), st.lists(st.sampled_from(PERIODS), max_size=2)),
    st.integers(0, 120).map(lambda n: DAY0 + timedelta(days=n)),
)
def test_the_fast_allocation_pays_the_same_lines_as_the_domain(debts, amount, order, named, on):
    assert allocate_fast(debts, amount, order, named, on) == allocate(
        debts, amount, order, named, on
    )


def test_a_payment_due_on_its_instalment_day_pays_that_instalment_first():
    """Self-employed (D133-4 II): the instalment falling due on the payment day goes first, even
    though an older one is unpaid; the rank of each debt is cached, the payment's day is not."""
    order = allocation_order("self_employed", date(2023, 2, 5))
    old = Debt("urssaf", "health", "2023-01", date(2023, 1, 5), 10_000)
    today = Debt("urssaf", "health", "2023-02", date(2023, 2, 5), 10_000)
    first = allocate_fast([old, today], 10_000, order, None, date(2023, 2, 5))
    later = allocate_fast([old, today], 10_000, order, None, date(2023, 2, 6))
    assert [line.period for line in first.lines] == ["2023-02"]
    assert [line.period for line in later.lines] == ["2023-01"]
