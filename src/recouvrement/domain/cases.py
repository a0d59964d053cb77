"""Cases (dossiers): one mechanism for every kind of work item, driven by a transition table.

Each case type's state machine is data: `TRANSITIONS` maps (type, state, action) to a `Rule` saying
where the case goes, who may do it, whether the service-commitment clock pauses or resumes, whether
the case closes, which fields the action needs and whether it opens another case. Nothing else
decides what may happen to a case, so a new type is a few rows, not new code.

The service-commitment clock counts business days of the owner's calendar (ISU agreement art. 5:
commitments are followed by the operations committee). While the case waits for the contributor the
clock stops, if the activity's commitment lists that pause; the business days in (pause, resume]
are added to the due date, so the reply day itself does not count against the agent.

>>> rule_for(CaseType.COMPLAINT, "received", "qualify").to_state
'qualified'
>>> sorted(allowed_actions(CaseType.ANOMALY, "new"))
['dismiss', 'resolve', 'start']
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from recouvrement.agreements.model import JOINT, ResolvedAgreement
from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.calendars import BusinessCalendar
from recouvrement.domain.errors import DomainError, Problem


class CaseType(StrEnum):
    RECEPTION_VISIT = "reception_visit"
    COMPLAINT = "complaint"
    REGISTRATION_REJECT = "registration_reject"
    ENTITLEMENT_REJECT = "entitlement_reject"
    ANOMALY = "anomaly"
    NATIONAL_REFERRAL = "national_referral"
    REFUND = "refund"
    UNMATCHED_RECEIPT = "unmatched_receipt"
    SURCHARGE_REMISSION = "surcharge_remission"
    WRITE_OFF = "write_off"
    PAYMENT_PLAN = "payment_plan"
    AUDIT_PLAN = "audit_plan"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class Authority(StrEnum):
    """Who may fire a transition: an agent authorized on the activity (and, once the case is
    assigned, its assignee or a manager), a manager, or a director of a party."""

    WORKER = "worker"
    MANAGER = "manager"
    DIRECTOR = "director"


class Channel(StrEnum):
    """How a complaint came in (accueil, téléphone, courrier, portail)."""

    DESK = "desk"
    PHONE = "phone"
    MAIL = "mail"
    PORTAL = "portal"


WAITING = "waiting_for_contributor"  # the pause event named in the agreements' commitments


class Rule(NamedTuple):
    """What one action does to a case.

    Attributes:
        to_state: the state after the action.
        authority: who may fire it.
        pauses: the case starts waiting for the contributor (the clock stops if the commitment
            lists that pause).
        resumes: the wait is over; the paused business days extend the due date.
        closes: the case is finished; its clock stops for good.
        needs: fields the action must be given (kept in the case's payload).
        opens: a case type opened by the action (a desk visit becoming a complaint).
        joint_signoff: the action completes only once a director of each party has signed.
    """

    to_state: str
    authority: Authority
    pauses: bool = False
    resumes: bool = False
    closes: bool = False
    needs: tuple[str, ...] = ()
    opens: CaseType | None = None
    joint_signoff: bool = False


W, M, D = Authority.WORKER, Authority.MANAGER, Authority.DIRECTOR
_T, _C, _V = CaseType, CaseType.COMPLAINT, CaseType.RECEPTION_VISIT


def _reject_flow(t: CaseType) -> list[tuple]:
    """Registration and entitlement flow rejects are worked alike (ISU agreement art. 4)."""
    return [
        (t, "received", "start", Rule("in_progress", W)),
        (t, "received", "correct", Rule("corrected", W, closes=True, needs=("resolution",))),
        (t, "in_progress", "ask_contributor", Rule(WAITING, W, pauses=True)),
        (t, WAITING, "contributor_replied", Rule("in_progress", W, resumes=True)),
        (t, WAITING, "dismiss", Rule("dismissed", W, resumes=True, closes=True, needs=("reason",))),
        (t, "in_progress", "correct", Rule("corrected", W, closes=True, needs=("resolution",))),
        (t, "in_progress", "dismiss", Rule("dismissed", W, closes=True, needs=("reason",))),
    ]


_ROWS: list[tuple] = [
    # Accueil physique: who came, to which desk, about what; the outcome, or a complaint opened.
    (_V, "in_progress", "conclude", Rule("concluded", W, closes=True, needs=("outcome",))),
    (_V, "in_progress", "open_complaint", Rule("referred", W, closes=True, opens=_C)),
    # Réclamations: reception, qualification, answer, closure (art. 4 « Gestion des réclamations »).
    (_C, "received", "qualify", Rule("qualified", W, needs=("qualification",))),
    (_C, "received", "withdraw", Rule("withdrawn", W, closes=True, needs=("reason",))),
    (_C, "qualified", "ask_contributor", Rule(WAITING, W, pauses=True)),
    (_C, WAITING, "contributor_replied", Rule("qualified", W, resumes=True)),
    (_C, "qualified", "answer", Rule("answered", W, needs=("answer",))),
    (_C, "answered", "close", Rule("closed", W, closes=True)),
    (_C, "answered", "reopen", Rule("qualified", M, needs=("reason",))),
    *_reject_flow(_T.REGISTRATION_REJECT),
    *_reject_flow(_T.ENTITLEMENT_REJECT),
    # Listes d'anomalies: no pause in the commitment, so no waiting state.
    (_T.ANOMALY, "new", "start", Rule("in_progress", W)),
    (_T.ANOMALY, "new", "resolve", Rule("resolved", W, closes=True, needs=("resolution",))),
    (_T.ANOMALY, "new", "dismiss", Rule("dismissed", W, closes=True, needs=("reason",))),
    (_T.ANOMALY, "in_progress", "resolve", Rule("resolved", W, closes=True, needs=("resolution",))),
    (_T.ANOMALY, "in_progress", "dismiss", Rule("dismissed", W, closes=True, needs=("reason",))),
    # Saisine des caisses nationales (art. 7): joint, by the regional directors, after the
    # steering committee has been informed.
    (
        _T.NATIONAL_REFERRAL,
        "draft",
        "submit",
        Rule("awaiting_signoffs", W, needs=("committee_informed_on",)),
    ),
    (_T.NATIONAL_REFERRAL, "draft", "abandon", Rule("abandoned", W, closes=True)),
    (_T.NATIONAL_REFERRAL, "awaiting_signoffs", "sign_off", Rule("sent", D, joint_signoff=True)),
    (_T.NATIONAL_REFERRAL, "awaiting_signoffs", "decline", Rule("draft", D, needs=("reason",))),
    (
        _T.NATIONAL_REFERRAL,
        "sent",
        "record_reply",
        Rule("closed", W, closes=True, needs=("reply",)),
    ),
    # Remboursement d'un crédit (art. 4 « Gestion du compte cotisant »): prepared by the joint
    # organisation; check, approval and disbursement go through services/refunds.py only (they
    # post to the ledger and move the case to the accounting officer's activity), so they are not
    # rows here.
    (_T.REFUND, "requested", "ask_contributor", Rule(WAITING, W, pauses=True)),
    (_T.REFUND, WAITING, "contributor_replied", Rule("requested", W, resumes=True)),
    (_T.REFUND, "requested", "reject", Rule("rejected", W, closes=True, needs=("reason",))),
    # Encaissement non affecté (file d'attente) : a receipt in suspense. Matching it to an account
    # posts to the ledger, so it goes through services/receipts.py only (state "matched"); the
    # case also closes when the bank returns the receipt (a direct-debit reject).
    (_T.UNMATCHED_RECEIPT, "received", "start", Rule("in_progress", W)),
    *(
        (
            _T.UNMATCHED_RECEIPT,
            state,
            "close_returned",
            Rule("returned", W, closes=True, needs=("return_receipt_id",)),
        )
        for state in ("received", "in_progress")
    ),
    # Remise de majorations and admission en non-valeur: every step decides on money (a remission
    # posts a reversing entry, a write-off its posting) and needs a role (director, appeals board,
    # accounting officer), so they go through services/remission.py and services/write_offs.py
    # only; a request may wait for the contributor's documents.
    (_T.SURCHARGE_REMISSION, "requested", "ask_contributor", Rule(WAITING, W, pauses=True)),
    (_T.SURCHARGE_REMISSION, WAITING, "contributor_replied", Rule("requested", W, resumes=True)),
    *(
        (
            _T.SURCHARGE_REMISSION,
            state,
            "withdraw",
            Rule("withdrawn", W, closes=True, needs=("reason",)),
        )
        for state in ("requested", WAITING)
    ),
    (_T.WRITE_OFF, "proposed", "withdraw", Rule("withdrawn", W, closes=True, needs=("reason",))),
    # Demande de délai (art. 4 « Recouvrement amiable »): examination, grant (schedule, hold on
    # escalation) and refusal go through services/payment_plans.py only; here, the wait for a
    # document the contributor must send.
    (_T.PAYMENT_PLAN, "requested", "ask_contributor", Rule(WAITING, W, pauses=True)),
    (_T.PAYMENT_PLAN, WAITING, "contributor_replied", Rule("requested", W, resumes=True)),
    *(
        (_T.PAYMENT_PLAN, state, "withdraw", Rule("withdrawn", W, closes=True, needs=("reason",)))
        for state in ("requested", WAITING)
    ),
    # Plan de contrôle (art. 4 « Contrôle des cotisants »): built jointly, approved by a director
    # of each party; its audits are carried out through services/audit_plan.py.
    (_T.AUDIT_PLAN, "draft", "submit", Rule("awaiting_signoffs", W)),
    (_T.AUDIT_PLAN, "draft", "abandon", Rule("abandoned", W, closes=True, needs=("reason",))),
    (
        _T.AUDIT_PLAN,
        "awaiting_signoffs",
        "sign_off",
        Rule("approved", D, closes=True, joint_signoff=True),
    ),
    (_T.AUDIT_PLAN, "awaiting_signoffs", "decline", Rule("draft", D, needs=("reason",))),
]

TRANSITIONS: dict[tuple[CaseType, str, str], Rule] = {(t, s, a): r for t, s, a, r in _ROWS}

INITIAL_STATE = {
    CaseType.RECEPTION_VISIT: "in_progress",
    CaseType.COMPLAINT: "received",
    CaseType.REGISTRATION_REJECT: "received",
    CaseType.ENTITLEMENT_REJECT: "received",
    CaseType.ANOMALY: "new",
    CaseType.NATIONAL_REFERRAL: "draft",
    CaseType.REFUND: "requested",
    CaseType.UNMATCHED_RECEIPT: "received",
    CaseType.SURCHARGE_REMISSION: "requested",
    CaseType.WRITE_OFF: "proposed",
    CaseType.PAYMENT_PLAN: "requested",
    CaseType.AUDIT_PLAN: "draft",
}

# The agreement activity (ISU agreement art. 4 and 7) each case type belongs to.
ACTIVITY = {
    CaseType.RECEPTION_VISIT: "reception_desk",
    CaseType.COMPLAINT: "complaints",
    CaseType.REGISTRATION_REJECT: "registration_flow_rejects",
    CaseType.ENTITLEMENT_REJECT: "entitlement_flow_rejects",
    CaseType.ANOMALY: "anomaly_lists",
    CaseType.NATIONAL_REFERRAL: "national_referral",
    CaseType.REFUND: "credits_refunds",  # then refund_disbursement once checked
    CaseType.UNMATCHED_RECEIPT: "credits_refunds",
    CaseType.SURCHARGE_REMISSION: "surcharge_remission_requests",
    CaseType.WRITE_OFF: "write_offs",
    CaseType.PAYMENT_PLAN: "payment_plan_requests",
    CaseType.AUDIT_PLAN: "audit_plan_definition",
}

# Fields a case must be opened with.
OPENING_FIELDS = {
    CaseType.RECEPTION_VISIT: ("desk", "visitor", "topic"),
    CaseType.COMPLAINT: ("channel", "subject"),
    CaseType.REGISTRATION_REJECT: ("reason",),
    CaseType.ENTITLEMENT_REJECT: ("reason",),
    CaseType.ANOMALY: ("list", "anomaly"),
    CaseType.NATIONAL_REFERRAL: ("subject",),
    CaseType.REFUND: ("amount", "iban"),
    CaseType.UNMATCHED_RECEIPT: ("receipt_id", "reason"),
    CaseType.SURCHARGE_REMISSION: ("request_id",),
    CaseType.WRITE_OFF: ("write_off_id", "grounds"),
    CaseType.PAYMENT_PLAN: ("months",),
    CaseType.AUDIT_PLAN: ("year",),
}

ASSIGNABLE_ROLES = frozenset({Role.AGENT, Role.JOINT_UNIT_AGENT})
# The agent who receives a visitor at the desk works the visit; other cases go to the queue.
ASSIGNED_TO_OPENER = frozenset({CaseType.RECEPTION_VISIT})

_AUTHORITY_LABEL = {
    Authority.WORKER: "un agent habilité sur l'activité",
    Authority.MANAGER: "un responsable d'une des parties",
    Authority.DIRECTOR: "un directeur d'une des parties",
}


def parse_case_type(value: str, field: str = "case_type") -> CaseType:
    try:
        return CaseType(value)
    except ValueError:
        known = ", ".join(t.value for t in CaseType)
        raise DomainError.single(
            field, f"type de dossier inconnu : {value!r} (connus : {known})", "unknown_case_type"
        ) from None


def parse_priority(value: str) -> Priority:
    try:
        return Priority(value)
    except ValueError:
        known = ", ".join(p.value for p in Priority)
        raise DomainError.single(
            "priority", f"priorité inconnue : {value!r} (connues : {known})", "unknown_priority"
        ) from None


def allowed_actions(case_type: CaseType, state: str) -> list[str]:
    return [a for (t, s, a) in TRANSITIONS if t == case_type and s == state]


def rule_for(case_type: CaseType, state: str, action: str) -> Rule:
    """The rule of an action, or an error listing what the case's state allows."""
    rule = TRANSITIONS.get((case_type, state, action))
    if rule is None:
        allowed = ", ".join(allowed_actions(case_type, state)) or "aucune (dossier clos)"
        raise DomainError.single(
            "action",
            f"transition inconnue : « {action} » depuis l'état « {state} » d'un dossier "
            f"{case_type.value} (possibles : {allowed})",
            "unknown_transition",
        )
    return rule


def missing_fields(required: tuple[str, ...], data: Mapping[str, object]) -> list[Problem]:
    return [
        Problem(f"data.{name}", f"champ « {name} » obligatoire pour cette action", "required")
        for name in required
        if data.get(name) in (None, "")
    ]


def opening_problems(
    case_type: CaseType, payload: Mapping[str, object], desks: Mapping[str, object]
) -> list[Problem]:
    """What is wrong with a new case's payload: its required fields, a desk that is not in the
    agreement's annex list (art. 4 « Accueil physique »), a complaint channel that is unknown."""
    problems = [
        Problem(f"payload.{p.field.removeprefix('data.')}", p.reason, p.code)
        for p in missing_fields(OPENING_FIELDS[case_type], payload)
    ]
    desk = payload.get("desk")
    if case_type is CaseType.RECEPTION_VISIT and desk and desk not in desks:
        known = ", ".join(sorted(desks)) or "aucun"
        problems.append(
            Problem(
                "payload.desk",
                f"accueil inconnu : {desk!r} (liste de l'annexe : {known})",
                "unknown_desk",
            )
        )
    channel = payload.get("channel")
    if case_type is CaseType.COMPLAINT and channel:
        try:
            Channel(str(channel))
        except ValueError:
            known = ", ".join(c.value for c in Channel)
            problems.append(
                Problem(
                    "payload.channel",
                    f"canal inconnu : {channel!r} (connus : {known})",
                    "unknown_channel",
                )
            )
    return problems


# ---------------------------------------------------------------------------------------------
# Who may act


def activity_organisations(agreement: ResolvedAgreement, activity_code: str) -> tuple[str, ...]:
    """Organisation codes whose agents run an activity: both parties for a joint one."""
    activity, _origin = agreement.activities[activity_code]
    if activity.run_by == JOINT:
        return tuple(sorted(p.organisation for p in agreement.agreement.parties))
    return (activity.run_by,)


def takes_queue_work(actor: Actor, activity_code: str, agreement: ResolvedAgreement) -> bool:
    """Whether the queue may give this person cases of the activity, once their authorization on
    it holds (services.authorizations decides that): an agent, not a manager (managers distribute
    the work) nor the system; for an activity reserved to a role (the URSSAF's accounting officer
    for disbursements), whoever holds it."""
    if actor.is_system or actor.is_contributor:
        return False
    activity, _origin = agreement.activities[activity_code]
    if activity.role:
        return True
    return bool(actor.roles & ASSIGNABLE_ROLES)


def pause_counts(agreement: ResolvedAgreement, activity_code: str, state: str) -> bool:
    """Whether waiting in `state` stops the clock: only if the activity's commitment lists it."""
    activity, _origin = agreement.activities[activity_code]
    return activity.commitment is not None and state in activity.commitment.pauses


def commitment_days(agreement: ResolvedAgreement, activity_code: str) -> int | None:
    activity, _origin = agreement.activities[activity_code]
    return activity.commitment.deadline_business_days if activity.commitment else None


def authority_problem(
    actor: Actor,
    authority: Authority,
    agreement: ResolvedAgreement,
    assignee_login: str | None,
    activity_refusal: Problem | None = None,
) -> Problem | None:
    """Why the actor may not fire a transition of this authority, or None.

    A worker's transition needs an authorization on the case's activity (habilitation, with its
    training when the agreement wants one, ISU agreement art. 3 and 6): the caller decides it on
    the date of the act and passes the refusal, if any. Managers and directors act as the
    hierarchy of a party, by role.
    """
    if actor.is_system:
        return None
    parties = {p.organisation for p in agreement.agreement.parties}
    in_party = actor.organisation_code in parties
    if authority is Authority.WORKER:
        if activity_refusal is not None:
            return activity_refusal
        if assignee_login and assignee_login != actor.login and Role.MANAGER not in actor.roles:
            return Problem(
                "action",
                f"dossier attribué à {assignee_login} : seul l'attributaire ou un responsable "
                "peut le faire avancer",
                "not_assignee",
            )
        return None
    role = Role.MANAGER if authority is Authority.MANAGER else Role.DIRECTOR
    if in_party and role in actor.roles:
        return None
    return Problem("action", f"action réservée à {_AUTHORITY_LABEL[authority]}", "not_authorized")


def signoff_problem(
    signoffs: Mapping[str, str], actor: Actor, parties: tuple[str, ...]
) -> Problem | None:
    """A joint sign-off needs one director of each party, two different people. That none of
    them is the person who submitted the request is the four-eyes rule (domain/four_eyes.py)."""
    party = actor.organisation_code
    if party not in parties:
        return Problem("action", "le signataire doit être directeur d'une des parties", "not_party")
    if actor.login in signoffs.values():
        return Problem("action", f"{actor.login} a déjà signé cette saisine", "already_signed")
    if party in signoffs:
        return Problem(
            "action",
            f"le directeur de {party} a déjà signé ({signoffs[party]}) : la signature du "
            "directeur de l'autre partie est attendue",
            "party_already_signed",
        )
    return None


def signoffs_complete(signoffs: Mapping[str, str], parties: tuple[str, ...]) -> bool:
    return all(p in signoffs for p in parties) and len(set(signoffs.values())) == len(parties)


# ---------------------------------------------------------------------------------------------
# The service-commitment clock


def due_date(calendar: BusinessCalendar, start: date, business_days: int | None) -> date | None:
    """The commitment's due date: `business_days` business days after the start event."""
    if business_days is None:
        return None
    return calendar.add_business_days(start, business_days)


def pause_length(calendar: BusinessCalendar, paused_since: date, resumed_on: date) -> int:
    """Business days the clock stood still: those in (paused_since, resumed_on]."""
    return max(0, calendar.business_days_between(paused_since, resumed_on))


def extended_due(calendar: BusinessCalendar, due_on: date | None, paused_days: int) -> date | None:
    if due_on is None or paused_days <= 0:
        return due_on
    return calendar.add_business_days(due_on, paused_days)


def time_left(
    calendar: BusinessCalendar,
    due_on: date | None,
    on: date,
    paused_since: date | None = None,
    closed: bool = False,
) -> int | None:
    """Business days left before the due date as seen on `on` (negative once overdue).

    While the clock is paused it stands at the pause day; a closed case or one without a
    commitment has no time left to show.
    """
    if due_on is None or closed:
        return None
    frozen_on = paused_since if paused_since is not None and paused_since < on else on
    return calendar.business_days_between(frozen_on, due_on)


def is_breached(
    due_on: date | None, on: date, paused_since: date | None = None, closed: bool = False
) -> bool:
    """Overdue on `on`: the due date has passed while the clock was running."""
    if due_on is None or closed or due_on >= on:
        return False
    return paused_since is None or paused_since > due_on
