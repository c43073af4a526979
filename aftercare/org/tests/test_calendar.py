import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from aftercare.org.calendar import (
    add_working_days,
    business_date,
    is_workday,
    week_start,
    working_days_between,
    working_deadline,
)
from aftercare.org.models import WorkCalendarDay

SH = ZoneInfo("Asia/Shanghai")
D = dt.date


def test_it_knows_the_2026_spring_festival(store_a):
    # 2026: holiday 15–23 Feb; Sat 14 Feb and Sat 28 Feb are make-up workdays
    assert is_workday(store_a, D(2026, 2, 14)) is True
    assert all(not is_workday(store_a, D(2026, 2, d)) for d in range(15, 24))
    assert is_workday(store_a, D(2026, 2, 24)) is True
    assert is_workday(store_a, D(2026, 2, 28)) is True
    assert is_workday(store_a, D(2026, 3, 1)) is False  # ordinary Sunday


def test_it_adds_working_days_across_the_holiday(store_a):
    # Fri 13 Feb + 3 working days: Sat 14 (make-up), then Tue 24, Wed 25
    assert add_working_days(store_a, D(2026, 2, 13), 3) == D(2026, 2, 25)
    # from inside the holiday
    assert add_working_days(store_a, D(2026, 2, 18), 1) == D(2026, 2, 24)
    assert add_working_days(store_a, D(2026, 2, 18), 0) == D(2026, 2, 24)
    # Thu 26 Feb + 2: Fri 27, Sat 28 (make-up)
    assert add_working_days(store_a, D(2026, 2, 26), 2) == D(2026, 2, 28)
    assert working_days_between(store_a, D(2026, 2, 13), D(2026, 2, 25)) == 3


def test_it_applies_store_overrides_over_group_ones(store_a, store_b):
    WorkCalendarDay.objects.create(store=None, date=D(2026, 3, 2), is_workday=False, note="group day off")
    WorkCalendarDay.objects.create(store=store_a, date=D(2026, 3, 2), is_workday=True, note="store open")
    assert is_workday(store_a, D(2026, 3, 2)) is True
    assert is_workday(store_b, D(2026, 3, 2)) is False
    assert add_working_days(store_b, D(2026, 2, 27), 2) == D(2026, 3, 3)


def test_it_treats_0030_shanghai_as_the_next_day():
    moment = dt.datetime(2026, 3, 2, 0, 30, tzinfo=SH).astimezone(dt.UTC)
    assert moment.date() == D(2026, 3, 1)  # in UTC it is still the 1st
    assert business_date(moment) == D(2026, 3, 2)


def test_the_week_starts_on_monday_0000_shanghai():
    monday = dt.datetime(2026, 3, 2, 0, 0, tzinfo=SH)
    assert week_start(dt.datetime(2026, 3, 8, 23, 59, tzinfo=SH).astimezone(dt.UTC)) == dt.datetime(
        2026, 3, 2, 0, 0, tzinfo=SH)  # Sunday 23:59 is in the week of Monday the 2nd
    assert week_start(monday.astimezone(dt.UTC)) == monday  # Sunday 16:00 UTC is already Monday in Shanghai
    assert week_start(monday - dt.timedelta(minutes=1)) == monday - dt.timedelta(days=7)


def test_it_gives_a_half_open_deadline_in_utc(store_a):
    moment = dt.datetime(2026, 2, 13, 23, 59, tzinfo=SH)
    deadline = working_deadline(store_a, moment, 3)
    assert deadline == dt.datetime(2026, 2, 26, 0, 0, tzinfo=SH)
    assert deadline.tzinfo == dt.UTC


def test_it_rejects_negative_counts(store_a):
    with pytest.raises(ValueError):
        add_working_days(store_a, D(2026, 1, 5), -1)
