import pytest

from recouvrement.domain.actors import (
    Actor,
    Permission,
    Role,
    may_reach_contributor,
    require,
    require_contributor,
    system_actor,
)
from recouvrement.domain.errors import Forbidden

URSSAF, RSI, CSSM = 1, 2, 3
joint_agent = Actor(
    "a",
    URSSAF,
    "URSSAF",
    frozenset({Role.JOINT_UNIT_AGENT}),
    reachable_organisation_ids=frozenset({URSSAF, RSI}),
)
director = Actor(
    "d",
    URSSAF,
    "URSSAF",
    frozenset({Role.DIRECTOR}),
    reachable_organisation_ids=frozenset({URSSAF}),
)
contributor = Actor("c", URSSAF, "URSSAF", frozenset({Role.CONTRIBUTOR}), contributor_id=42)


def test_joint_organisation_agents_reach_the_partner_files_only():
    assert may_reach_contributor(joint_agent, 7, RSI)
    assert not may_reach_contributor(joint_agent, 7, CSSM)


def test_a_contributor_reaches_only_their_own_account():
    assert may_reach_contributor(contributor, 42, URSSAF)
    assert not may_reach_contributor(contributor, 43, URSSAF)
    with pytest.raises(Forbidden):
        require_contributor(contributor, 43, URSSAF)


def test_permissions_follow_roles():
    require(joint_agent, Permission.REGISTRATION_IMPORT)
    with pytest.raises(Forbidden):
        require(director, Permission.REGISTRATION_IMPORT)
    with pytest.raises(Forbidden):
        require(contributor, Permission.CONTRIBUTORS_WRITE)
    require(system_actor(), Permission.LEDGER_POST)
