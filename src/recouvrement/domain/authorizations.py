"""Authorizations (habilitations) of agents on activities, and the trainings they may depend on.

The regional ISU agreement (art. 3) lets the steering committee decide which trainings and checks
an agent needs before doing material operations for the other organisation, and art. 6 has each
organisation grant the other's agents the authorizations the agreement needs. So a right is not a
role: it is a dated grant on one activity, optionally conditioned on a training that itself expires.

Everything here is pure: the caller passes the grants, the trainings and the date. A refusal is
data (a `Decision` with a `Reason`), so a service can show it, record it and test it.

>>> from datetime import date
>>> grant = Authorization("a.martin", "phone_reminders", "chef", date(2015, 1, 1), None, "isu-1")
>>> done = TrainingRecord("a.martin", "isu-1", date(2014, 12, 1), date(2016, 12, 1))
>>> may_perform([grant], [done], "phone_reminders", date(2016, 6, 1)).allowed
True
>>> may_perform([grant], [done], "phone_reminders", date(2017, 1, 2)).reason
<Reason.TRAINING_EXPIRED: 'training_expired'>
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from recouvrement.domain.errors import Problem

CODE_MAX = 64


class Authorization(NamedTuple):
    """A right of one agent on one activity.

    Attributes:
        agent: login of the agent.
        activity: activity code, as in the agreements (e.g. `phone_reminders`).
        granted_by: login of who granted it (never the agent: four-eyes).
        valid_from: first day the right holds.
        valid_to: last day it holds, or None while open-ended.
        training: code of the training required before using it, or None.
    """

    agent: str
    activity: str
    granted_by: str
    valid_from: date
    valid_to: date | None = None
    training: str | None = None

    def holds_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


class TrainingRecord(NamedTuple):
    """A training an agent completed.

    Attributes:
        agent: login of the agent.
        training: training code decided by the steering committee.
        completed_on: day it was completed; it counts from that day.
        expires_on: last day it counts, or None when it does not expire.
    """

    agent: str
    training: str
    completed_on: date
    expires_on: date | None = None

    def valid_on(self, on: date) -> bool:
        return self.completed_on <= on and (self.expires_on is None or on <= self.expires_on)


class Reason(StrEnum):
    """Why an agent may not perform an activity; the values are the error codes shown."""

    NO_AUTHORIZATION = "no_authorization"
    AUTHORIZATION_NOT_YET = "authorization_not_yet_valid"
    AUTHORIZATION_EXPIRED = "authorization_expired"
    TRAINING_MISSING = "training_missing"
    TRAINING_EXPIRED = "training_expired"
    NOT_REACHABLE = "not_reachable"
    NOT_PARTY = "not_party"
    WRONG_ROLE = "wrong_role"


REASON_TEXT = {
    Reason.NO_AUTHORIZATION: "aucune habilitation sur l'activité « {activity} »",
    Reason.AUTHORIZATION_NOT_YET: (
        "l'habilitation sur l'activité « {activity} » ne commence que le {valid_from}"
    ),
    Reason.AUTHORIZATION_EXPIRED: (
        "l'habilitation sur l'activité « {activity} » a pris fin le {valid_to}"
    ),
    Reason.TRAINING_MISSING: (
        "l'activité « {activity} » exige la formation « {training} », non suivie"
    ),
    Reason.TRAINING_EXPIRED: (
        "la formation « {training} » exigée pour l'activité « {activity} » a expiré le {expired_on}"
    ),
    Reason.NOT_REACHABLE: "ce dossier relève d'un organisme hors de portée de l'agent ({activity})",
    Reason.NOT_PARTY: "l'activité « {activity} » relève de {run_by}, pas de l'organisme {organisation}",
    Reason.WRONG_ROLE: "l'activité « {activity} » relève du rôle {role}",
}


class Decision(NamedTuple):
    """The answer to "may this agent perform this activity on this day?".

    Attributes:
        allowed: True when a grant holds and its training, if any, is valid.
        reason: why not, when refused.
        authorization: the grant that allows it (or the closest one that failed).
        detail: values that fill the French explanation (dates, training code).
    """

    allowed: bool
    reason: Reason | None = None
    authorization: Authorization | None = None
    detail: dict | None = None

    def problem(self) -> Problem | None:
        if self.allowed or self.reason is None:
            return None
        return Problem(
            "activity", REASON_TEXT[self.reason].format(**(self.detail or {})), self.reason
        )


# When several grants fail, the one closest to succeeding explains the refusal best.
_CLOSENESS = {
    Reason.TRAINING_EXPIRED: 4,
    Reason.TRAINING_MISSING: 3,
    Reason.AUTHORIZATION_EXPIRED: 2,
    Reason.AUTHORIZATION_NOT_YET: 1,
}


def _check_one(
    grant: Authorization,
    trainings: list[TrainingRecord],
    on: date,
    training_required: bool,
) -> Decision:
    detail = {
        "activity": grant.activity,
        "valid_from": grant.valid_from.isoformat(),
        "valid_to": grant.valid_to.isoformat() if grant.valid_to else "",
        "training": grant.training or "",
    }
    if on < grant.valid_from:
        return Decision(False, Reason.AUTHORIZATION_NOT_YET, grant, detail)
    if grant.valid_to is not None and on > grant.valid_to:
        return Decision(False, Reason.AUTHORIZATION_EXPIRED, grant, detail)
    if grant.training is None:
        if training_required:
            detail["training"] = "(à désigner par le comité de direction)"
            return Decision(False, Reason.TRAINING_MISSING, grant, detail)
        return Decision(True, None, grant, detail)
    done = [t for t in trainings if t.training == grant.training and t.completed_on <= on]
    if any(t.valid_on(on) for t in done):
        return Decision(True, None, grant, detail)
    if done:
        last = max(t.expires_on for t in done if t.expires_on is not None)
        detail["expired_on"] = last.isoformat()
        return Decision(False, Reason.TRAINING_EXPIRED, grant, detail)
    return Decision(False, Reason.TRAINING_MISSING, grant, detail)


def may_perform(
    authorizations: Iterable[Authorization],
    trainings: Iterable[TrainingRecord],
    activity: str,
    on: date,
    *,
    training_required: bool = False,
) -> Decision:
    """Whether the agent holding these grants and trainings may perform `activity` on `on`.

    `training_required` is the agreement's rule for material operations done for the other party
    (ISU agreement art. 3): then a grant that names no training does not suffice.
    """
    trainings = list(trainings)
    candidates = [a for a in authorizations if a.activity == activity]
    if not candidates:
        return Decision(False, Reason.NO_AUTHORIZATION, None, {"activity": activity})
    decisions = [_check_one(a, trainings, on, training_required) for a in candidates]
    for d in decisions:
        if d.allowed:
            return d
    return max(decisions, key=lambda d: _CLOSENESS[d.reason])


def _code_problems(field: str, value: str | None, required: bool = True) -> list[Problem]:
    if value is None or value == "":
        return [Problem(field, "valeur obligatoire", "required")] if required else []
    if (
        len(value) > CODE_MAX
        or not value.replace("_", "").replace("-", "").replace(".", "").isalnum()
    ):
        return [
            Problem(
                field,
                f"code invalide {value!r} : lettres, chiffres, « _ », « - » ou « . », "
                f"{CODE_MAX} caractères au plus",
                "bad_code",
            )
        ]
    return []


def authorization_problems(grant: Authorization) -> list[Problem]:
    """What is wrong with a grant before it is recorded; an empty list means it may be."""
    problems = _code_problems("activity", grant.activity)
    problems += _code_problems("training", grant.training, required=False)
    if grant.valid_to is not None and grant.valid_to < grant.valid_from:
        problems.append(Problem("valid_to", "la date de fin précède la date de début", "bad_dates"))
    if grant.agent == grant.granted_by:
        problems.append(
            Problem("login", "un agent ne peut pas s'habiliter lui-même", "self_approval")
        )
    return problems


def training_problems(record: TrainingRecord) -> list[Problem]:
    problems = _code_problems("training", record.training)
    if record.expires_on is not None and record.expires_on < record.completed_on:
        problems.append(
            Problem("expires_on", "la date d'expiration précède la date de suivi", "bad_dates")
        )
    return problems
