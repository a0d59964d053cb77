"""Errors are data that name the field and the rule broken, so every adapter can show them as is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input.

    Attributes:
        field: the input field at fault (dotted path), or "" for the whole input.
        reason: a French sentence for the agent, naming the rule.
        code: a stable machine-readable code.
    """

    field: str
    reason: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason, "code": self.code}


class DomainError(ValueError):
    """Raised when an input breaks a rule; carries one or more problems."""

    def __init__(self, *problems: Problem):
        self.problems = tuple(problems)
        super().__init__(
            "; ".join(f"{p.field}: {p.reason}" if p.field else p.reason for p in problems)
        )

    @classmethod
    def single(cls, field: str, reason: str, code: str = "invalid") -> DomainError:
        return cls(Problem(field, reason, code))


class NotFound(DomainError):
    """The object asked for does not exist (or the actor may not know it exists)."""


class Forbidden(DomainError):
    """The actor is not authorized for this action on this object."""


class Conflict(DomainError):
    """The request contradicts what is already recorded (e.g. a reused idempotency key)."""
