"""The demo agents' authorizations (habilitations), read off the shipped agreements.

An agreement lists who runs each activity: the joint organisation, one party, or one party's
officer in a named role (the URSSAF's accounting officer disburses refunds, ISU agreement art. 4).
The demo grants each activity to the staff that runs it, so every activity can be tried with a
demo login; directors grant, as personnel acts belong to the agent's own hierarchy (art. 3), and
where the agreement requires a training before operations for the partner (art. 3) the grant names
it and the agent has completed it.

Who counts as "the staff that runs it" is this demo's choice, not the agreements':
- an activity with a role goes to the agents of the running party holding that role;
- a joint activity goes to the joint-unit agents, managers and agents of every party;
- any other activity goes to every agent of the running party but its director, its
  appeals-board member and contributors' logins.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from recouvrement.agreements.model import JOINT, Agreement
from recouvrement.domain.authorizations import Authorization, authorization_problems
from recouvrement.domain.demo_region import DemoAgent
from recouvrement.domain.errors import DomainError

JOINT_ROLES = frozenset({"joint_unit_agent", "manager", "agent"})
PARTY_ROLES = JOINT_ROLES | {"auditor", "accounting_officer"}
# A code the steering committee of the region would decide; the agreement names none.
JOINT_TRAINING = "isu-operations-communes"
TRAINING_SETTING = "operations.training_required"


class DemoGrant(NamedTuple):
    login: str
    activity: str
    agreement: str
    granted_by: str
    valid_from: object
    valid_to: object
    training: str | None


def demo_grants(agents: Iterable[DemoAgent], agreements: Iterable[Agreement]) -> list[DemoGrant]:
    """One grant per (agent, activity) the demo staff runs, in a stable order."""
    agents = list(agents)
    directors = {a.organisation_code: a.login for a in agents if "director" in a.roles}
    grants: list[DemoGrant] = []
    seen: set[tuple[str, str]] = set()
    for agreement in sorted(agreements, key=lambda a: a.code):
        parties = {p.organisation for p in agreement.parties}
        training = JOINT_TRAINING if _setting(agreement, TRAINING_SETTING) is True else None
        for activity in agreement.activities:
            joint = activity.run_by == JOINT
            orgs = parties if joint else {activity.run_by}
            roles = {activity.role} if activity.role else JOINT_ROLES if joint else PARTY_ROLES
            for a in agents:
                if a.organisation_code not in orgs or not roles & set(a.roles):
                    continue
                grantor = directors.get(a.organisation_code)
                if grantor is None or (a.login, activity.code) in seen:
                    continue
                seen.add((a.login, activity.code))
                grants.append(
                    DemoGrant(
                        a.login,
                        activity.code,
                        agreement.code,
                        grantor,
                        agreement.valid_from,
                        agreement.valid_to,
                        training if joint else None,
                    )
                )
    problems = [
        p
        for g in grants
        for p in authorization_problems(
            Authorization(g.login, g.activity, g.granted_by, g.valid_from, g.valid_to, g.training)
        )
    ]
    if problems:
        raise DomainError(*problems)
    return grants


def _setting(agreement: Agreement, key: str):
    return next((s.value for s in agreement.settings if s.key == key), None)


def grant_rows(
    grants: list[DemoGrant], agent_ids: dict[str, int], now: datetime
) -> tuple[list[dict], list[dict]]:
    """Rows of the authorization and training tables for these grants.

    Each agent whose grants name a training has completed it on the first day of their earliest
    such grant, recorded by the same director; it does not expire.
    """
    authorizations = [
        {
            "agent_id": agent_ids[g.login],
            "activity": g.activity,
            "valid_from": g.valid_from,
            "valid_to": g.valid_to,
            "training": g.training,
            "granted_by": g.granted_by,
            "granted_at": now,
        }
        for g in grants
    ]
    completed: dict[tuple[str, str], DemoGrant] = {}
    for g in grants:
        if g.training is None:
            continue
        key = (g.login, g.training)
        if key not in completed or g.valid_from < completed[key].valid_from:
            completed[key] = g
    trainings = [
        {
            "agent_id": agent_ids[login],
            "training": code,
            "completed_on": g.valid_from,
            "expires_on": None,
            "recorded_by": g.granted_by,
            "recorded_at": now,
        }
        for (login, code), g in sorted(completed.items())
    ]
    return authorizations, trainings
