"""The one way a half-open deadline is shown (org/templatetags/business_time.py)."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import translation

from aftercare.org.templatetags.business_time import due_day, due_text

SH = ZoneInfo("Asia/Shanghai")


def test_it_shows_a_midnight_deadline_as_the_end_of_the_day_before():
    deadline = dt.datetime(2026, 12, 8, 0, 0, tzinfo=SH)
    assert due_day(deadline) == dt.date(2026, 12, 7)
    with translation.override("en"):
        assert due_text(deadline) == "by the end of 2026-12-07"
        assert due_text(deadline.astimezone(dt.UTC), "m-d") == "by the end of 12-07"  # stored in UTC
    with translation.override("zh-hans"):
        assert "12-07" in due_text(deadline, "m-d") and "by" not in due_text(deadline, "m-d")


def test_it_shows_another_instant_as_before_that_time():
    with translation.override("en"):
        assert due_text(dt.datetime(2026, 12, 8, 14, 30, tzinfo=SH)) == "before 2026-12-08 14:30"
    assert due_text(None) == "—"
