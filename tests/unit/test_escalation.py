"""The escalation ladder as data: parsing, the law's order, which step a file takes on which day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from recouvrement.domain import escalation as esc
from recouvrement.domain.escalation import Delay, Reached
from recouvrement.services.escalation import RULES_FILE, load_rules

DUE = date(2024, 2, 15)
RULES = load_rules()
EMPLOYER = RULES.ladder("employer", date(2024, 3, 1))


def test_the_shipped_ladders_follow_the_law_and_cite_their_sources():
    for scheme in ("employer", "self_employed"):
        ladder = RULES.ladder(scheme, date(2024, 1, 1))
        assert [s.code for s in ladder.steps] == [
            "reminder",
            "final_notice",
            "formal_notice",
            "enforcement_order",
            "bailiff_handover",
        ]
        assert esc.check_step_order(ladder) == []
        notice = ladder.step("formal_notice")
        assert notice.pay_within == Delay(months=1)  # R244-1: one month
        assert "R244-1" in notice.source and "L244-2" in notice.source
        order = ladder.step("enforcement_order")
        assert order.opposition_days == 15 and "R133-3" in order.source
        assert notice.interrupts == "formal_notice" and order.interrupts == "enforcement_order"
        assert not ladder.step("bailiff_handover").letter
        assert all(s.source for s in ladder.steps)


def test_one_month_runs_to_the_same_day_or_the_end_of_a_shorter_month():
    assert Delay(months=1).after(date(2024, 3, 19)) == date(2024, 4, 19)
    assert Delay(months=1).after(date(2024, 1, 31)) == date(2024, 2, 29)
    assert Delay(months=1).after(date(2023, 12, 31)) == date(2024, 1, 31)
    assert Delay(days=8).after(date(2024, 2, 23)) == date(2024, 3, 2)


def test_a_file_climbs_one_step_at_a_time_on_the_days_the_delays_give():
    reached, day, days = None, DUE, {}
    while day < date(2024, 7, 1):
        step = esc.next_step(EMPLOYER, DUE, reached, 10_000, day)
        if step is not None:
            days[step.code] = day
            reached = Reached(step.rank, day, esc.pay_by(step, day))
        day += timedelta(days=1)
    assert days == {
        "reminder": date(2024, 2, 23),
        "final_notice": date(2024, 3, 3),
        "formal_notice": date(2024, 3, 19),
        "enforcement_order": date(2024, 4, 20),
        "bailiff_handover": date(2024, 5, 11),
    }


def test_a_paid_file_a_small_balance_or_a_suspended_file_takes_no_step():
    day = date(2024, 3, 1)
    assert esc.next_step(EMPLOYER, DUE, None, 0, day) is None
    assert esc.next_step(EMPLOYER, DUE, None, 1_499, day) is None  # under 15 €
    assert esc.next_step(EMPLOYER, DUE, None, 1_500, day).code == "reminder"
    assert esc.next_step(EMPLOYER, DUE, None, 1_500, day, suspended=True) is None
    last = Reached(5, date(2024, 5, 11), None)
    assert esc.next_step(EMPLOYER, DUE, last, 10_000, date(2025, 1, 1)) is None  # ladder done


def test_a_hold_without_a_period_covers_every_file_one_with_a_period_only_its_own():
    assert esc.suspended([{"kind": "payment_plan", "period": None}], "2024-01", False) == (
        True,
        "payment_plan",
    )
    assert esc.suspended([{"kind": "dispute", "period": "2024-02"}], "2024-01", False) == (
        False,
        None,
    )
    assert esc.suspended([], "2024-01", True) == (True, "complaint")


def test_letter_references_are_deterministic_per_file_and_step():
    notice = EMPLOYER.step("formal_notice")
    assert esc.letter_reference(notice, 42, "2024-01") == "MED-42-2024-01"
    assert esc.letter_reference(EMPLOYER.step("enforcement_order"), 42, "2024-01") == (
        "CTR-42-2024-01"
    )


def _data() -> dict:
    return yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))


def test_a_malformed_ladder_is_refused_with_its_place():
    data = _data()
    data["schemes"]["employer"][0]["steps"][1]["days"] = 0
    with pytest.raises(ValueError, match="délai nul"):
        esc.parse_rules(data)
    data = _data()
    del data["schemes"]["employer"][0]["steps"][2]["source"]
    with pytest.raises(ValueError, match="source manquante"):
        esc.parse_rules(data)
    data = _data()
    data["schemes"]["employer"][0]["steps"][0]["after"] = "previous"
    with pytest.raises(ValueError, match="date d'exigibilité"):
        esc.parse_rules(data)


def test_an_enforcement_order_without_a_formal_notice_breaks_the_law_s_order():
    data = _data()
    steps = data["schemes"]["employer"][0]["steps"]
    data["schemes"]["employer"][0]["steps"] = [s for s in steps if s["code"] != "formal_notice"]
    ladder = esc.parse_rules(data).ladder("employer", date(2024, 1, 1))
    assert [p.code for p in esc.check_step_order(ladder)] == ["order"]


def test_a_date_before_every_version_has_no_ladder():
    with pytest.raises(esc.DomainError):
        RULES.ladder("employer", date(2010, 1, 1))


@given(
    due=st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31)),
    owed=st.integers(min_value=1_500, max_value=10**10),
    gaps=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=30),
)
def test_whatever_days_the_cycle_runs_steps_come_in_order_never_before_their_day(due, owed, gaps):
    """Run on scattered days (a cycle catching up), a file still takes each step in the ladder's
    order, one per day, never before the day the delay gives."""
    reached, day, taken = None, due, []
    for gap in gaps:
        day += timedelta(days=gap)
        step = esc.next_step(EMPLOYER, due, reached, owed, day)
        if step is None:
            continue
        assert esc.due_on(step, due, reached) <= day
        assert not taken or taken[-1][1] < day
        taken.append((step.rank, day))
        reached = Reached(step.rank, day, esc.pay_by(step, day))
    assert [r for r, _ in taken] == list(range(1, len(taken) + 1))
