"""The weekly cap on calls per customer across every kind of task (`CALLS_WEEKLY_CAP`, default 2; a store may set
its own in `ChannelSettings`). Calls due by a deadline go first: return visits (SSI, CSI, verification …), renewal
contacts and recalls are never postponed. Only care reminders and campaign invitations are, and only these:

for each customer with such a task in today's queue (open, unclaimed, not already put off), the room this week is
the cap minus the outbound calls made to the customer since Monday 00:00 (Asia/Shanghai) minus the customer's other
(deadline) tasks in today's queue; the care and campaign tasks beyond the room (earliest due first kept) are put off
to next Monday (`next_call_at`, which the queue honours; `status_reason` says why). The job `calls_cap_apply` runs
it each morning before the queue is worked; rerunning changes nothing more."""

import datetime as dt
from collections import Counter, defaultdict

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from aftercare.org.calendar import business_date, business_day_start, week_start

from ..choices import CallDirection, FollowupKind, TaskStatus
from ..models import CallLog, FollowupTask
from .outbound import channel_rules

POSTPONABLE_KINDS = (FollowupKind.CARE, FollowupKind.CAMPAIGN)
REASON = "calls_weekly_cap"


def calls_cap_apply(*, store_id: int, now: dt.datetime | None = None) -> int:
    """Put off the store's care and campaign tasks of customers at their weekly call cap; returns how many."""
    now = now or timezone.now()
    cap = channel_rules(store_id).calls_weekly_cap
    start = week_start(now)
    next_week = start + dt.timedelta(days=7)
    tomorrow = business_day_start(business_date(now) + dt.timedelta(days=1))
    queue = FollowupTask.objects.filter(
        store_id=store_id, status=TaskStatus.OPEN, claimed_by__isnull=True
    ).filter(Q(next_call_at__isnull=True) | Q(next_call_at__lt=tomorrow))
    candidates = list(
        queue.filter(kind__in=POSTPONABLE_KINDS)
        .order_by("customer_id", "due_at", "id")
        .values_list("pk", "customer_id")
    )
    if not candidates:
        return 0
    customers = {customer_id for _pk, customer_id in candidates}
    made = dict(
        CallLog.objects.filter(customer_id__in=customers, direction=CallDirection.OUTBOUND, called_at__gte=start,
                               called_at__lt=next_week)
        .values_list("customer_id").annotate(n=Count("id")).values_list("customer_id", "n")
    )
    deadline_due = Counter(
        queue.filter(customer_id__in=customers)
        .exclude(kind__in=POSTPONABLE_KINDS)
        .values_list("customer_id", flat=True)
    )
    by_customer = defaultdict(list)
    for pk, customer_id in candidates:
        by_customer[customer_id].append(pk)
    put_off = []
    for customer_id, pks in by_customer.items():
        room = max(cap - made.get(customer_id, 0) - deadline_due[customer_id], 0)
        put_off.extend(pks[room:])
    if not put_off:
        return 0
    with transaction.atomic():
        return FollowupTask.objects.filter(pk__in=put_off, status=TaskStatus.OPEN, claimed_by__isnull=True).update(
            next_call_at=next_week, status_reason=REASON, updated_at=now
        )
