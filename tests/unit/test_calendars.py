from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from recouvrement.domain.calendars import calendar_for

MAYOTTE = calendar_for("976")
MAINLAND = calendar_for(None)


def test_27_april_is_closed_in_mayotte_only():
    assert not MAYOTTE.is_business_day(date(2015, 4, 27))
    assert MAINLAND.is_business_day(date(2015, 4, 27))


def test_alsace_moselle_has_good_friday():
    assert not calendar_for("57").is_business_day(date(2016, 3, 25))
    assert MAINLAND.is_business_day(date(2016, 3, 25))


def test_previous_business_day_rolls_back_over_weekends_and_holidays():
    assert MAINLAND.previous_or_same(date(2019, 6, 30)) == date(2019, 6, 28)  # Sunday
    assert MAINLAND.previous_or_same(date(2020, 6, 30)) == date(2020, 6, 30)  # Tuesday
    assert MAINLAND.previous_or_same(date(2015, 11, 1)) == date(2015, 10, 30)  # All Saints, Sunday


def test_add_business_days_skips_holidays():
    assert MAINLAND.add_business_days(date(2014, 2, 14), 10) == date(2014, 2, 28)
    assert MAINLAND.add_business_days(date(2016, 4, 29), 1) == date(2016, 5, 2)
    assert MAINLAND.add_business_days(date(2016, 5, 2), -1) == date(2016, 4, 29)


@given(
    st.dates(min_value=date(2013, 1, 1), max_value=date(2040, 12, 31)),
    st.integers(min_value=0, max_value=60),
)
def test_counting_agrees_with_adding(start, n):
    for cal in (MAINLAND, MAYOTTE):
        end = cal.add_business_days(start, n)
        assert cal.business_days_between(start, end) == n
        assert n == 0 or cal.is_business_day(end)
        assert cal.business_days_between(end, start) == -n
        assert (
            all(
                not cal.is_business_day(end - timedelta(days=k))
                for k in range(1, (end - cal.add_business_days(end, -1)).days)
            )
            or n == 0
        )
