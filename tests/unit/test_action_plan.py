from datetime import date

import pytest

from recouvrement.domain.action_plan import ActionItem, check_topic, check_transition, report_of
from recouvrement.domain.errors import DomainError

DEADLINE = date(2014, 6, 30)


def _item(code, status, due, done_on=None, topic="statistics"):
    return ActionItem(code, topic, "ACOSS", due, status, done_on)


def test_an_action_past_its_due_date_and_not_finished_is_late():
    items = [
        _item("A1", "in_progress", date(2014, 9, 30)),
        _item("A2", "planned", date(2014, 12, 31)),
        _item("A3", "done", date(2014, 9, 30), date(2014, 10, 15)),
        _item("A4", "abandoned", date(2014, 9, 30)),
    ]
    report = report_of(items, on=date(2014, 10, 1), plan_deadline=DEADLINE, presented_on=None)
    assert report.late == ("A1",)
    assert report.done_late == ("A3",)
    assert report.completion == (1, 4)
    assert report.by_topic == {"statistics": (4, 1)}


def test_the_plan_is_late_when_not_presented_by_the_end_of_the_first_half_of_2014():
    on_time = report_of([], on=date(2014, 7, 1), plan_deadline=DEADLINE, presented_on=DEADLINE)
    missing = report_of([], on=date(2014, 7, 1), plan_deadline=DEADLINE, presented_on=None)
    before = report_of([], on=date(2014, 6, 1), plan_deadline=DEADLINE, presented_on=None)
    assert not on_time.plan_late and missing.plan_late and not before.plan_late


def test_difficulties_are_listed_for_the_funds():
    report = report_of(
        [_item("B1", "blocked", date(2015, 1, 1))],
        on=date(2014, 7, 1),
        plan_deadline=DEADLINE,
        presented_on=DEADLINE,
    )
    assert report.blocked == ("B1",)


@pytest.mark.parametrize(("current", "new"), [("done", "in_progress"), ("planned", "done")])
def test_impossible_transitions_are_refused(current, new):
    with pytest.raises(DomainError, match="impossible"):
        check_transition(current, new)


def test_unknown_topics_and_statuses_are_refused():
    with pytest.raises(DomainError, match="thème inconnu"):
        check_topic("weather")
    with pytest.raises(DomainError, match="état inconnu"):
        check_transition("planned", "maybe")
