"""The pure rules of payment plans: schedule in exact cents, examination, follow-up."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from recouvrement.domain import payment_plans as rules
from recouvrement.domain.allocation import Debt
from recouvrement.domain.calendars import calendar_for

RULES = rules.Rules(12, True, frozenset({"unemployment_employee"}), True)
CAL = calendar_for("69")


@settings(deadline=None)
@given(st.integers(1, 10**10), st.integers(1, 24), st.dates(date(2014, 1, 1), date(2030, 12, 31)))
def test_schedule_adds_up_to_the_cent_on_business_days(total, months, granted_on):
    plan = rules.schedule(total, months, granted_on, 15, CAL)
    assert sum(i.amount for i in plan) == total and plan[-1].cumulative == total
    assert all(i.amount > 0 and CAL.is_business_day(i.due_date) for i in plan)
    assert len({i.amount for i in plan[:-1]}) <= 1 and plan[-1].amount >= plan[0].amount
    assert [i.due_date for i in plan] == sorted(i.due_date for i in plan)


def test_examination_names_every_failed_condition():
    debts = [Debt("unedic", "unemployment_employee", "2016-01", date(2016, 2, 15), 1000)]
    problems = rules.examine(
        employer=True, months=13, debts=debts, missing_declarations=["2016-02"], rules=RULES
    )
    assert {p.code for p in problems} == {
        "too_long",
        "declarations_missing",
        "employee_share_unpaid",
    }
    assert not rules.examine(
        employer=False, months=12, debts=debts, missing_declarations=[], rules=RULES
    )
    assert [
        p.code
        for p in rules.examine(
            employer=True, months=3, debts=[], missing_declarations=[], rules=RULES
        )
    ] == ["no_debt"]


def test_a_missed_instalment_lapses_after_the_grace_period_whatever_the_day_of_the_run():
    plan = rules.schedule(300_00, 3, date(2016, 3, 10), 15, CAL)
    payments = [(date(2016, 4, 20), 100_00)]
    waiting = rules.follow_up(plan, payments, date(2016, 6, 1), 15)  # last day of grace
    assert waiting == rules.FollowUp({1: date(2016, 4, 20)}, None, None)
    assert rules.follow_up(plan, payments, date(2016, 6, 2), 15).lapsed_on == date(2016, 6, 2)
    late = rules.follow_up(plan, payments, date(2016, 12, 1), 15)
    assert late.lapsed_on == date(2016, 6, 2)  # judged as of the deadline, not the run
    paid = rules.follow_up(plan, [(date(2016, 4, 1), 300_00)], date(2016, 4, 2), 15)
    assert paid.completed_on == date(2016, 4, 1) and len(paid.paid) == 3
