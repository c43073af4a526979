"""Two past care campaigns of each demo store, with results (issue 18, "Campaigns"; seed 000 p21): the throttle
cleaning (清洗节气门, a week two months ago) and the free testing week (免费检测周, a week five months ago).

`demo_care_campaigns_create(stores=, seed=)` runs after the follow-ups and the repair-order history (`seed_demo`).
Each campaign targets `TARGETS` customers of the store with marketing consent and a current vehicle — half of them
customers whose counted repair order falls in the event's week (so "came" and revenue come from the history as it
is: no repair order is added), half others —, loyal-first waves as a launch makes them, one invitation call each
(the store's CAMPAIGN rule, closed: completed or unreachable), and the outcomes a specialist recorded (about 75 %
reached, of whom 55 % accepted). Deterministic for a seed and a day; a few hundred rows, well under a second.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from aftercare.care.choices import CampaignPurpose, CampaignState, CustomerClass, DeclineReason, TargetState
from aftercare.care.models import Campaign, CampaignTarget
from aftercare.care.visits import counted
from aftercare.customers.models import Ownership, RepairOrder
from aftercare.demo.customers import FastRandom
from aftercare.followups.choices import SubjectType, TaskStatus, Trigger
from aftercare.followups.models import FollowupTask
from aftercare.followups.services.generation import TaskSubject, followup_task_create
from aftercare.followups.services.rules import followup_rule_get
from aftercare.org.calendar import business_date, business_day_start
from aftercare.org.choices import Role
from aftercare.org.models import Staff, Store

TARGETS = 40
# (name, what it offers, weeks before today the event starts)
CAMPAIGNS = (
    ("清洗节气门", "老客户免费清洗节气门，工时费全免", 9),
    ("免费检测周", "全车免费检测 30 项，检测后维修工时八折", 22),
)
REACH, ACCEPT = 0.75, 0.55


def demo_care_campaigns_exist(stores: list[Store]) -> bool:
    return Campaign.objects.filter(store__in=stores).exists()


def demo_care_campaigns_create(*, stores: list[Store], seed: int, now: dt.datetime | None = None) -> dict[str, int]:
    """The two past campaigns of every store in `stores` (module docstring). Returns counts."""
    now = now or timezone.now()
    today = business_date(now)
    made = {"campaigns": 0, "campaign_targets": 0}
    with transaction.atomic():
        for store in stores:
            rng = FastRandom(f"{seed}:care_campaigns:{store.code}")
            callers = list(Staff.objects.filter(stores=store, role__in=[Role.CS_SPECIALIST, Role.CS_MANAGER])
                           .order_by("user_id").values_list("user_id", flat=True))
            rule = followup_rule_get(store=store, trigger=Trigger.CAMPAIGN_INVITATION)
            for name, offer, weeks in CAMPAIGNS:
                start = today - dt.timedelta(weeks=weeks)
                end = start + dt.timedelta(days=6)
                n = _campaign(store, rng, rule, callers, name, offer, start, end, now)
                made["campaigns"] += 1
                made["campaign_targets"] += n
    return made


def _campaign(store, rng, rule, callers, name, offer, start, end, now) -> int:
    window = counted(RepairOrder.objects.filter(
        customer_id=OuterRef("customer_id"), settled_at__gte=business_day_start(start),
        settled_at__lt=business_day_start(end + dt.timedelta(days=1))))
    owned = (Ownership.objects.filter(store=store, valid_to__isnull=True, customer__consent_marketing=True,
                                      customer__is_active=True)
             .annotate(came=Exists(window)).order_by("customer_id", "vehicle_id")
             .values_list("customer_id", "vehicle_id", "came", "customer__care_profile__customer_class"))
    came, other, seen = [], [], set()
    for customer_id, vehicle_id, in_window, klass in owned[:4000]:
        if customer_id in seen:
            continue
        seen.add(customer_id)
        (came if in_window else other).append((customer_id, vehicle_id, klass or CustomerClass.NEW))
    rng.shuffle(came)
    rng.shuffle(other)
    chosen = came[: TARGETS // 2] + other[: TARGETS - min(len(came), TARGETS // 2)]
    calls_start = start - dt.timedelta(days=14)
    campaign = Campaign.objects.create(
        store=store, name=name, description=offer, purpose=CampaignPurpose.MARKETING, event_start=start,
        event_end=end, segment={}, channels=["call", "sms"], sms_text=f"{name}：{offer}",
        state=CampaignState.LAUNCHED, launched_at=business_day_start(calls_start - dt.timedelta(days=1)),
    )
    campaign.stores.set([store])
    # loyal customers first, as a launch makes them (the demo's classes may not be computed yet: a first wave of
    # one in three then)
    targets = CampaignTarget.objects.bulk_create([
        CampaignTarget(store=store, campaign=campaign, customer_id=c, vehicle_id=v, class_at_launch=k,
                       wave=1 if (k == CustomerClass.LOYAL or (k == CustomerClass.NEW and i % 3 == 0)) else 2)
        for i, (c, v, k) in enumerate(chosen)
    ])
    starts = {1: business_day_start(calls_start), 2: business_day_start(calls_start + dt.timedelta(days=3))}
    tasks = followup_task_create(actor=None, rule=rule, subjects=[
        TaskSubject(SubjectType.CAMPAIGN_TARGET, t.pk, t.customer_id, t.vehicle_id, starts[t.wave]) for t in targets
    ], detail={"campaign": campaign.pk, "demo": True})
    task_of = {t.subject_id: t for t in tasks}
    reasons = DeclineReason.values
    for t in targets:
        task = task_of.get(t.pk)
        t.task = task
        if task is None:
            continue
        at = task.event_at + dt.timedelta(hours=2 + rng.randint(0, 40))
        if rng.random() < REACH:
            t.reached, t.outcome_at = True, at
            t.outcome_by_id = rng.choice(callers) if callers else None
            if rng.random() < ACCEPT:
                t.state, t.letter_needed = TargetState.INVITED, rng.random() < 0.5
            else:
                t.state, t.decline_reason = TargetState.DECLINED, rng.choice(reasons)
            task.status, task.completed_at, task.claimed_by_id = TaskStatus.COMPLETED, at, t.outcome_by_id
            task.claimed_at = at if t.outcome_by_id else None
        else:
            t.state = TargetState.UNREACHABLE
            task.status, task.completed_at = TaskStatus.UNREACHABLE, at
    CampaignTarget.objects.bulk_update(targets, ["task", "reached", "outcome_at", "outcome_by", "state",
                                                 "letter_needed", "decline_reason"])
    FollowupTask.objects.bulk_update([t for t in tasks], ["status", "completed_at", "claimed_by", "claimed_at"])
    return len(targets)
