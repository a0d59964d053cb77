"""The escalation ladder: which step a debt file takes next, and on which day.

A debt file (the unpaid debts of one contributor for one period) climbs a ladder declared as data
per scheme in ``rules/escalation.yaml``: relance amiable → dernier avis avant poursuites → mise en
demeure (CSS L244-2, R244-1: one month to pay) → contrainte (L244-9, R133-3: opposition within
fifteen days) → remise au commissaire de justice. The law fixes the order of the legal steps (no
contrainte without a mise en demeure whose month has run out); the amicable delays are the region's
choice. Pure functions: no I/O, no clock — the day is passed in.

A step is due when its delay, counted from the due date, from the day the previous step was
reached or from the deadline the previous letter gave, has passed; when the file still owes at
least the step's minimum; and when no hold and no open complaint suspends the file. A file held
past the day its next step fell due takes that step on the first day it is free again: escalation
resumes from the step reached, it does not start over.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from recouvrement.domain.errors import DomainError, Problem

ANCHORS = ("due_date", "previous", "previous_deadline")
SCHEMES = ("employer", "self_employed")


@dataclass(frozen=True)
class Delay:
    days: int = 0
    months: int = 0

    def after(self, start: date) -> date:
        """`start` plus the delay; a month runs to the same day of the next month, or to its last
        day when it has none (« un mois » of R244-1: 31 January + 1 month = 28/29 February)."""
        y, m = divmod(start.month - 1 + self.months, 12)
        year, month = start.year + y, m + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return date(year, month, day) + timedelta(days=self.days)

    @property
    def is_zero(self) -> bool:
        return self.days == 0 and self.months == 0


@dataclass(frozen=True)
class Step:
    code: str
    rank: int
    after: str
    delay: Delay
    pay_within: Delay | None
    min_amount: int  # cents
    letter: bool
    interrupts: str | None
    opposition_days: int | None
    source: str

    @property
    def template(self) -> str:
        return self.code


@dataclass(frozen=True)
class Ladder:
    scheme: str
    start: date
    steps: tuple[Step, ...]
    source: str

    def step(self, code: str) -> Step:
        for s in self.steps:
            if s.code == code:
                return s
        raise KeyError(code)

    def following(self, rank: int) -> Step | None:
        """The step after the one of `rank` (0: none reached yet)."""
        return self.steps[rank] if rank < len(self.steps) else None


@dataclass(frozen=True)
class Reached:
    """The last step a file reached: its rank, the day and the deadline its letter gave."""

    rank: int
    reached_on: date
    pay_by: date | None


@dataclass(frozen=True)
class ScoreWeights:
    start: date
    amount: Decimal
    age: Decimal
    history: Decimal
    limitation: Decimal
    amount_scale: int  # cents
    age_scale_days: int
    history_scale: int
    history_months: int
    limitation_horizon_days: int


@dataclass(frozen=True)
class EscalationRules:
    ladders: dict[str, tuple[Ladder, ...]]
    promise_grace: tuple[tuple[date, int], ...]
    score: tuple[ScoreWeights, ...]

    def ladder(self, scheme: str, on: date) -> Ladder:
        """The ladder of `scheme` in force on `on` (the day the next step is taken)."""
        versions = [v for v in self.ladders.get(scheme, ()) if v.start <= on]
        if not versions:
            raise DomainError.single(
                "scheme",
                f"aucune échelle de relance pour le régime {scheme!r} le {on.isoformat()}",
                "no_ladder",
            )
        return versions[-1]

    def grace_days(self, on: date) -> int:
        values = [v for start, v in self.promise_grace if start <= on]
        if not values:
            raise DomainError.single(
                "on", f"aucun délai de grâce en vigueur le {on.isoformat()}", "no_parameter"
            )
        return values[-1]

    def weights(self, on: date) -> ScoreWeights:
        versions = [w for w in self.score if w.start <= on]
        if not versions:
            raise DomainError.single(
                "on", f"aucune pondération du score le {on.isoformat()}", "no_parameter"
            )
        return versions[-1]


def _cents(raw, where: str) -> int:
    value = Decimal(str(raw)) * 100
    if value != value.to_integral_value() or value < 0:
        raise ValueError(f"{where} : montant en euros attendu, au centime : {raw!r}")
    return int(value)


def _delay(raw, where: str) -> Delay:
    if not isinstance(raw, dict) or set(raw) - {"days", "months"}:
        raise ValueError(f"{where} : délai attendu sous la forme {{days: n}} ou {{months: n}}")
    return Delay(int(raw.get("days", 0)), int(raw.get("months", 0)))


def _parse_step(raw: dict, rank: int, where: str) -> Step:
    after = raw.get("after")
    if after not in ANCHORS:
        raise ValueError(f"{where} : « after » parmi {', '.join(ANCHORS)}, pas {after!r}")
    if rank == 1 and after != "due_date":
        raise ValueError(f"{where} : la première étape court de la date d'exigibilité")
    delay = Delay(int(raw.get("days", 0)), int(raw.get("months", 0)))
    if delay.is_zero:
        # a zero delay would let one cycle day climb two steps at once
        raise ValueError(f"{where} : délai nul interdit")
    pay_within = _delay(raw["pay_within"], where) if "pay_within" in raw else None
    if not raw.get("source"):
        raise ValueError(f"{where} : source manquante")
    return Step(
        code=str(raw["code"]),
        rank=rank,
        after=after,
        delay=delay,
        pay_within=pay_within,
        min_amount=_cents(raw.get("min_amount", "0"), where),
        letter=bool(raw.get("letter", True)),
        interrupts=raw.get("interrupts"),
        opposition_days=raw.get("opposition_days"),
        source=str(raw["source"]),
    )


def parse_rules(data: dict, origin: str = "escalation.yaml") -> EscalationRules:
    """The ladders, the promise grace and the score weights of a parsed ``escalation.yaml``;
    a malformed file is refused with the place of the fault."""
    ladders: dict[str, tuple[Ladder, ...]] = {}
    for scheme, versions in (data.get("schemes") or {}).items():
        if scheme not in SCHEMES:
            raise ValueError(f"{origin} : régime inconnu {scheme!r}")
        parsed = []
        for i, version in enumerate(versions):
            where = f"{origin} : {scheme}[{i}]"
            raw_steps = version.get("steps") or []
            steps = []
            for rank, raw in enumerate(raw_steps, 1):
                step = _parse_step(raw, rank, f"{where} étape {rank}")
                if step.after == "previous_deadline" and steps[-1].pay_within is None:
                    raise ValueError(f"{where} étape {rank} : l'étape d'avant ne fixe aucun délai")
                steps.append(step)
            if not steps or not version.get("source"):
                raise ValueError(f"{where} : étapes et source attendues")
            parsed.append(Ladder(scheme, version["from"], tuple(steps), version["source"]))
        ladders[scheme] = tuple(sorted(parsed, key=lambda v: v.start))
    grace = tuple(sorted((v["from"], int(v["value"])) for v in data.get("promise_grace_days", [])))
    score = tuple(
        sorted(
            (
                ScoreWeights(
                    start=v["from"],
                    amount=Decimal(str(v["weights"]["amount"])),
                    age=Decimal(str(v["weights"]["age"])),
                    history=Decimal(str(v["weights"]["history"])),
                    limitation=Decimal(str(v["weights"]["limitation"])),
                    amount_scale=_cents(v["amount_scale"], f"{origin} : debtor_score"),
                    age_scale_days=int(v["age_scale_days"]),
                    history_scale=int(v["history_scale"]),
                    history_months=int(v["history_months"]),
                    limitation_horizon_days=int(v["limitation_horizon_days"]),
                )
                for v in data.get("debtor_score", [])
            ),
            key=lambda w: w.start,
        )
    )
    return EscalationRules(ladders, grace, score)


def due_on(step: Step, due_date: date, reached: Reached | None) -> date:
    """The first day `step` may be taken for a file with this due date and last step."""
    if step.after == "due_date" or reached is None:
        anchor = due_date
    elif step.after == "previous_deadline" and reached.pay_by is not None:
        anchor = reached.pay_by
    else:
        anchor = reached.reached_on
    return step.delay.after(anchor)


def next_step(
    ladder: Ladder,
    due_date: date,
    reached: Reached | None,
    owed: int,
    day: date,
    suspended: bool = False,
) -> Step | None:
    """The step the file takes on `day`, or None: ladder climbed, delay not run, amount under the
    step's minimum (a file paid meanwhile stops), or suspended by a hold or a complaint."""
    step = ladder.following(reached.rank if reached else 0)
    if step is None or suspended or owed <= 0 or owed < step.min_amount:
        return None
    return step if due_on(step, due_date, reached) <= day else None


def pay_by(step: Step, day: date) -> date | None:
    """The payment deadline the letter of `step` sent on `day` gives, if it gives one."""
    return step.pay_within.after(day) if step.pay_within is not None else None


def letter_reference(step: Step, contributor_id: int, period: str) -> str:
    """The reference printed on the letter and stored with it: deterministic from the file and the
    step, so a replay finds the letter already sent (unique per document kind)."""
    prefix = {
        "reminder": "REL",
        "final_notice": "DAP",
        "formal_notice": "MED",
        "enforcement_order": "CTR",
        "bailiff_handover": "CJU",
    }.get(step.code, step.code[:3].upper())
    return f"{prefix}-{contributor_id}-{period}"


def suspended(holds: list[dict], period: str, complaint_open: bool) -> tuple[bool, str | None]:
    """Whether a file is suspended, and by what (a hold's kind or « complaint »): a hold without a
    period covers every file of the contributor."""
    if complaint_open:
        return True, "complaint"
    for hold in holds:
        if hold.get("period") in (None, "", period):
            return True, str(hold["kind"])
    return False, None


def check_step_order(ladder: Ladder) -> list[Problem]:
    """The law's order: no contrainte without a mise en demeure before it (L244-2), and the
    contrainte runs from the mise en demeure's deadline (R133-3)."""
    codes = [s.code for s in ladder.steps]
    problems = []
    if "enforcement_order" in codes:
        i = codes.index("enforcement_order")
        if "formal_notice" not in codes[:i]:
            problems.append(
                Problem("steps", "une contrainte sans mise en demeure avant elle", "order")
            )
        elif codes[i - 1] == "formal_notice" and ladder.steps[i].after != "previous_deadline":
            problems.append(
                Problem(
                    "steps",
                    "la contrainte court de l'échéance de la mise en demeure",
                    "order",
                )
            )
    return problems
