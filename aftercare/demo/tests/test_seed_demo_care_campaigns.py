"""The demo's two past campaigns (aftercare/demo/care_campaigns.py): results from the history as it is, loyal first."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from aftercare.care.choices import CustomerClass
from aftercare.care.models import Campaign, CampaignTarget, CareProfile
from aftercare.care.selectors import campaign_results
from aftercare.demo.care_campaigns import demo_care_campaigns_create, demo_care_campaigns_exist
from aftercare.followups.choices import TaskStatus
from aftercare.org.calendar import business_day_start
from aftercare.org.choices import Role
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC)


@time_machine.travel(NOW, tick=False)
def test_it_makes_two_past_campaigns_with_results(store_a, users):
    throttle_week = dt.date(2026, 11, 16) - dt.timedelta(weeks=9)
    for i in range(12):
        c = f.CustomerFactory(store=store_a, consent_marketing=True)
        v = f.owned_vehicle(c)
        CareProfile.objects.create(store=store_a, customer=c,
                                   customer_class=CustomerClass.LOYAL if i < 4 else CustomerClass.REGULAR)
        if i % 3 == 0:  # four customers came in the throttle-cleaning week, 500 each
            f.RepairOrderFactory(store=store_a, customer=c, vehicle=v, amount=Decimal("500"),
                                 settled_at=business_day_start(throttle_week) + dt.timedelta(hours=30))
    counts = demo_care_campaigns_create(stores=[store_a], seed=7)
    assert counts == {"campaigns": 2, "campaign_targets": 24} and demo_care_campaigns_exist([store_a])
    throttle = Campaign.objects.get(name="清洗节气门")
    r = campaign_results(user=users[Role.CS_MANAGER], campaign=throttle)
    assert (r["targeted"], r["came"], r["revenue"]) == (12, 4, Decimal("2000.00"))
    assert r["reached"] + r["unreachable"] == 12 and r["invited"] + r["declined"] == r["reached"]
    targets = CampaignTarget.objects.filter(campaign=throttle).select_related("task")
    assert all(t.task.status in (TaskStatus.COMPLETED, TaskStatus.UNREACHABLE) for t in targets)
    assert {t.wave for t in targets if t.class_at_launch == CustomerClass.LOYAL} == {1}
    assert {t.wave for t in targets if t.class_at_launch == CustomerClass.REGULAR} == {2}
