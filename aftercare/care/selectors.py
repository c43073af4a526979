"""Scoped reads of the care app: every selector takes the acting user and reads only the stores they may see."""


# ---- remind: reminders (issue 18, "Reminders"; docs/care.md) ----
import datetime as _dt  # noqa: E402

from django.db.models import Count, Q, QuerySet  # noqa: E402

from aftercare.org.permissions import Perm, has_perm  # noqa: E402
from aftercare.org.scoping import visible_store_ids  # noqa: E402

from .choices import ReminderState  # noqa: E402
from .models import Reminder, ReminderRule  # noqa: E402

# reminders that reached the customer (a call task made, an SMS sent): what the success rate counts
CONTACTED_STATES = (ReminderState.CALL, ReminderState.SMS_SENT)


def _reminder_store_ids(user, store_ids=None, perm: str = Perm.CARE_WORK) -> frozenset[int]:
    if not (has_perm(user, perm) or has_perm(user, Perm.CARE_MANAGE)):
        return frozenset()
    visible = visible_store_ids(user)
    return visible if store_ids is None else visible & frozenset(store_ids)


def reminder_list(*, user, store_ids=None, due: str = "", kind: str = "", today: _dt.date | None = None
                  ) -> QuerySet[Reminder]:
    """The reminders of the stores in scope with customer, vehicle and task. `due`: "today" (due today),
    "overdue" (due date passed, call still open, or SMS unsent, within the came window), "" (all)."""
    from aftercare.followups.choices import ACTIVE_STATUSES
    from aftercare.org.calendar import business_date

    today = today or business_date()
    qs = Reminder.objects.filter(store_id__in=_reminder_store_ids(user, store_ids)).select_related(
        "customer", "vehicle", "task")
    if due == "today":
        qs = qs.filter(due_on=today)
    elif due == "overdue":
        qs = qs.filter(Q(due_on__lt=today, came_until__gte=today)
                       & (Q(task__status__in=ACTIVE_STATUSES) | Q(state=ReminderState.SMS_PENDING)))
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("due_on", "pk")


def reminder_counts(*, user, store_ids=None, today: _dt.date) -> dict[str, int]:
    """Reminders due today and overdue (as `reminder_list` filters them), in one query."""
    from aftercare.followups.choices import ACTIVE_STATUSES

    overdue = Q(due_on__lt=today, came_until__gte=today) & (
        Q(task__status__in=ACTIVE_STATUSES) | Q(state=ReminderState.SMS_PENDING))
    return Reminder.objects.filter(store_id__in=_reminder_store_ids(user, store_ids)).aggregate(
        today=Count("pk", filter=Q(due_on=today)), overdue=Count("pk", filter=overdue))


def reminder_rule_list(*, user, store_id: int) -> list[ReminderRule]:
    """The store's reminder rules (defaults seeded first), for a user who may see the store."""
    from .services.remind import reminder_rules_map

    if store_id not in _reminder_store_ids(user, perm=Perm.CARE_MANAGE):
        return []
    return sorted(reminder_rules_map([store_id])[store_id].values(), key=lambda r: list(_kind_order()).index(r.kind))


def _kind_order():
    from .choices import ReminderKind

    return ReminderKind.values


def reminder_rule_get(*, user, rule_id: int) -> ReminderRule | None:
    return ReminderRule.objects.filter(pk=rule_id, store_id__in=_reminder_store_ids(user, perm=Perm.CARE_MANAGE)
                                       ).select_related("store").first()


def reminder_success_counts(*, store_ids, since: _dt.date, until: _dt.date) -> dict[int, dict[str, int]]:
    """Per store, the reminders made in `[since, until)` that reached the customer (`contacted`) and of those the
    ones that worked (`worked`): a counted repair order (care/visits.py) of the vehicle — of the customer, for a
    birthday — settled from the day the reminder was made to the end of its came window, or a booking of the
    vehicle made in that window (customers/registry.py). Three queries whatever the size."""
    from aftercare.customers.models import RepairOrder
    from aftercare.customers.registry import bookings_made_at
    from aftercare.org.calendar import business_date, business_day_start

    from .visits import counted

    data = list(Reminder.objects.filter(store_id__in=list(store_ids), made_on__gte=since, made_on__lt=until,
                                        state__in=CONTACTED_STATES)
                .values_list("store_id", "customer_id", "vehicle_id", "made_on", "came_until"))
    if not data:
        return {}
    lo = business_day_start(min(r[3] for r in data))
    hi = business_day_start(max(r[4] for r in data) + _dt.timedelta(days=1))
    vehicles = {r[2] for r in data if r[2] is not None}
    customers = {r[1] for r in data if r[2] is None}
    visits: dict[tuple[str, int], list[_dt.date]] = {}
    orders = counted(RepairOrder.objects.filter(settled_at__gte=lo, settled_at__lt=hi)).filter(
        Q(vehicle_id__in=vehicles) | Q(customer_id__in=customers))
    for vid, cid, at in orders.values_list("vehicle_id", "customer_id", "settled_at"):
        day = business_date(at)
        visits.setdefault(("v", vid), []).append(day)
        visits.setdefault(("c", cid), []).append(day)
    booked = bookings_made_at(vehicles, lo, hi)
    out: dict[int, dict[str, int]] = {}
    for store_id, customer_id, vehicle_id, made_on, came_until in data:
        row = out.setdefault(store_id, {"contacted": 0, "worked": 0})
        row["contacted"] += 1
        days = visits.get(("v", vehicle_id) if vehicle_id else ("c", customer_id), [])
        days = days + [business_date(at) for at in booked.get(vehicle_id, ())] if vehicle_id else days
        if any(made_on <= d <= came_until for d in days):
            row["worked"] += 1
    return out
# ---- end remind ----
