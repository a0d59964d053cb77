"""The journal's rules, without a database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recouvrement.domain import ledger as L
from recouvrement.domain.errors import DomainError
from recouvrement.domain.ledger import (
    Entry,
    Posting,
    PostingKey,
    balance_by_key,
    entry_problems,
    fingerprint,
    reversal_of,
    reversal_problems,
    simple_entry,
    validate_entry,
)
from recouvrement.domain.ledger_records import entry_from_record

DAY = date(2024, 3, 15)


def owed(amount=12_000, cid=7, fund="unedic", item="unemployment_employer", period="2024-02"):
    return Posting("receivable", cid, fund, item, period, amount)


def revenue(amount=-12_000, fund="unedic", item="unemployment_employer", period="2024-02"):
    return Posting("fund_revenue", None, fund, item, period, amount)


def assessment(key="a-1", *postings, **kw):
    return Entry(key, DAY, "assessment", postings or (owed(), revenue()), **kw)


def codes(entry):
    return [p.code for p in entry_problems(entry)]


def test_a_balanced_entry_breaks_no_rule():
    assert entry_problems(assessment()) == []
    assert validate_entry(assessment()) == assessment()


def test_an_unbalanced_entry_is_refused_with_its_sum():
    problems = entry_problems(assessment("a", owed(12_000), revenue(-11_999)))
    assert [p.code for p in problems] == ["unbalanced"]
    assert "1 centimes" in problems[0].reason


def test_an_entry_needs_two_lines():
    assert "too_few" in codes(assessment("a", owed()))


@pytest.mark.parametrize(
    "amount, code",
    [
        (120.5, "fractional_cents"),
        (Decimal("100.25"), "fractional_cents"),
        (float("nan"), "fractional_cents"),
        (120.0, "not_cents"),
        ("120", "not_cents"),
        (True, "not_cents"),
        (None, "not_cents"),
    ],
)
def test_amounts_are_integer_cents_never_rounded(amount, code):
    entry = assessment("a", owed(amount), revenue())
    assert code in codes(entry)
    with pytest.raises(DomainError) as err:
        validate_entry(entry)
    assert any(p.field == "postings[0].amount" for p in err.value.problems)


def test_zero_and_huge_lines_are_refused():
    assert "zero_amount" in codes(assessment("a", owed(0), revenue(0)))
    huge = L.MAX_ABS_CENTS + 1
    assert "out_of_range" in codes(assessment("a", owed(huge), revenue(-huge)))


@pytest.mark.parametrize(
    "posting, field, code",
    [
        (Posting("nowhere", 7, "", "", "", 1), "ledger_account", "unknown_account"),
        (Posting("receivable", None, "", "", "", 1), "contributor_id", "contributor_required"),
        (Posting("receivable", 0, "", "", "", 1), "contributor_id", "bad_contributor"),
        (Posting("receivable", "7", "", "", "", 1), "contributor_id", "bad_contributor"),
        (Posting("receivable", 7, "une caisse", "", "", 1), "fund", "bad_fund"),
        (Posting("receivable", 7, "x" * 33, "", "", 1), "fund", "bad_fund"),
        (Posting("receivable", 7, "", "a\tb", "", 1), "item", "bad_item"),
        (Posting("receivable", 7, "", "", "2024-13", 1), "period", "bad_period"),
        (Posting("receivable", 7, "", "", "2024-1", 1), "period", "bad_period"),
        (Posting("receivable", 7, "", "", " 2024-01", 1), "period", "bad_period"),
        (Posting("receivable", 7, [], "", "", 1), "fund", "bad_fund"),
    ],
)
def test_each_line_names_what_is_wrong(posting, field, code):
    entry = assessment(
        "a", posting, posting._replace(ledger_account="bank", contributor_id=None, amount=-1)
    )
    problems = entry_problems(entry)
    assert any(p.field == f"postings[0].{field}" and p.code == code for p in problems), problems


@pytest.mark.parametrize(
    "change, code",
    [
        ({"idempotency_key": ""}, "bad_key"),
        ({"idempotency_key": "k" * 201}, "bad_key"),
        ({"cause": "whim"}, "unknown_cause"),
        ({"value_date": None}, "required"),
        ({"reverses": "a-1"}, "bad_reverses"),
        ({"description": None}, "bad_description"),
    ],
)
def test_the_entry_itself_is_checked(change, code):
    assert code in codes(assessment()._replace(**change))


def test_the_fingerprint_ignores_line_order_and_label_but_not_content():
    e = assessment()
    assert fingerprint(e) == fingerprint(e._replace(postings=e.postings[::-1], description="x"))
    assert fingerprint(e) != fingerprint(assessment("a-1", owed(12_001), revenue(-12_001)))
    assert fingerprint(e) != fingerprint(e._replace(value_date=date(2024, 3, 16)))
    assert fingerprint(e) != fingerprint(e._replace(cause="declaration"))


def test_a_reversal_cancels_its_entry_line_by_line():
    e = assessment()
    r = reversal_of(e, "r-1", date(2024, 4, 1))
    assert r.reverses == "a-1" and r.cause == "reversal"
    assert entry_problems(r) == []
    assert reversal_problems(e.postings, r) == []
    assert balance_by_key(e.postings + r.postings) == {}


def test_a_partial_reversal_is_not_a_reversal():
    e = assessment()
    partial = Entry("r-1", DAY, "reversal", (owed(-6_000), revenue(6_000)), reverses="a-1")
    assert [p.code for p in reversal_problems(e.postings, partial)] == ["reversal_mismatch"]


def test_simple_entry_takes_a_positive_amount_and_the_sides():
    e = simple_entry(
        "p-1",
        DAY,
        "payment",
        PostingKey("bank"),
        PostingKey("receivable", 7, "unedic", "unemployment_employer", "2024-02"),
        5_000,
    )
    assert [p.amount for p in e.postings] == [5_000, -5_000]


@pytest.mark.parametrize(
    "amount, code",
    [
        (-5_000, "negative_amount"),
        (0, "zero_amount"),
        (50.5, "fractional_cents"),
        ("5", "not_cents"),
    ],
)
def test_simple_entry_refuses_negative_and_fractional_amounts(amount, code):
    with pytest.raises(DomainError) as err:
        simple_entry("p-1", DAY, "payment", PostingKey("bank"), PostingKey("suspense"), amount)
    assert [p.code for p in err.value.problems] == [code]
    assert err.value.problems[0].field == "amount"


def record(**lines):
    return {
        "key": "k-1",
        "value_date": "2024-03-15",
        "cause": "payment",
        "postings": [
            {"account": "bank", "debit": lines.get("debit", "120.50")},
            {
                "account": "receivable",
                "contributor_id": 7,
                "fund": "unedic",
                "item": "unemployment_employer",
                "period": "2024-02",
                "credit": lines.get("credit", "120.50"),
            },
        ],
    }


def test_a_record_in_euros_becomes_an_entry_in_cents():
    e = entry_from_record(record())
    assert [p.amount for p in e.postings] == [12_050, -12_050]
    assert e.value_date == DAY


@pytest.mark.parametrize(
    "lines, code",
    [
        ({"credit": "-120.50", "debit": "-120.50"}, "negative_amount"),
        ({"credit": "120.505", "debit": "120.505"}, "fractional_cents"),
        ({"credit": 120.5, "debit": 120.5}, "float_amount"),
        ({"credit": "120.00"}, "unbalanced"),
    ],
)
def test_a_bad_record_is_refused_naming_the_line(lines, code):
    with pytest.raises(DomainError) as err:
        entry_from_record(record(**lines))
    assert code in [p.code for p in err.value.problems]


def test_balance_by_key_sums_per_key_and_drops_zeros():
    postings = [owed(100), owed(50), revenue(-150), owed(-150)]
    assert balance_by_key(postings) == {
        ("fund_revenue", None, "unedic", "unemployment_employer", "2024-02"): -150
    }


# The quick check accepts only what the full check accepts.
codes_st = st.sampled_from(["", "unedic", "ags", "une caisse", "x" * 40, "a-b.c_d"])
periods_st = st.sampled_from(["", "2024-01", "2024-Q2", "2024", "2024-13", "24-01", " 2024"])
postings_st = st.builds(
    Posting,
    ledger_account=st.sampled_from([a.value for a in L.LedgerAccount] + ["other"]),
    contributor_id=st.one_of(st.none(), st.integers(-1, 5)),
    fund=codes_st,
    item=codes_st,
    period=periods_st,
    amount=st.one_of(st.integers(-(10**16), 10**16), st.floats(allow_nan=False), st.just(0)),
)
entries_st = st.builds(
    Entry,
    idempotency_key=st.one_of(st.text(max_size=3), st.just("k" * 201)),
    value_date=st.one_of(st.just(DAY), st.none()),
    cause=st.sampled_from(["assessment", "payment", "whim"]),
    postings=st.lists(postings_st, max_size=4).map(tuple),
    description=st.just(""),
)


@settings(max_examples=300)
@given(entries_st)
def test_the_quick_check_never_accepts_what_the_full_check_refuses(entry):
    if L._is_clean(entry):
        assert L._all_problems(entry) == []


@settings(max_examples=200)
@given(st.lists(st.integers(-(10**9), 10**9).filter(bool), min_size=1, max_size=6))
def test_an_entry_closed_by_its_remainder_is_balanced(amounts):
    rest = -sum(amounts)
    postings = [owed(a) for a in amounts]
    postings.append(revenue(rest) if rest else revenue(1))
    if not rest:
        postings.append(revenue(-1))
    e = assessment("a", *postings)
    assert entry_problems(e) == []
    assert sum(balance_by_key(e.postings).values()) == 0
