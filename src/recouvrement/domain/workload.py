"""Balanced sharing of a queue's workload between the parties' agents.

The ISU agreement puts the shared activities in a joint organisation "dans une logique de partage
équilibré de la charge de travail" (art. 4), with agents drawn in equal numbers from each party
(art. 3). So a new case goes first to the organisation holding the smaller share of the queue's open
cases, then, within it, to the available agent with the fewest open cases of that queue. Ties are
broken by organisation code and agent id, so the same inputs always give the same assignee and
equal loads make the organisations alternate.

>>> team = [Candidate(1, "RSI", 0), Candidate(2, "URSSAF", 0), Candidate(3, "URSSAF", 0)]
>>> Balancer(team).assign(4)
[1, 2, 1, 3]
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from datetime import date
from typing import NamedTuple


class Candidate(NamedTuple):
    """An agent who may be given a case of the queue.

    Attributes:
        agent_id: the agent.
        organisation: code of the agent's organisation (the party whose share it counts in).
        load: the agent's open cases in the queue.
    """

    agent_id: int
    organisation: str
    load: int


class Absence(NamedTuple):
    agent_id: int
    starts_on: date
    ends_on: date


def available(agent_ids: Iterable[int], absences: Iterable[Absence], on: date) -> frozenset[int]:
    """The agents not absent on `on` (an absence covers its first and last day)."""
    away = {a.agent_id for a in absences if a.starts_on <= on <= a.ends_on}
    return frozenset(i for i in agent_ids if i not in away)


def pick(
    candidates: Iterable[Candidate], organisation_loads: Mapping[str, int] | None = None
) -> Candidate | None:
    """The assignee of one new case, or None when nobody is available.

    `organisation_loads` counts the queue's open cases per organisation, including cases held
    by agents who are absent today; it defaults to the sum of the candidates' loads.
    """
    pool = list(candidates)
    if not pool:
        return None
    loads = dict(organisation_loads or {})
    if organisation_loads is None:
        for c in pool:
            loads[c.organisation] = loads.get(c.organisation, 0) + c.load
    organisation = min({c.organisation for c in pool}, key=lambda o: (loads.get(o, 0), o))
    return min(
        (c for c in pool if c.organisation == organisation), key=lambda c: (c.load, c.agent_id)
    )


class Balancer:
    """Assigns many cases in a row with the rule of `pick`, in O(log n) per case (bulk intake)."""

    def __init__(
        self, candidates: Iterable[Candidate], organisation_loads: Mapping[str, int] | None = None
    ):
        self._agents: dict[str, list[tuple[int, int]]] = {}
        self.organisation_loads: dict[str, int] = {}
        for c in candidates:
            self._agents.setdefault(c.organisation, []).append((c.load, c.agent_id))
            self.organisation_loads[c.organisation] = (
                self.organisation_loads.get(c.organisation, 0) + c.load
            )
        if organisation_loads is not None:
            for org in self._agents:
                self.organisation_loads[org] = organisation_loads.get(org, 0)
        for heap in self._agents.values():
            heapq.heapify(heap)
        self._orgs = [(load, org) for org, load in self.organisation_loads.items()]
        heapq.heapify(self._orgs)

    def next(self) -> int | None:
        if not self._orgs:
            return None
        load, org = heapq.heappop(self._orgs)
        heapq.heappush(self._orgs, (load + 1, org))
        self.organisation_loads[org] = load + 1
        agent_load, agent_id = heapq.heappop(self._agents[org])
        heapq.heappush(self._agents[org], (agent_load + 1, agent_id))
        return agent_id

    def assign(self, n: int) -> list[int | None]:
        return [self.next() for _ in range(n)]
