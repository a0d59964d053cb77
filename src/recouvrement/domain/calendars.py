"""Business days (jours ouvrés): Monday to Friday, less the public holidays of the right calendar.

Deadlines of the agreements are counted in business days. Which calendar applies matters: the
CSSM's local deadlines follow Mayotte's holidays (27 April, abolition of slavery), payments between
the central agency's and a fund's accounts follow mainland banking days, and Alsace-Moselle adds
Good Friday and 26 December. The holiday lists come from the `holidays` package.

>>> cal = calendar_for("976")
>>> cal.is_business_day(date(2016, 4, 27))
False
>>> calendar_for("75").is_business_day(date(2016, 4, 27))
True
>>> calendar_for("75").add_business_days(date(2024, 12, 24), 1)
datetime.date(2024, 12, 26)
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
import numpy as np

# Territories whose public holidays differ from the national list (holidays' subdivisions).
_SUBDIVISIONS = {
    "57": "57",
    "67": "6AE",
    "68": "6AE",
    "971": "971",
    "972": "972",
    "973": "973",
    "974": "974",
    "976": "976",
}


class BusinessCalendar:
    """Business days of one calendar.

    Attributes:
        country: ISO country code of the `holidays` package ("FR").
        subdivision: its subdivision ("976" for Mayotte) or None for the national list.
    """

    def __init__(self, country: str = "FR", subdivision: str | None = None):
        self.country = country
        self.subdivision = subdivision
        self._years: dict[int, frozenset[date]] = {}

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.country!r}, {self.subdivision!r})"

    @property
    def name(self) -> str:
        return self.country if self.subdivision is None else f"{self.country}-{self.subdivision}"

    def holidays_of(self, year: int) -> frozenset[date]:
        if year not in self._years:
            self._years[year] = frozenset(
                holidays.country_holidays(self.country, subdiv=self.subdivision, years=year)
            )
        return self._years[year]

    def holiday_name(self, day: date) -> str | None:
        names = holidays.country_holidays(
            self.country, subdiv=self.subdivision, years=day.year, language="fr"
        )
        return names.get(day)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays_of(day.year)

    def previous_or_same(self, day: date) -> date:
        """The day itself if open, else the business day before (e.g. « ou jour ouvré
        précédent en cas de jour fermé »)."""
        while not self.is_business_day(day):
            day -= timedelta(days=1)
        return day

    def next_or_same(self, day: date) -> date:
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def add_business_days(self, day: date, n: int) -> date:
        """The n-th business day after `day` (n > 0) or before it (n < 0); n = 0 is `day`."""
        step = 1 if n >= 0 else -1
        remaining = abs(n)
        while remaining:
            day += timedelta(days=step)
            if self.is_business_day(day):
                remaining -= 1
        return day

    def business_days_between(self, start: date, end: date) -> int:
        """Business days in (start, end]: how many have elapsed since `start`; negative if
        `end` is before `start`."""
        if end < start:
            return -self.business_days_between(end, start)
        years = range(start.year, end.year + 1)
        return int(
            np.busday_count(
                start + timedelta(days=1),
                end + timedelta(days=1),
                holidays=self.holiday_array(years.start, years.stop - 1),
            )
        )

    def holiday_array(self, first_year: int, last_year: int) -> np.ndarray:
        """Holidays as datetime64[D], for NumPy's vectorised busday functions."""
        days = sorted(d for y in range(first_year, last_year + 1) for d in self.holidays_of(y))
        return np.array(days, dtype="datetime64[D]")


@lru_cache(maxsize=64)
def calendar_for(territory: str | None = None) -> BusinessCalendar:
    """The calendar of a department code, or the national one (mainland banking days)."""
    return BusinessCalendar("FR", _SUBDIVISIONS.get(territory or ""))


MAINLAND = calendar_for(None)
