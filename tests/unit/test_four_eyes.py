"""The four-eyes rule and sign-offs by two people of two named organisations."""

from __future__ import annotations

import pytest

from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.errors import Forbidden
from recouvrement.domain.four_eyes import (
    Signature,
    joint_signoff_problems,
    require_different_people,
    require_joint_signoff,
)


def actor(login, org="URSSAF-RA"):
    return Actor(login, 1, org, frozenset({Role.AGENT}))


def test_two_different_people_pass():
    require_different_people(actor("a.martin"), actor("b.durand"))
    require_different_people("a.martin", actor("b.durand"))


@pytest.mark.parametrize("approver", ["a.martin", " A.Martin ", actor("a.martin", "RSI-RA")])
def test_the_preparer_cannot_approve(approver):
    with pytest.raises(Forbidden) as exc:
        require_different_people(actor("a.martin"), approver)
    assert exc.value.problems[0].code == "self_approval"
    assert exc.value.problems[0].field == "approver"


DIRECTORS = ("URSSAF-RA", "RSI-RA")


def test_one_director_of_each_organisation_signs_the_national_referral():
    sigs = [
        Signature("dir.urssaf", "URSSAF-RA", "director"),
        Signature("dir.rsi", "RSI-RA", "director"),
    ]
    assert joint_signoff_problems(sigs, DIRECTORS, "director") == []
    require_joint_signoff(sigs, DIRECTORS, "director")


def test_a_missing_organisation_is_named():
    sigs = [Signature("dir.urssaf", "URSSAF-RA", "director")]
    problems = joint_signoff_problems(sigs, DIRECTORS, "director")
    assert [p.code for p in problems] == ["missing_signature"]
    assert "RSI-RA" in problems[0].reason


def test_a_signature_in_another_role_does_not_count():
    sigs = [
        Signature("dir.urssaf", "URSSAF-RA", "director"),
        Signature("ag.rsi", "RSI-RA", "agent"),
    ]
    with pytest.raises(Forbidden) as exc:
        require_joint_signoff(sigs, DIRECTORS, "director")
    assert [p.code for p in exc.value.problems] == ["missing_signature"]


def test_the_same_person_signing_twice_is_self_approval():
    sigs = [Signature("x", "URSSAF-RA"), Signature("X", "RSI-RA")]
    problems = joint_signoff_problems(sigs, DIRECTORS)
    assert [p.code for p in problems] == ["self_approval"]


def test_signature_of_an_actor_takes_their_home_organisation():
    assert Signature.of(actor("dir", "RSI-RA"), "director") == Signature(
        "dir", "RSI-RA", "director"
    )
