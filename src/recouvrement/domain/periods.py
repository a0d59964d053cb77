"""Periods a debt belongs to: a month, a quarter or a year, written "2014-03", "2014-Q1", "2014".

A period is a value type so that ordering (oldest first, for allocation) and bounds are exact.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from recouvrement.domain.errors import DomainError


class Granularity(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


_PATTERNS = (
    (re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"), Granularity.MONTH),
    (re.compile(r"^(\d{4})-Q([1-4])$"), Granularity.QUARTER),
    (re.compile(r"^(\d{4})$"), Granularity.YEAR),
)


@dataclass(frozen=True, order=True)
class Period:
    """A contribution period.

    >>> Period.parse("2014-03").end
    datetime.date(2014, 3, 31)
    >>> str(Period.parse("2014-Q2").start)
    '2014-04-01'
    """

    start: date
    end: date
    granularity: Granularity

    @classmethod
    def parse(cls, text: str, field: str = "period") -> Period:
        text = (text or "").strip()
        for pattern, gran in _PATTERNS:
            m = pattern.match(text)
            if not m:
                continue
            year = int(m.group(1))
            if gran is Granularity.MONTH:
                return cls.month(year, int(m.group(2)))
            if gran is Granularity.QUARTER:
                return cls.quarter(year, int(m.group(2)))
            return cls.year(year)
        raise DomainError.single(
            field,
            f"période invalide {text!r} (attendu AAAA-MM, AAAA-Tn écrit AAAA-Qn, ou AAAA)",
            "bad_period",
        )

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        last = calendar.monthrange(year, month)[1]
        return cls(date(year, month, 1), date(year, month, last), Granularity.MONTH)

    @classmethod
    def quarter(cls, year: int, q: int) -> Period:
        first = 3 * (q - 1) + 1
        last_month = first + 2
        return cls(
            date(year, first, 1),
            date(year, last_month, calendar.monthrange(year, last_month)[1]),
            Granularity.QUARTER,
        )

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31), Granularity.YEAR)

    def __str__(self) -> str:
        if self.granularity is Granularity.MONTH:
            return f"{self.start.year:04d}-{self.start.month:02d}"
        if self.granularity is Granularity.QUARTER:
            return f"{self.start.year:04d}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year:04d}"
