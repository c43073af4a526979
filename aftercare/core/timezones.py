"""The business time zone (Asia/Shanghai by default), in which dates, slots and deadlines are reasoned."""

from zoneinfo import ZoneInfo

from django.conf import settings


def business_tz() -> ZoneInfo:
    """`settings.BUSINESS_TIME_ZONE` as a zone, read on each call so that a test's override is followed
    (`ZoneInfo` keeps one instance per key, so this costs a dictionary look-up)."""
    return ZoneInfo(settings.BUSINESS_TIME_ZONE)
