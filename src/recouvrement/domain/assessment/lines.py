"""One assessed contribution line, with everything needed to explain it to an agent."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from recouvrement.domain.money import Rounding


@dataclass(frozen=True)
class AssessedLine:
    """A contribution item as computed, and why.

    Attributes:
        item: code of the contribution item ("unemployment_employer", "health"…).
        fund: the fund the money belongs to ("unedic", "ags", "self_employed_scheme"…).
        label: French label for documents and `explain`.
        base: the base in cents after any ceiling or floor.
        ceiling: the ceiling applied to the base, in cents, or None.
        rate: exact rate applied (for progressive items, the effective rate is shown and
            `detail` lists the brackets).
        rounding: the named rounding applied to the amount.
        amount: the result in cents.
        sources: the legal source of every parameter used.
        detail: further French explanation (brackets, exclusions, exemptions).
    """

    item: str
    fund: str
    label: str
    base: int
    ceiling: int | None
    rate: Decimal
    rounding: Rounding
    amount: int
    sources: tuple[str, ...] = field(default_factory=tuple)
    detail: tuple[str, ...] = field(default_factory=tuple)
