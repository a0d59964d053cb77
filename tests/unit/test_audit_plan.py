"""Risk scores of the audit plan, the Mayotte start year and the adjustment entries, without a
database (domain/audit_plan.py, rules/audit_risk.yaml)."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recouvrement.domain import audit_plan as rules
from recouvrement.domain.errors import DomainError
from recouvrement.services.audit_plan import load_criteria

ON = date(2015, 1, 5)


def _version(data=rules.EXAMPLE):
    return rules.criteria_on(rules.parse_criteria(data, "test"), ON)


def test_the_shipped_criteria_load_and_each_is_sourced():
    version = rules.criteria_on(load_criteria(), ON)
    assert set(version.criteria) == set(rules.CRITERIA)
    assert all(c["source"] for c in version.criteria.values())


def test_every_criterion_gives_its_points_and_says_why():
    facts = rules.AccountFacts(
        7,
        overdue_principal=100_000,
        incidents=5,
        payroll_before=1_000_000,
        payroll_last=600_000,
        audited_before=False,
        naf_codes=("5510Z",),
    )
    points, reasons = rules.score(facts, _version())
    by = {r["criterion"]: r["points"] for r in reasons}
    assert by == {
        "arrears": 25,
        "incidents": 30,  # 5 × 10, capped at 30
        "payroll_variation": 20,  # a 40 % drop
        "never_audited": 15,
        "sector": 20,
    }
    assert points == 110
    assert "40 %" in next(r["detail"] for r in reasons if r["criterion"] == "payroll_variation")


def test_under_the_thresholds_nothing_is_counted():
    facts = rules.AccountFacts(
        8,
        overdue_principal=99_999,
        payroll_before=1_000_000,
        payroll_last=710_000,
        audited_before=True,
        naf_codes=("4711D",),
    )
    assert rules.score(facts, _version()) == (0, [])


def test_candidates_are_ranked_by_score_then_id_and_cut_at_the_minimum():
    version = _version()
    facts = [
        rules.AccountFacts(3, audited_before=False),  # 15: under the minimum of 20
        rules.AccountFacts(2, naf_codes=("4399C",)),  # 35
        rules.AccountFacts(1, naf_codes=("5510Z",)),  # 35
        rules.AccountFacts(4, incidents=1, naf_codes=("4399C",)),  # 45
    ]
    assert [c.contributor_id for c in rules.rank(facts, version, 10)] == [4, 1, 2]
    assert [c.contributor_id for c in rules.rank(facts, version, 1)] == [4]


def test_a_new_version_of_the_criteria_applies_from_its_date():
    data = copy.deepcopy(rules.EXAMPLE)
    later = copy.deepcopy(data["versions"][0])
    later["from"] = "2016-01-01"
    later["criteria"]["never_audited"]["points"] = 40
    data["versions"].append(later)
    versions = rules.parse_criteria(data, "test")
    facts = rules.AccountFacts(1)
    assert rules.score(facts, rules.criteria_on(versions, date(2015, 12, 31)))[0] == 15
    assert rules.score(facts, rules.criteria_on(versions, date(2016, 1, 1)))[0] == 40


def test_criteria_without_a_source_or_unknown_are_refused():
    data = copy.deepcopy(rules.EXAMPLE)
    data["versions"][0]["criteria"]["weather"] = {"points": 1, "source": "x"}
    with pytest.raises(DomainError, match="weather"):
        rules.parse_criteria(data, "test")
    data = copy.deepcopy(rules.EXAMPLE)
    del data["versions"][0]["criteria"]["sector"]["source"]
    with pytest.raises(DomainError, match="sector"):
        rules.parse_criteria(data, "test")


def test_mayotte_employers_are_not_audited_before_2014():
    problem = rules.mayotte_audit_problem("976", 2013, 2014)
    assert problem is not None and problem.code == "mayotte_audits_not_started"
    assert "art. 4" in problem.reason
    assert rules.mayotte_audit_problem("976", 2014, 2014) is None
    assert rules.mayotte_audit_problem("69", 2010, 2014) is None


def test_adjustments_are_checked_line_by_line():
    with pytest.raises(DomainError) as err:
        rules.parse_adjustments(
            [
                {"period": "2014-13", "fund": "unedic", "item": "unemployment_employer",
                 "amount": "1.00"},
                {"period": "2014", "fund": "unedic", "item": "surcharge_initial",
                 "amount": "1.00"},
                {"period": "2014", "fund": "unedic", "item": "unemployment_employer",
                 "amount": "1.001"},
            ]
        )  # fmt: skip
    codes = [p.code for p in err.value.problems]
    assert codes == ["bad_period", "bad_item", "fractional_cents"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["unemployment_employer", "unemployment_employee", "health"]),
            st.integers(min_value=1, max_value=10**9),
        ),
        min_size=1,
        max_size=3,
        unique_by=lambda t: t[0],
    )
)
def test_an_adjustment_entry_balances_and_puts_the_whole_amount_on_the_account(lines):
    adjustments = [rules.Adjustment("2014", "unedic", item, amount) for item, amount in lines]
    entry = rules.adjustment_entry(12, 5, "2014", adjustments, date(2015, 6, 1))
    assert entry.idempotency_key == "audit:12:2014"
    assert sum(p.amount for p in entry.postings) == 0
    owed = sum(p.amount for p in entry.postings if p.ledger_account == "receivable")
    assert owed == sum(a for _, a in lines)
    assert {p.period for p in entry.postings} == {"2014"}
