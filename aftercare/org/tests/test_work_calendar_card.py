"""The group admin is warned on the start page when the coming months' statutory holidays are unknown to
`chinese-calendar` (it knew the years up to 2026 when this was written) and the group has entered none."""

import datetime as dt
from unittest import mock

import pytest
import time_machine
from django.test import Client

from aftercare.org import calendar
from aftercare.org.calendar import statutory_years_unknown
from aftercare.org.choices import Role
from aftercare.org.models import WorkCalendarDay

pytestmark = pytest.mark.django_db


def _library_knows_up_to(last_year: int):
    real = calendar.chinese_calendar.is_workday

    def is_workday(day):
        if day.year > last_year:
            raise NotImplementedError(f"no available data for year {day.year}")
        try:
            return real(day)
        except NotImplementedError:  # a later release would know it
            return day.weekday() < 5

    return mock.patch.object(calendar.chinese_calendar, "is_workday", is_workday)


def test_it_names_the_years_ahead_the_library_does_not_know():
    with _library_knows_up_to(2026):
        assert statutory_years_unknown(dt.date(2026, 9, 1)) == []  # 90 days ahead is still 2026
        assert statutory_years_unknown(dt.date(2026, 12, 6)) == [2027]
    with _library_knows_up_to(2027):
        assert statutory_years_unknown(dt.date(2026, 12, 6)) == []


def test_it_stops_warning_once_the_group_entered_the_year():
    WorkCalendarDay.objects.create(store=None, date=dt.date(2027, 2, 8), is_workday=False, note="春节")
    with _library_knows_up_to(2026):
        assert statutory_years_unknown(dt.date(2026, 12, 6)) == []


@time_machine.travel(dt.datetime(2026, 12, 6, 2, tzinfo=dt.UTC), tick=False)
def test_it_shows_the_group_admin_a_card_linking_to_the_overrides(users):
    with _library_knows_up_to(2026):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(users[Role.GROUP_ADMIN])
        html = client.get("/today/").content.decode()
        assert 'id="card-orgwork_calendar"' in html and "2027" in html
        assert "/admin/org/workcalendarday/" in html
        client.force_login(users[Role.CS_SPECIALIST])
        assert 'id="card-orgwork_calendar"' not in client.get("/today/").content.decode()
    client.force_login(users[Role.GROUP_ADMIN])
    with _library_knows_up_to(2030):
        assert 'id="card-orgwork_calendar"' not in client.get("/today/").content.decode()
