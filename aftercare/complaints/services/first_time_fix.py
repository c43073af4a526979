"""First-time fix: repeat repairs of the same fault within the store's window, and a CS call per comeback.

Definitions in docs/kpis.md ("Complaints and first-time fix"); the rate is
`aftercare.complaints.selectors.first_time_fix_rate`; run daily by `manage.py repeat_repairs_detect`
(Django Task `repeat_repairs_detect_daily`) and after each repair-order import (`complaints.signals`).
"""

import datetime as dt
import unicodedata
from collections import defaultdict

from django.db import models, transaction
from django.utils import timezone

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.models import RepairOrder
from aftercare.customers.validators import clean_text
from aftercare.followups.services.generation import TaskSubject, followup_task_create
from aftercare.followups.services.rules import followup_rule_get
from aftercare.org.calendar import business_date, business_day_start
from aftercare.org.models import Store

from ..models import RepeatRepair
from ..selectors import FIRST_TIME_FIX_KINDS, repeat_repair_window_map

FAULT_KEY_MAX_LENGTH = 200
# The daily run looks at repeats settled in the last `window + REPEAT_REPAIR_LOOKBACK_DAYS` days (late imports).
REPEAT_REPAIR_LOOKBACK_DAYS = 14
FTF_RULE_CODE = "FTF"


def fault_key(description: str | None) -> str:
    """The normalised fault of a repair order: NFKC, lower case, without whitespace, punctuation (Chinese too)
    and control characters, cut to 200 characters. '' (an empty description) never matches anything."""
    text = clean_text(description).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC")[:FAULT_KEY_MAX_LENGTH]


def repeat_repair_pairs(
    rows, *, window_days: int, since_at: dt.datetime
) -> list[tuple[int, int, int, int, str, dt.datetime]]:
    """Pair repair orders: (original id, repeat id, vehicle id, customer id of the repeat, fault key, repeat time).

    `rows` are (id, vehicle_id, customer_id, settled_at, fault_description) of one store. A repeat is settled at or
    after `since_at`; its original is the most recent order of the same vehicle and fault key settled strictly
    earlier, at most `window_days` Shanghai calendar days before it (same day = 0 days). Pure; no queries.
    """
    groups: dict[tuple[int, str], list[tuple[dt.datetime, int, int]]] = defaultdict(list)
    for ro_id, vehicle_id, customer_id, settled_at, description in rows:
        key = fault_key(description)
        if key:
            groups[(vehicle_id, key)].append((settled_at, ro_id, customer_id))
    pairs = []
    window = dt.timedelta(days=window_days)
    for (vehicle_id, key), items in groups.items():
        items.sort()
        for i, (settled_at, ro_id, customer_id) in enumerate(items):
            if settled_at < since_at:
                continue
            j = i - 1
            while j >= 0 and items[j][0] >= settled_at:  # the same instant is the same visit, not a comeback
                j -= 1
            if j < 0:
                continue
            original_at, original_id, _customer = items[j]
            if business_date(settled_at) - business_date(original_at) <= window:
                pairs.append((original_id, ro_id, vehicle_id, customer_id, key, settled_at))
    return pairs


def _repeat_repair_tasks_create(store, new: list[tuple], *, now: dt.datetime) -> int:
    """A CS follow-up call (store rule FTF) per repeat order of `new` pairs; subject = the repeat order.

    Customers who refused service calls get the task in status `no_consent`, like every other follow-up.
    Links the pairs to their task. Returns how many tasks were created.
    """
    from aftercare.followups.choices import SubjectType
    from aftercare.followups.models import FollowupTask

    rule = followup_rule_get(store=store, code=FTF_RULE_CODE)
    if rule is None or not rule.is_active:
        return 0
    repeats = {}
    for _original, repeat_id, vehicle_id, customer_id, _key, settled_at in new:
        repeats[repeat_id] = TaskSubject(SubjectType.REPEAT_REPAIR, repeat_id, customer_id, vehicle_id, settled_at)
    made = followup_task_create(actor=None, rule=rule, subjects=[repeats[k] for k in sorted(repeats)])
    task_id = FollowupTask.objects.filter(
        rule=rule, subject_type=SubjectType.REPEAT_REPAIR, subject_id=models.OuterRef("repeat_id")
    ).values("pk")[:1]
    RepeatRepair.objects.filter(store=store, followup_task__isnull=True, repeat_id__in=list(repeats)).update(
        followup_task=models.Subquery(task_id), updated_at=now
    )
    return len(made)


def _repeat_repairs_detect_store(store, *, window_days: int, since: dt.date | None, now: dt.datetime) -> int:
    since = since or business_date(now) - dt.timedelta(days=window_days + REPEAT_REPAIR_LOOKBACK_DAYS)
    since_at = business_day_start(since)
    if since_at >= now:
        return 0
    orders = RepairOrder.objects.filter(
        store=store,
        kind__in=FIRST_TIME_FIX_KINDS,
        settled_at__gte=business_day_start(since - dt.timedelta(days=window_days)),
        settled_at__lt=now,
    ).exclude(fault_description="")
    # only vehicles with a counting order in [since, now) and at least two in the examined range
    vehicles = (
        orders.values("vehicle_id")
        .annotate(n=models.Count("id"), recent=models.Count("id", filter=models.Q(settled_at__gte=since_at)))
        .filter(n__gte=2, recent__gte=1)
        .values("vehicle_id")
    )
    rows = orders.filter(vehicle_id__in=vehicles).values_list(
        "id", "vehicle_id", "customer_id", "settled_at", "fault_description"
    )
    pairs = repeat_repair_pairs(rows, window_days=window_days, since_at=since_at)
    if not pairs:
        return 0
    with transaction.atomic():
        known = set(
            RepeatRepair.objects.filter(store=store, repeat__settled_at__gte=since_at).values_list(
                "original_id", "repeat_id"
            )
        )
        new = [p for p in pairs if (p[0], p[1]) not in known]
        if not new:
            return 0
        RepeatRepair.objects.bulk_create(
            [
                RepeatRepair(
                    store=store,
                    original_id=original_id,
                    repeat_id=repeat_id,
                    vehicle_id=vehicle_id,
                    customer_id=customer_id,
                    fault_key=key,
                )
                for original_id, repeat_id, vehicle_id, customer_id, key, _at in new
            ],
            ignore_conflicts=True,  # ON CONFLICT DO NOTHING on (original, repeat)
        )
        tasks = _repeat_repair_tasks_create(store, new, now=now)
        audit_event_record(
            actor=None,
            action=AuditAction.CREATE,
            object_type=RepeatRepair._meta.label_lower,
            store_id=store.pk,
            detail={"detected": len(new), "tasks": tasks, "since": since.isoformat()},
        )
    return len(new)


def repeat_repairs_detect(
    *, store_id: int | None = None, since: dt.date | None = None, now: dt.datetime | None = None
) -> int:
    """Find repeat repairs of the same fault (first-time fix) and give each comeback a CS follow-up call.

    Examines repair orders of the counting kinds (`FIRST_TIME_FIX_KINDS`) settled in `[since, now)` (Shanghai
    days; default the last window + 14 days) and pairs each with the most recent earlier order of the same
    vehicle, store and fault key within the store's window (`ComplaintSettings.repeat_repair_window_days`).
    New pairs become `RepeatRepair` rows; each new repeat order gets one task of the store's FTF rule
    (subject_type `repeat_repair`, subject_id = the repeat order). One transaction per store, a handful of
    queries per store; reruns (also after a crash) create nothing twice. Returns the number of new pairs.
    """
    now = now or timezone.now()
    stores = Store.objects.order_by("pk")
    if store_id is not None:
        stores = stores.filter(pk=store_id)
    stores = list(stores)
    windows = repeat_repair_window_map(store_ids=[s.pk for s in stores])
    return sum(
        _repeat_repairs_detect_store(store, window_days=windows[store.pk], since=since, now=now) for store in stores
    )
