"""The convergence action plan of the Mayotte amendment (art. 5, 6, 8 and 10).

Where the amendment could not yet apply the 2010 convention — monthly transfers (art. 5),
accounting exchanges (art. 6), employment statistics (art. 8), and more generally the standards of
the convention — the central agency commits to an action plan with a calendar, presented by the end
of the first half of 2014, and to report regularly on its progress to Unédic, Pôle emploi and the
AGS (art. 10). The plan is a list of actions with an owner, a due date and a status; the report is
computed from it on a given day, so what was late on a past day can be shown again.

>>> check_transition("planned", "in_progress")
>>> report_of([ActionItem("A1", "transfers", "ACOSS", date(2014, 6, 30), "planned")],
...           on=date(2014, 7, 1), plan_deadline=date(2014, 6, 30), presented_on=None).late
('A1',)
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import NamedTuple

from recouvrement.domain.errors import DomainError

# The subjects the amendment puts under the plan, with the article that does so.
TOPICS = {
    "transfers": "art. 5 : reversement selon les règles de la convention de 2010",
    "accounting_exchanges": "art. 6 : échanges de données comptables (art. 8 de la convention)",
    "statistics": "art. 8 : statistiques d'emploi (art. 17 de la convention)",
    "data_exchanges": "art. 9 : intégration au portail de l'Unédic et de Pôle emploi",
    "convergence": "art. 10 : convergence vers les standards de la convention",
}
STATUS_LABELS = {
    "planned": "prévue",
    "in_progress": "en cours",
    "blocked": "en difficulté",
    "done": "réalisée",
    "abandoned": "abandonnée",
}
# A difficulty is reported, not hidden (art. 10: "informer … de toute difficulté rencontrée").
_NEXT = {
    "planned": {"in_progress", "blocked", "abandoned"},
    "in_progress": {"blocked", "done", "abandoned"},
    "blocked": {"in_progress", "abandoned"},
    "done": set(),
    "abandoned": set(),
}
FINISHED = frozenset({"done", "abandoned"})


class ActionItem(NamedTuple):
    """One action of the plan.

    Attributes:
        code: the plan's own reference ("A1", "STAT-2"…), unique within the agreement.
        topic: one of TOPICS.
        owner: code of the organisation in charge (a party of the agreement).
        due_on: the date the calendar sets.
        status: one of STATUS_LABELS.
        done_on: the day it was done, if it is.
    """

    code: str
    topic: str
    owner: str
    due_on: date
    status: str
    done_on: date | None = None


class PlanReport(NamedTuple):
    """The progress report on a day (art. 10: "rendre régulièrement compte de l'avancement").

    Attributes:
        on: the day of the report.
        by_status: number of actions per status.
        by_topic: per topic, (actions, done).
        late: codes of the actions past their due date and not finished on `on`.
        blocked: codes of the actions in difficulty, to be reported to the funds.
        done_late: codes of the actions done after their due date.
        plan_deadline: the date by which the plan had to be presented.
        presented_on: the day it was presented, if it was.
        plan_late: the plan was not presented by its deadline.
        completion: share of actions done, as a fraction (done, all).
    """

    on: date
    by_status: dict[str, int]
    by_topic: dict[str, tuple[int, int]]
    late: tuple[str, ...]
    blocked: tuple[str, ...]
    done_late: tuple[str, ...]
    plan_deadline: date | None
    presented_on: date | None
    plan_late: bool
    completion: tuple[int, int]


def check_topic(topic: str) -> str:
    if topic not in TOPICS:
        raise DomainError.single(
            "topic", f"thème inconnu {topic!r} (attendu : {', '.join(TOPICS)})", "unknown_topic"
        )
    return topic


def check_transition(current: str, new: str) -> None:
    if new not in STATUS_LABELS:
        raise DomainError.single(
            "status",
            f"état inconnu {new!r} (attendu : {', '.join(STATUS_LABELS)})",
            "unknown_status",
        )
    if new not in _NEXT[current]:
        raise DomainError.single(
            "status",
            f"passage de « {STATUS_LABELS[current]} » à « {STATUS_LABELS[new]} » impossible",
            "bad_transition",
        )


def report_of(
    items: list[ActionItem], *, on: date, plan_deadline: date | None, presented_on: date | None
) -> PlanReport:
    """The report as it stood on `on`; items are given in the state they had that day."""
    by_status = Counter(i.status for i in items)
    by_topic: dict[str, tuple[int, int]] = {}
    for topic in TOPICS:
        mine = [i for i in items if i.topic == topic]
        if mine:
            by_topic[topic] = (len(mine), sum(i.status == "done" for i in mine))
    late = tuple(sorted(i.code for i in items if i.due_on < on and i.status not in FINISHED))
    done_late = tuple(
        sorted(i.code for i in items if i.status == "done" and i.done_on and i.done_on > i.due_on)
    )
    blocked = tuple(sorted(i.code for i in items if i.status == "blocked"))
    plan_late = plan_deadline is not None and (
        (presented_on is None and on > plan_deadline)
        or (presented_on is not None and presented_on > plan_deadline)
    )
    return PlanReport(
        on,
        {s: by_status.get(s, 0) for s in STATUS_LABELS},
        by_topic,
        late,
        blocked,
        done_late,
        plan_deadline,
        presented_on,
        plan_late,
        (by_status.get("done", 0), len(items)),
    )
