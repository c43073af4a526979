"""The demo's care reminders (issue 18, "Reminders"; docs/care.md): every demo store gets its reminder rules (the
defaults; GZ01 sends the inspection reminder by SMS and gives first maintenance a 21-day lead), the daily job is run
for the last 30 days (so the list has history and the success measure a month), then for today — and GZ01 gets a
few periodic-maintenance reminders due today, each a call task in the queue of `gz_cs` (GZ01's CS specialist), so
the start page's "Reminders due today" is never empty on the demo.

Entry: `demo_care_remind_create(stores=…, seed=…, now=…)`, called by the demo loader after the follow-ups (the CARE
rule) exist.
"""

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from aftercare.care.choices import ReminderAction, ReminderKind, ReminderState
from aftercare.care.models import Reminder, ReminderRule
from aftercare.care.services import remind
from aftercare.customers.models import Ownership
from aftercare.org.calendar import business_date
from aftercare.org.models import Store

HISTORY_DAYS = 30
DUE_TODAY = 6  # GZ01's maintenance reminders due today, at least
SHOWCASE_STORE = "GZ01"


def demo_care_remind_exist(stores: list[Store]) -> bool:
    return ReminderRule.objects.filter(store__in=stores).exists()


def demo_care_remind_create(*, stores: list[Store], seed: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Rules, 30 days of reminders and today's for the demo `stores` (see the module docstring)."""
    today = business_date(now or timezone.now())
    ids = [s.pk for s in stores]
    remind.reminder_rules_ensure(ids)
    showcase = next((s for s in stores if s.code == SHOWCASE_STORE), None)
    if showcase is not None:
        ReminderRule.objects.filter(store=showcase, kind=ReminderKind.INSPECTION).update(action=ReminderAction.SMS)
        ReminderRule.objects.filter(store=showcase, kind=ReminderKind.FIRST_MAINTENANCE).update(lead_days=21)
    made = {"reminders": 0, "calls": 0, "sms": 0}
    for back in range(HISTORY_DAYS, -1, -1):
        for store_id in ids:
            for key, value in remind.reminders_generate(store_id=store_id, today=today - dt.timedelta(days=back)
                                                        ).items():
                made[key] += value
    made["closed"] = _history_called(ids, today, now or timezone.now(), random.Random(f"{seed}:care_remind:calls"))
    if showcase is not None:
        made["calls"] += _due_today(showcase, today, random.Random(f"{seed}:care_remind"))
    return {"care_reminders": made["reminders"], "care_reminder_calls": made["calls"],
            "care_reminder_sms": made["sms"], "care_reminder_calls_made": made["closed"]}


def _history_called(store_ids: list[int], today: dt.date, now: dt.datetime, rng: random.Random) -> int:
    """The reminder calls of the history (made before today) were made by the store's CS specialist, the day after
    they were due to start: each task completed with its one call in the call log, as the call screen records it."""
    from aftercare.followups.choices import CallOutcome, FollowupKind, TaskStatus
    from aftercare.followups.models import CallLog, FollowupTask
    from aftercare.org.calendar import business_day_start
    from aftercare.org.choices import Role
    from aftercare.org.models import Staff

    callers = {}
    for staff in Staff.objects.filter(role=Role.CS_SPECIALIST, stores__in=store_ids).prefetch_related("stores"):
        for store in staff.stores.all():
            callers.setdefault(store.pk, staff.user_id)
    tasks = list(FollowupTask.objects.filter(store_id__in=store_ids, kind=FollowupKind.CARE, status=TaskStatus.OPEN,
                                             event_at__lt=business_day_start(today)))
    calls = []
    for task in tasks:
        user_id = callers.get(task.store_id)
        if user_id is None:
            continue
        at = task.event_at + dt.timedelta(hours=18 + rng.randint(0, 8), minutes=rng.randint(0, 59))
        if at >= now:
            continue  # yesterday's: still in today's queue
        task.status, task.attempts, task.claimed_by_id, task.completed_by_id = TaskStatus.COMPLETED, 1, user_id, user_id
        task.claimed_at, task.completed_at = at - dt.timedelta(minutes=3), at
        calls.append(CallLog(store_id=task.store_id, task=task, customer_id=task.customer_id, handler_id=user_id,
                             called_at=at, duration_s=60 + rng.randint(0, 180), outcome=CallOutcome.COMPLETED))
    with transaction.atomic():
        FollowupTask.objects.bulk_update(
            [t for t in tasks if t.status == TaskStatus.COMPLETED],
            ["status", "attempts", "claimed_by", "completed_by", "claimed_at", "completed_at"], batch_size=1000)
        CallLog.objects.bulk_create(calls, batch_size=1000)
    return len(calls)


def _due_today(store: Store, today: dt.date, rng: random.Random) -> int:
    """Top GZ01 up to `DUE_TODAY` maintenance reminders due today (vehicles of consenting owners with none)."""
    have = Reminder.objects.filter(store=store, due_on=today, state=ReminderState.CALL).count()
    if have >= DUE_TODAY:
        return 0
    rule = remind.reminder_rules_map([store.pk])[store.pk][ReminderKind.MAINTENANCE]
    taken = set(Reminder.objects.filter(store=store, kind=ReminderKind.MAINTENANCE, due_on=today)
                .values_list("vehicle_id", flat=True))
    owners = list(Ownership.objects.filter(store=store, valid_to__isnull=True, customer__consent_service_calls=True)
                  .exclude(vehicle_id__in=taken).order_by("pk").values_list("vehicle_id", "customer_id")[:500])
    picked = rng.sample(owners, min(DUE_TODAY - have, len(owners)))
    with transaction.atomic():
        Reminder.objects.bulk_create([
            Reminder(store=store, customer_id=cid, vehicle_id=vid, kind=ReminderKind.MAINTENANCE, due_on=today,
                     made_on=today - dt.timedelta(days=rule.lead_days), action=ReminderAction.CALL,
                     state=ReminderState.CALL, came_until=today + dt.timedelta(days=rule.came_days))
            for vid, cid in picked
        ], ignore_conflicts=True)
    return remind._calls_make(store.pk)
