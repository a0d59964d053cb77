"""What one step of the daily cycle did, shared by every step and by the runner.

A step reports plain numbers so the runner can add them up by kind for the day's summary, the
audit event and the command-line output, without knowing what the step does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Progress = Callable[[int, int], None]
"""Called by a long step as `progress(done, total)` after each batch it commits."""


@dataclass
class StepReport:
    """The outcome of one step for one day.

    Attributes:
        name: the step's name, e.g. ``issue_calls``.
        counts: how many things of each kind the step handled, e.g. ``{"calls_issued": 12}``.
        amounts: sums in cents of each kind, e.g. ``{"surcharges_posted": 12345}``.
    """

    name: str
    counts: dict[str, int] = field(default_factory=dict)
    amounts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int = 1, amount: int | None = None) -> None:
        """Counts `count` more of `kind` and, if given, `amount` more cents of the same kind."""
        self.counts[kind] = self.counts.get(kind, 0) + count
        if amount is not None:
            self.amounts[kind] = self.amounts.get(kind, 0) + amount

    def as_dict(self) -> dict:
        return {"name": self.name, "counts": dict(self.counts), "amounts": dict(self.amounts)}
