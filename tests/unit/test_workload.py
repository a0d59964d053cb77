"""Balanced assignment: each party's share of a queue stays within one case of the other's."""

from __future__ import annotations

from collections import Counter
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from recouvrement.domain.workload import Absence, Balancer, Candidate, available, pick


def team(n_a: int, n_b: int) -> list[Candidate]:
    return [Candidate(i, "A", 0) for i in range(1, n_a + 1)] + [
        Candidate(100 + i, "B", 0) for i in range(1, n_b + 1)
    ]


@given(st.integers(1, 8), st.integers(1, 8), st.integers(0, 400))
def test_shares_stay_within_one_case_when_everyone_is_available(n_a, n_b, cases):
    candidates = team(n_a, n_b)
    org = {c.agent_id: c.organisation for c in candidates}
    given_to = Balancer(candidates).assign(cases)
    per_org = Counter(org[a] for a in given_to)
    assert abs(per_org["A"] - per_org["B"]) <= 1
    for name in ("A", "B"):
        loads = Counter(a for a in given_to if org[a] == name)
        counts = [loads.get(c.agent_id, 0) for c in candidates if c.organisation == name]
        assert max(counts) - min(counts) <= 1


@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 60))
def test_one_by_one_picks_equal_the_bulk_balancer(n_a, n_b, cases):
    candidates = team(n_a, n_b)
    bulk = Balancer(candidates).assign(cases)
    loads = {c.agent_id: 0 for c in candidates}
    org = {c.agent_id: c.organisation for c in candidates}
    one_by_one = []
    for _ in range(cases):
        per_org = Counter()
        for agent_id, load in loads.items():
            per_org[org[agent_id]] += load
        chosen = pick([Candidate(a, org[a], loads[a]) for a in loads], per_org)
        loads[chosen.agent_id] += 1
        one_by_one.append(chosen.agent_id)
    assert one_by_one == bulk


@given(st.integers(0, 30), st.integers(0, 30), st.integers(1, 60))
def test_the_organisation_behind_catches_up_first(load_a, load_b, cases):
    candidates = [Candidate(1, "A", load_a), Candidate(2, "B", load_b)]
    given_to = Balancer(candidates).assign(cases)
    gap = abs(load_a - load_b)
    behind = 1 if load_a < load_b else 2
    catch_up = min(gap, cases)
    assert given_to[:catch_up] == [behind] * catch_up
    final = Counter(given_to)
    assert abs((load_a + final[1]) - (load_b + final[2])) <= max(gap - cases, 1)


def test_ties_are_broken_by_organisation_code_then_agent_id():
    assert pick([Candidate(9, "B", 0), Candidate(3, "A", 0), Candidate(2, "A", 0)]).agent_id == 2
    assert pick([]) is None


def test_organisation_load_counts_cases_of_absent_agents():
    # A's only present agent has 0 cases but A holds 5 through an absent colleague: B goes first.
    chosen = pick([Candidate(1, "A", 0), Candidate(2, "B", 1)], {"A": 5, "B": 1})
    assert chosen.agent_id == 2


def test_absences_cover_their_first_and_last_day():
    away = [Absence(1, date(2015, 3, 2), date(2015, 3, 6))]
    assert available([1, 2], away, date(2015, 3, 2)) == {2}
    assert available([1, 2], away, date(2015, 3, 6)) == {2}
    assert available([1, 2], away, date(2015, 3, 9)) == {1, 2}


def test_nobody_available_gives_no_assignee():
    assert Balancer([]).assign(2) == [None, None]
