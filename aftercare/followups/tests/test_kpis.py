"""The follow-up measures in the KPI catalogue (followups/kpis.py) and the manage page beside the store's target."""

import datetime as dt
import json
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine
from django.test import Client

from aftercare.followups.models import FollowupTask
from aftercare.followups.services.attempts import followup_attempt_record
from aftercare.followups.services.claiming import followup_task_claim
from aftercare.followups.services.generation import followup_tasks_generate
from aftercare.org.kpis import measure_get
from aftercare.org.models import KpiTarget
from aftercare.testing import factories as f
from conftest import CANARY

SH = ZoneInfo("Asia/Shanghai")
RVR = "followups.return_visit_rate"


def sh(*a):
    return dt.datetime(*a, tzinfo=SH)


def half_done(store, specialist):
    """Four CSI tasks due before 6 March 2026, two completed in time: return-visit rate 50 %."""
    customer = f.CustomerFactory(store=store)
    for i in range(4):
        f.RepairOrderFactory(customer=customer, settled_at=sh(2026, 3, 2, 9, i))
    followup_tasks_generate(store_id=store.pk)
    tasks = list(FollowupTask.objects.filter(store=store).order_by("id"))
    with time_machine.travel(sh(2026, 3, 3, 10, 0)):
        for task in tasks[:2]:
            followup_task_claim(actor=specialist, task_id=task.pk)
            followup_attempt_record(actor=specialist, task=task, outcome="completed")


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_it_computes_the_return_visit_rate_through_the_catalogue_hook(store_a, rules_a, specialist, manager):
    half_done(store_a, specialist)
    with time_machine.travel(sh(2026, 4, 20, 9)):
        [value] = measure_get(RVR).compute(user=manager, store_ids=None, period_start=dt.date(2026, 1, 1),
                                           period_end=dt.date(2026, 4, 1))
        calls = measure_get("followups.calls_made").compute(
            user=manager, store_ids=None, period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 4, 1)
        )
    assert (value.store_id, value.numerator, value.denominator, value.value) == (store_a.pk, 2, 4, Decimal("50.0"))
    assert not value.provisional
    assert [(c.user_id, c.value) for c in calls] == [(specialist.pk, 2)]
    with time_machine.travel(sh(2026, 4, 20, 9)):
        closed = measure_get("followups.tasks_closed").compute(
            user=manager, store_ids=None, period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 4, 1)
        )
        april = measure_get("followups.tasks_closed").compute(
            user=manager, store_ids=None, period_start=dt.date(2026, 4, 1), period_end=dt.date(2026, 5, 1)
        )
    assert [(c.user_id, c.value, c.store_id) for c in closed] == [(specialist.pk, 2, None)]
    assert april == []


def test_it_shows_the_stores_target_and_gap_beside_the_return_visit_rate(store_a, store_b, rules_a, specialist,
                                                                         manager):
    half_done(store_a, specialist)
    KpiTarget.objects.create(store=store_b, measure_code=RVR, period_kind="month", period_start=dt.date(2026, 3, 1),
                             value=Decimal("11.11"), note=CANARY)
    with time_machine.travel(sh(2026, 4, 20, 9)):
        html = client_for(manager).get("/followups/manage/", {"month": "2026-03"}).content.decode()
        assert "Return-visit rate" in html and "50.0 %" in html
        assert "target 95" in html and "-45.0" in html and 'data-state="missed"' in html
        assert CANARY not in html and "11.11" not in html
        KpiTarget.objects.create(store=store_a, measure_code=RVR, period_kind="month",
                                 period_start=dt.date(2026, 3, 1), value=Decimal(40))
        html = client_for(manager).get("/followups/manage/", {"month": "2026-03"}).content.decode()
        assert "target 40" in html and "+10.0" in html and 'data-state="met"' in html
        html = client_for(manager).get("/followups/manage/", {"month": "2026-03", "by": "kind"}).content.decode()
        assert "target 40" in html  # one store in scope: its target for the other groupings too
    with time_machine.travel(sh(2026, 3, 20, 9)):
        KpiTarget.objects.filter(store=store_a).delete()
        html = client_for(manager).get("/followups/manage/", {"month": "2026-03"}).content.decode()
        assert "target 95" in html and 'data-state="running"' in html and 'data-state="missed"' not in html


def test_it_draws_the_chart_target_line_at_the_stores_target(store_a, rules_a, specialist, manager):
    """The return-visit chart's target line is the store's target for the month on show (the default without one)."""
    half_done(store_a, specialist)

    def target_line(html: str) -> list:
        figure = re.search(r'<figure class="chart[^"]*" data-chart id="rate-chart">(.*?)</figure>', html, re.S)
        spec = json.loads(re.search(r'<script type="application/json">(.*?)</script>', figure.group(1), re.S).group(1))
        return [s["values"] for s in spec["series"] if s.get("target")]

    with time_machine.travel(sh(2026, 4, 20, 9)):
        assert target_line(client_for(manager).get("/followups/manage/").content.decode()) == [[95.0] * 6]
        KpiTarget.objects.create(store=store_a, measure_code=RVR, period_kind="month",
                                 period_start=dt.date(2026, 4, 1), value=Decimal(88))
        assert target_line(client_for(manager).get("/followups/manage/").content.decode()) == [[88.0] * 6]
