"""Whether an agent may perform an activity: dated grants, trainings that expire, reasons as data."""

from __future__ import annotations

from datetime import date

import pytest

from recouvrement.domain.authorizations import (
    Authorization,
    Reason,
    TrainingRecord,
    authorization_problems,
    may_perform,
    training_problems,
)

DAY = date(2015, 6, 1)


def grant(activity="phone_reminders", valid_from=date(2015, 1, 1), valid_to=None, training=None):
    return Authorization("a.martin", activity, "chef", valid_from, valid_to, training)


def trained(code="isu-1", completed=date(2014, 12, 1), expires=None):
    return TrainingRecord("a.martin", code, completed, expires)


def test_a_grant_in_force_without_training_allows():
    d = may_perform([grant()], [], "phone_reminders", DAY)
    assert d.allowed and d.reason is None and d.problem() is None


def test_no_grant_on_that_activity_is_refused():
    d = may_perform([grant("complaints")], [], "phone_reminders", DAY)
    assert not d.allowed
    assert d.reason is Reason.NO_AUTHORIZATION
    assert d.problem().code == "no_authorization"
    assert "phone_reminders" in d.problem().reason


def test_a_grant_holds_from_its_first_to_its_last_day_inclusive():
    g = grant(valid_from=date(2015, 1, 1), valid_to=date(2015, 6, 30))
    assert may_perform([g], [], "phone_reminders", date(2015, 1, 1)).allowed
    assert may_perform([g], [], "phone_reminders", date(2015, 6, 30)).allowed
    assert may_perform([g], [], "phone_reminders", date(2014, 12, 31)).reason is (
        Reason.AUTHORIZATION_NOT_YET
    )
    late = may_perform([g], [], "phone_reminders", date(2015, 7, 1))
    assert late.reason is Reason.AUTHORIZATION_EXPIRED
    assert "2015-06-30" in late.problem().reason


def test_a_required_training_not_followed_refuses():
    d = may_perform([grant(training="isu-1")], [trained("other")], "phone_reminders", DAY)
    assert d.reason is Reason.TRAINING_MISSING
    assert "isu-1" in d.problem().reason


def test_a_training_completed_after_the_day_does_not_count_yet():
    d = may_perform(
        [grant(training="isu-1")], [trained(completed=date(2015, 6, 2))], "phone_reminders", DAY
    )
    assert d.reason is Reason.TRAINING_MISSING


def test_an_expired_training_refuses_and_says_when_it_expired():
    d = may_perform(
        [grant(training="isu-1")],
        [trained(expires=date(2015, 5, 31))],
        "phone_reminders",
        DAY,
    )
    assert d.reason is Reason.TRAINING_EXPIRED
    assert "2015-05-31" in d.problem().reason


def test_a_renewed_training_counts_again():
    records = [
        trained(completed=date(2013, 1, 1), expires=date(2014, 12, 31)),
        trained(completed=date(2015, 3, 1), expires=date(2017, 3, 1)),
    ]
    assert may_perform([grant(training="isu-1")], records, "phone_reminders", DAY).allowed


def test_one_valid_grant_among_failing_ones_allows():
    grants = [grant(valid_to=date(2015, 2, 1)), grant(valid_from=date(2015, 5, 1))]
    assert may_perform(grants, [], "phone_reminders", DAY).allowed


def test_the_refusal_names_the_grant_closest_to_succeeding():
    grants = [grant(valid_to=date(2015, 2, 1)), grant(training="isu-1")]
    assert may_perform(grants, [], "phone_reminders", DAY).reason is Reason.TRAINING_MISSING


def test_when_the_agreement_requires_training_a_grant_without_one_is_not_enough():
    d = may_perform([grant()], [], "phone_reminders", DAY, training_required=True)
    assert d.reason is Reason.TRAINING_MISSING
    with_training = grant(training="isu-1")
    assert may_perform(
        [with_training], [trained()], "phone_reminders", DAY, training_required=True
    ).allowed


@pytest.mark.parametrize(
    ("g", "field", "code"),
    [
        (grant(activity=""), "activity", "required"),
        (grant(activity="relances téléphoniques"), "activity", "bad_code"),
        (grant(training="x" * 65), "training", "bad_code"),
        (grant(valid_to=date(2014, 1, 1)), "valid_to", "bad_dates"),
        (Authorization("chef", "phone_reminders", "chef", DAY), "login", "self_approval"),
    ],
)
def test_bad_grants_are_described(g, field, code):
    problems = authorization_problems(g)
    assert [(p.field, p.code) for p in problems] == [(field, code)]


def test_a_good_grant_has_no_problem():
    assert authorization_problems(grant(training="isu-1")) == []


def test_a_training_cannot_expire_before_it_was_followed():
    problems = training_problems(trained(expires=date(2014, 1, 1)))
    assert [p.code for p in problems] == ["bad_dates"]
    assert training_problems(trained(expires=date(2016, 1, 1))) == []
