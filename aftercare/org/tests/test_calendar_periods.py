"""Days and months in business time (`org/calendar.py`): half-open UTC ranges that meet at Shanghai midnight."""

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from aftercare.org.calendar import (
    business_date,
    business_day_start,
    day_range,
    month_add,
    month_range,
    month_start,
)

SH = ZoneInfo("Asia/Shanghai")
ONE = dt.timedelta(microseconds=1)
days = st.dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2090, 12, 31))
instants = st.datetimes(
    min_value=dt.datetime(1995, 1, 2), max_value=dt.datetime(2090, 12, 30), timezones=st.just(dt.UTC)
)


@given(days)
def test_it_gives_a_month_as_a_half_open_range_from_shanghai_midnight_to_the_next(day):
    start, end = month_range(day)
    assert start.tzinfo == dt.UTC and end.tzinfo == dt.UTC
    assert start.astimezone(SH).replace(tzinfo=None) == dt.datetime(day.year, day.month, 1)
    assert business_date(start) == day.replace(day=1)
    assert business_date(end - ONE).month == day.month  # the last instant is still in the month …
    assert business_date(end) == month_add(day, 1)  # … and the bound is the next month's first instant
    assert month_range(month_add(day, 1))[0] == end  # consecutive months meet, no gap, no overlap


@given(instants)
def test_it_puts_every_instant_in_exactly_one_month_and_one_day(moment):
    start, end = month_range(moment)
    assert start <= moment < end
    assert month_start(moment) == business_date(moment).replace(day=1)
    day_start, day_end = day_range(business_date(moment), business_date(moment) + dt.timedelta(days=1))
    assert day_start <= moment < day_end
    assert day_start == business_day_start(business_date(moment))


@given(days, st.integers(min_value=-300, max_value=300), st.integers(min_value=-300, max_value=300))
def test_it_adds_months_across_years(day, a, b):
    assert month_add(day, 0) == day.replace(day=1)
    assert month_add(month_add(day, a), b) == month_add(day, a + b)
    months = (month_add(day, a).year - day.year) * 12 + month_add(day, a).month - day.month
    assert months == a


def test_it_turns_december_into_january_of_the_next_year():
    assert month_add(dt.date(2026, 12, 31), 1) == dt.date(2027, 1, 1)
    assert month_add(dt.date(2027, 1, 15), -1) == dt.date(2026, 12, 1)
    start, end = month_range(dt.date(2026, 12, 5))
    assert (start, end) == (dt.datetime(2026, 11, 30, 16, tzinfo=dt.UTC), dt.datetime(2026, 12, 31, 16, tzinfo=dt.UTC))


def test_it_takes_an_instants_month_in_shanghai():
    half_past_midnight = dt.datetime(2026, 4, 1, 0, 30, tzinfo=SH).astimezone(dt.UTC)  # 31 March in UTC
    assert month_start(half_past_midnight) == dt.date(2026, 4, 1)
    assert month_range(half_past_midnight)[0] == dt.datetime(2026, 3, 31, 16, tzinfo=dt.UTC)
    assert month_start(dt.datetime(2026, 3, 31, 23, 0)) == dt.date(2026, 3, 1)  # naive: taken as it is


def test_it_leaves_an_open_end_of_a_day_range_open():
    assert day_range(None, None) == (None, None)
    assert day_range(dt.date(2026, 3, 1), None) == (dt.datetime(2026, 2, 28, 16, tzinfo=dt.UTC), None)
    assert day_range(None, dt.date(2026, 3, 2)) == (None, dt.datetime(2026, 3, 1, 16, tzinfo=dt.UTC))
