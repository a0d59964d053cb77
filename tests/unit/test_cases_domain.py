"""The case rules without a database: the transition table, who may act, the clock."""

from __future__ import annotations

from datetime import date

import pytest

from recouvrement.agreements.loader import shipped_agreements
from recouvrement.domain import cases as rules
from recouvrement.domain.actors import Actor, Role, system_actor
from recouvrement.domain.calendars import calendar_for
from recouvrement.domain.cases import Authority, CaseType
from recouvrement.domain.errors import DomainError, Problem

ISU = shipped_agreements().resolve("isu-region", date(2015, 3, 2))
MAINLAND = calendar_for(None)
MAYOTTE = calendar_for("976")


def person(login, org, *roles):
    return Actor(login, 1, org, frozenset(Role(r) for r in roles))


def test_every_case_type_has_an_initial_state_an_activity_and_a_way_to_close():
    for t in CaseType:
        assert rules.ACTIVITY[t] in ISU.activities
        assert rules.allowed_actions(t, rules.INITIAL_STATE[t])
        assert any(r.closes for (tt, _, _), r in rules.TRANSITIONS.items() if tt == t)


def test_every_state_reached_is_either_closed_or_has_a_way_out():
    for (t, _state, _action), rule in rules.TRANSITIONS.items():
        assert rule.closes or rules.allowed_actions(t, rule.to_state), (t, rule.to_state)


def test_unknown_transition_lists_the_possible_ones():
    with pytest.raises(DomainError) as err:
        rules.rule_for(CaseType.COMPLAINT, "received", "close")
    problem = err.value.problems[0]
    assert problem.code == "unknown_transition"
    assert "qualify" in problem.reason and "withdraw" in problem.reason
    with pytest.raises(DomainError) as err:
        rules.rule_for(CaseType.COMPLAINT, "closed", "reopen")
    assert "aucune" in err.value.problems[0].reason


def test_pauses_only_count_where_the_commitment_lists_them():
    assert rules.pause_counts(ISU, "complaints", rules.WAITING)
    assert not rules.pause_counts(ISU, "anomaly_lists", rules.WAITING)
    assert not rules.pause_counts(ISU, "national_referral", rules.WAITING)


def test_opening_needs_its_fields_a_known_desk_and_channel():
    desks = {"DESK-LYON": {}}
    assert (
        rules.opening_problems(
            CaseType.RECEPTION_VISIT, {"desk": "DESK-LYON", "visitor": "A", "topic": "B"}, desks
        )
        == []
    )
    problems = rules.opening_problems(CaseType.RECEPTION_VISIT, {"desk": "DESK-X"}, desks)
    assert {p.field for p in problems} == {"payload.visitor", "payload.topic", "payload.desk"}
    [bad] = rules.opening_problems(CaseType.COMPLAINT, {"channel": "fax", "subject": "s"}, {})
    assert bad.code == "unknown_channel" and "portal" in bad.reason


def test_the_queue_gives_cases_to_agents_not_to_managers_nor_the_system():
    # Whether their authorization holds is decided by services.authorizations on the day.
    for login, org, role, takes in (
        ("a", "URSSAF-RA", "joint_unit_agent", True),
        ("b", "RSI-RA", "agent", True),
        ("c", "RSI-RA", "manager", False),
        ("d", "RSI-RA", "director", False),
        ("f", "URSSAF-RA", "contributor", False),
    ):
        assert rules.takes_queue_work(person(login, org, role), "complaints", ISU) is takes, login
    assert not rules.takes_queue_work(system_actor(), "complaints", ISU)


def test_an_activity_reserved_to_a_role_goes_to_its_holder():
    officer = person("ac", "URSSAF-RA", "accounting_officer")
    assert rules.takes_queue_work(officer, "refund_disbursement", ISU)


def test_assigned_cases_move_by_their_assignee_or_a_manager():
    agent = person("a", "RSI-RA", "agent")
    assert rules.authority_problem(agent, Authority.WORKER, ISU, "a") is None
    assert rules.authority_problem(agent, Authority.WORKER, ISU, None) is None
    other = rules.authority_problem(agent, Authority.WORKER, ISU, "b")
    assert other.code == "not_assignee"
    manager = person("m", "URSSAF-RA", "manager")
    assert rules.authority_problem(manager, Authority.WORKER, ISU, "b") is None
    director = rules.authority_problem(agent, Authority.DIRECTOR, ISU, None)
    assert director.code == "not_authorized"


def test_a_worker_without_a_valid_authorization_is_refused_before_anything_else():
    expired = Problem("activity", "la formation a expiré", "training_expired")
    agent = person("a", "RSI-RA", "agent")
    assert rules.authority_problem(agent, Authority.WORKER, ISU, "b", expired) is expired
    assert rules.authority_problem(agent, Authority.WORKER, ISU, "a", expired) is expired
    assert rules.authority_problem(system_actor(), Authority.WORKER, ISU, "a", expired) is None


PARTIES = ("RSI-RA", "URSSAF-RA")


def test_joint_signoff_needs_two_directors_of_different_parties():
    d1 = person("d1", "URSSAF-RA", "director")
    d1_bis = person("d1bis", "URSSAF-RA", "director")
    d2 = person("d2", "RSI-RA", "director")
    assert rules.signoff_problem({}, d1, PARTIES) is None
    signed = {"URSSAF-RA": "d1"}
    assert rules.signoff_problem(signed, d1, PARTIES).code == "already_signed"
    assert rules.signoff_problem(signed, d1_bis, PARTIES).code == "party_already_signed"
    assert not rules.signoffs_complete(signed, PARTIES)
    assert rules.signoff_problem(signed, d2, PARTIES) is None
    assert rules.signoffs_complete({**signed, "RSI-RA": "d2"}, PARTIES)
    outsider = person("d3", "CSSM", "director")
    assert rules.signoff_problem({}, outsider, PARTIES).code == "not_party"


def test_due_date_counts_business_days_of_the_owners_calendar():
    # 2015-04-24 is a Friday; 27 April is a holiday in Mayotte only.
    assert rules.due_date(MAINLAND, date(2015, 4, 24), 1) == date(2015, 4, 27)
    assert rules.due_date(MAYOTTE, date(2015, 4, 24), 1) == date(2015, 4, 28)
    assert rules.due_date(MAINLAND, date(2015, 4, 24), None) is None


def test_a_pause_adds_the_business_days_in_between():
    # Paused Friday 24 April, resumed Tuesday 28: Mon 27 and Tue 28 (Mon 27 is closed in Mayotte).
    assert rules.pause_length(MAINLAND, date(2015, 4, 24), date(2015, 4, 28)) == 2
    assert rules.pause_length(MAYOTTE, date(2015, 4, 24), date(2015, 4, 28)) == 1
    assert rules.pause_length(MAINLAND, date(2015, 4, 24), date(2015, 4, 24)) == 0
    assert rules.extended_due(MAINLAND, date(2015, 5, 4), 2) == date(2015, 5, 6)
    assert rules.extended_due(MAINLAND, None, 2) is None


def test_time_left_runs_stops_while_paused_and_goes_negative():
    due = date(2015, 3, 23)
    assert rules.time_left(MAINLAND, due, date(2015, 3, 20)) == 1
    assert rules.time_left(MAINLAND, due, due) == 0
    assert rules.time_left(MAINLAND, due, date(2015, 3, 25)) == -2
    paused = date(2015, 3, 16)
    assert rules.time_left(MAINLAND, due, date(2015, 4, 30), paused) == 5
    assert rules.time_left(MAINLAND, due, date(2015, 3, 25), closed=True) is None


def test_breach_only_while_the_clock_runs():
    due = date(2015, 3, 23)
    assert not rules.is_breached(due, due)
    assert rules.is_breached(due, date(2015, 3, 24))
    assert not rules.is_breached(due, date(2015, 3, 24), paused_since=date(2015, 3, 20))
    assert rules.is_breached(due, date(2015, 3, 30), paused_since=date(2015, 3, 25))
    assert not rules.is_breached(due, date(2015, 3, 24), closed=True)
    assert not rules.is_breached(None, date(2015, 3, 24))
