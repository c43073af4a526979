"""`demo_care_remind_create` (aftercare/demo/care_remind.py) on a small store named like the demo's GZ01: rules,
a month of reminders, and at least six call reminders due today for the store's CS specialist; a rerun adds none."""

import datetime as dt

import pytest

from aftercare.care.choices import ReminderAction, ReminderKind, ReminderState
from aftercare.care.models import Reminder, ReminderRule
from aftercare.demo.care_remind import DUE_TODAY, demo_care_remind_create, demo_care_remind_exist
from aftercare.followups.choices import SubjectType
from aftercare.followups.models import FollowupTask
from aftercare.org.calendar import business_date
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db


def test_it_leaves_reminders_due_today_for_the_cs_specialist():
    store = f.StoreFactory(code="GZ01")
    for i in range(12):
        c = f.CustomerFactory(store=store, birthday=None, consent_service_calls=i != 0)
        f.owned_vehicle(c, delivery_date=dt.date(2024, 1, 1) + dt.timedelta(days=40 * i))
    assert not demo_care_remind_exist([store])
    counts = demo_care_remind_create(stores=[store], seed=1)
    today = business_date()
    due = Reminder.objects.filter(store=store, due_on=today, state=ReminderState.CALL)
    assert due.count() >= DUE_TODAY and all(r.task_id for r in due)
    assert FollowupTask.objects.filter(subject_type=SubjectType.CARE_REMINDER).count() == counts["care_reminder_calls"]
    assert ReminderRule.objects.get(store=store, kind=ReminderKind.INSPECTION).action == ReminderAction.SMS
    assert demo_care_remind_exist([store])
    before = Reminder.objects.count()
    demo_care_remind_create(stores=[store], seed=1)
    assert Reminder.objects.count() == before
