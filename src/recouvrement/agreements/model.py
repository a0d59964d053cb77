"""What an agreement says, as immutable values.

An amendment names the agreement it amends; where both give a setting, the amendment prevails and
the rest of the amended agreement stays in force (Mayotte amendment, art. 12).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

JOINT = "joint"  # an activity run by the joint organisation rather than by one party


@dataclass(frozen=True)
class Party:
    organisation: str
    role: str
    name: str
    representatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class Commitment:
    """A service commitment: a deadline in business days, the event that starts the clock and
    the events that pause it (e.g. waiting for the contributor)."""

    deadline_business_days: int
    start: str
    pauses: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Activity:
    """An activity and who runs it: the joint organisation or one party (its organisation code),
    with an optional role inside that party (e.g. the accounting officer)."""

    code: str
    label: str
    run_by: str
    article: str
    role: str | None = None
    commitment: Commitment | None = None
    note: str = ""


@dataclass(frozen=True)
class Target:
    indicator: str
    label: str
    target: str
    source: str


@dataclass(frozen=True)
class Setting:
    """A named value of an agreement (a schedule rule, a recipient list, a fee rate…)."""

    key: str
    value: object
    source: str


@dataclass(frozen=True)
class Agreement:
    code: str
    title: str
    kind: str  # "agreement" or "amendment"
    text: str  # the source text it follows
    signed_on: date | None
    valid_from: date
    valid_to: date | None
    amends: str | None
    time_zone: str
    parties: tuple[Party, ...]
    activities: tuple[Activity, ...] = ()
    targets: tuple[Target, ...] = ()
    settings: tuple[Setting, ...] = ()
    annexes: dict[str, object] = field(default_factory=dict)

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True)
class ResolvedSetting:
    key: str
    value: object
    source: str
    origin: str  # code of the agreement the value comes from
    overrides: ResolvedSetting | None = None  # the amended agreement's value it replaces


@dataclass(frozen=True)
class ResolvedAgreement:
    """An agreement with what it keeps of the agreements it amends, as in force on a date."""

    agreement: Agreement
    chain: tuple[Agreement, ...]  # the agreement first, then what it amends, outward
    on: date
    settings: dict[str, ResolvedSetting]
    activities: dict[str, tuple[Activity, str]]  # code -> (activity, origin)
    annexes: dict[str, tuple[object, str]]  # name -> (content, origin)

    def setting(self, key: str):
        return self.settings[key].value
