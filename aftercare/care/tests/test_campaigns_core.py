"""Campaigns (issue 18, "Campaigns"): the segment and its count against hand-computed customers, the launch (once,
loyal first, consent), the results and the call's outcome, against rows made by hand."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from aftercare.care.choices import CampaignState, CustomerClass, TargetState
from aftercare.care.models import CampaignTarget, CareProfile, ChurnScore
from aftercare.care.selectors import campaign_results, campaign_results_by_specialist, campaign_target_rows
from aftercare.care.services.campaigns import (
    campaign_launch,
    campaign_save,
    campaign_target_outcome_record,
    segment_count,
)
from aftercare.customers.models import MileageReading
from aftercare.followups.choices import FollowupKind, LetterStatus, TaskStatus
from aftercare.followups.models import FollowupTask, LetterLog
from aftercare.org.calendar import business_day_start
from aftercare.org.choices import Role
from aftercare.org.kpis import drill_for, measure_get
from aftercare.testing import factories as f
from aftercare.testing.clients import page_client

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 16)
NOW = dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC)  # 10:00 Shanghai


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return business_day_start(day) + dt.timedelta(hours=hour)


def _customer(store, klass=None, *, marketing=True, service=True, model="英朗", delivered=dt.date(2022, 6, 1),
              risk=None, km=None):
    c = f.CustomerFactory(store=store, consent_marketing=marketing, consent_service_calls=service)
    v = f.owned_vehicle(c, model=model, delivery_date=delivered)
    if klass is not None:
        CareProfile.objects.create(store=store, customer=c, customer_class=klass)
    if risk is not None:
        ChurnScore.objects.create(store=store, customer=c, risk=risk, scored_on=dt.date(2026, 11, 1))
    if km is not None:
        MileageReading.objects.create(store=store, vehicle=v, read_on=dt.date(2026, 10, 1), km=km, source="manual")
    return c, v


@pytest.fixture
def people(store_a):
    """Six customers of store A, computed by hand:
    loyal1: loyal, 英朗 of 2022, 45 000 km, spent 1 000 (counted) on 2026-09-01, risk 0.1
    loyal2: loyal, 君威 of 2025, 8 000 km, no visit
    regular: regular, 英朗 of 2019, 90 000 km, a warranty job of 5 000 on 2026-10-01 (not counted), risk 0.6
    lost: lost, 英朗 of 2018, last counted visit 2025-03-01 (300), risk 0.8
    fresh: no profile yet (new), 君威 of 2026
    refused: loyal but no marketing consent
    """
    loyal1, v1 = _customer(store_a, CustomerClass.LOYAL, risk=0.1, km=45000)
    f.RepairOrderFactory(store=store_a, customer=loyal1, vehicle=v1, kind="maintenance", amount=Decimal("1000"),
                         settled_at=_at(dt.date(2026, 9, 1)))
    loyal2, _v2 = _customer(store_a, CustomerClass.LOYAL, model="君威", delivered=dt.date(2025, 3, 1), km=8000)
    regular, v3 = _customer(store_a, CustomerClass.REGULAR, delivered=dt.date(2019, 5, 1), risk=0.6, km=90000)
    f.RepairOrderFactory(store=store_a, customer=regular, vehicle=v3, kind="warranty", amount=Decimal("5000"),
                         settled_at=_at(dt.date(2026, 10, 1)))
    lost, v4 = _customer(store_a, CustomerClass.LOST, delivered=dt.date(2018, 1, 1), risk=0.8)
    f.RepairOrderFactory(store=store_a, customer=lost, vehicle=v4, kind="maintenance", amount=Decimal("300"),
                         settled_at=_at(dt.date(2025, 3, 1)))
    fresh, _v5 = _customer(store_a, None, model="君威", delivered=dt.date(2026, 5, 1))
    refused, _v6 = _customer(store_a, CustomerClass.LOYAL, marketing=False)
    return {"loyal1": loyal1, "loyal2": loyal2, "regular": regular, "lost": lost, "fresh": fresh,
            "refused": refused}


@pytest.mark.parametrize(("segment", "expected"), [
    ({}, 5),  # everyone with marketing consent ("refused" is left out)
    ({"classes": ["loyal"]}, 2),
    ({"classes": ["loyal", "regular"]}, 3),
    ({"classes": ["new"]}, 1),  # no profile yet counts as new
    ({"classes": "lost"}, 1),
    ({"model": "君威"}, 2),
    ({"vehicle_age_min": 5}, 2),  # 2019 (7 years) and 2018 (8); 2022 is 4
    ({"vehicle_age_max": 1}, 2),  # 2025-03 (1 year) and 2026-05 (0)
    ({"last_visit_after": "2026-01-01"}, 1),  # only loyal1: the warranty job does not count
    ({"last_visit_before": "2026-01-01"}, 4),  # lost (2025) and the three who never came (counted)
    ({"mileage_min": 40000}, 2),
    ({"mileage_min": 1000, "mileage_max": 50000}, 2),
    ({"spend_min": "500"}, 1),
    ({"churn_risk_min": "0.5"}, 2),
    ({"classes": ["loyal"], "model": "英朗"}, 1),
])
@time_machine.travel(NOW, tick=False)
def test_it_counts_a_segment_as_computed_by_hand(store_a, people, segment, expected):
    assert segment_count(store_ids=[store_a.pk], segment=segment, today=TODAY) == expected


@time_machine.travel(NOW, tick=False)
def test_it_counts_in_one_query_and_service_campaigns_need_service_consent(store_a, people):
    people["fresh"].consent_service_calls = False
    people["fresh"].save()
    with CaptureQueriesContext(connection) as ctx:
        n = segment_count(store_ids=[store_a.pk], segment={"spend_min": 0, "last_visit_before": "2026-12-01"},
                          purpose="service", today=TODAY)
    assert len(ctx.captured_queries) == 1
    assert n == 5  # six minus "fresh" (no service consent); "refused" has service consent


def test_it_names_the_field_of_a_bad_filter(store_a):
    with pytest.raises(ValidationError) as exc:
        segment_count(store_ids=[store_a.pk], segment={"churn_risk_min": "2"})
    assert "churn_risk_min" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        segment_count(store_ids=[store_a.pk], segment={"classes": ["vip"]})
    assert "classes" in exc.value.message_dict


def _campaign(manager, store, **extra):
    fields = {"name": "清洗节气门", "event_start": dt.date(2026, 12, 1), "event_end": dt.date(2026, 12, 7),
              "segment": {}, "channels": ["call", "sms"], "sms_text": "12月1日至7日免费清洗节气门"}
    fields.update(extra)
    return campaign_save(actor=manager, store_ids=[store.pk], **fields)


@time_machine.travel(NOW, tick=False)
def test_it_launches_once_loyal_first_and_skips_customers_without_consent(store_a, people, manager):
    campaign = _campaign(manager, store_a)
    assert campaign.state == CampaignState.DRAFT
    assert campaign_launch(actor=manager, campaign=campaign, today=TODAY) == 5
    assert campaign_launch(actor=manager, campaign=campaign, today=TODAY) == 0  # twice: one set of tasks
    targets = {t.customer_id: t for t in CampaignTarget.objects.select_related("task")}
    assert len(targets) == 5 and people["refused"].pk not in targets
    tasks = FollowupTask.objects.filter(kind=FollowupKind.CAMPAIGN)
    assert tasks.count() == 5 and all(t.task_id for t in targets.values())
    loyal = [targets[people[k].pk] for k in ("loyal1", "loyal2")]
    others = [targets[people[k].pk] for k in ("regular", "lost", "fresh")]
    assert {t.wave for t in loyal} == {1} and {t.wave for t in others} == {2}
    # calls start 14 days before the event (2026-11-17), the others 3 days later
    assert {t.task.event_at for t in loyal} == {business_day_start(dt.date(2026, 11, 17))}
    assert {t.task.event_at for t in others} == {business_day_start(dt.date(2026, 11, 20))}
    assert max(t.task.due_at for t in loyal) < min(t.task.due_at for t in others)
    assert targets[people["fresh"].pk].class_at_launch == CustomerClass.NEW
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.LAUNCHED


@time_machine.travel(NOW, tick=False)
def test_a_launched_campaign_cannot_be_changed(store_a, people, manager):
    campaign = _campaign(manager, store_a)
    campaign_launch(actor=manager, campaign=campaign, today=TODAY)
    with pytest.raises(ValidationError):
        campaign_save(actor=manager, campaign=campaign, store_ids=[store_a.pk], name="x")


def test_it_refuses_another_stores_campaign(store_a, store_b, manager):
    with pytest.raises(ValidationError) as exc:
        _campaign(manager, store_b)
    assert "stores" in exc.value.message_dict


@time_machine.travel(NOW, tick=False)
def test_it_computes_the_results_as_by_hand(store_a, people, manager, specialist, django_assert_max_num_queries,
                                            django_capture_on_commit_callbacks):
    campaign = _campaign(manager, store_a, segment={"classes": ["loyal", "regular", "lost"]})
    campaign_launch(actor=manager, campaign=campaign, today=TODAY)  # loyal1, loyal2, regular, lost
    t = {x.customer_id: x for x in CampaignTarget.objects.select_related("campaign", "customer")}
    with django_capture_on_commit_callbacks(execute=True):
        campaign_target_outcome_record(actor=specialist, target=t[people["loyal1"].pk], outcome="invited",
                                       letter_needed=True)
    campaign_target_outcome_record(actor=specialist, target=t[people["loyal2"].pk], outcome="declined",
                                   decline_reason="no_time")
    campaign_target_outcome_record(actor=manager, target=t[people["regular"].pk], outcome="invited")
    FollowupTask.objects.filter(pk=t[people["lost"].pk].task_id).update(status=TaskStatus.UNREACHABLE)
    v1 = people["loyal1"].ownerships.get().vehicle
    v3 = people["regular"].ownerships.get().vehicle
    # in the window: loyal1 twice (400 + 250), regular once counted (600) and once warranty (not counted);
    # outside: loyal2 on 2026-12-08 (the day after the end)
    f.RepairOrderFactory(store=store_a, customer=people["loyal1"], vehicle=v1, amount=Decimal("400"),
                         settled_at=_at(dt.date(2026, 12, 1), 9))
    f.RepairOrderFactory(store=store_a, customer=people["loyal1"], vehicle=v1, amount=Decimal("250"), kind="body",
                         settled_at=_at(dt.date(2026, 12, 7), 23))
    f.RepairOrderFactory(store=store_a, customer=people["regular"], vehicle=v3, amount=Decimal("600"),
                         settled_at=_at(dt.date(2026, 12, 3)))
    f.RepairOrderFactory(store=store_a, customer=people["regular"], vehicle=v3, amount=Decimal("9000"),
                         kind="warranty", settled_at=_at(dt.date(2026, 12, 3)))
    f.RepairOrderFactory(store=store_a, customer=people["loyal2"], amount=Decimal("700"),
                         settled_at=_at(dt.date(2026, 12, 8), 1))
    with django_assert_max_num_queries(2):
        r = campaign_results(user=manager, campaign=campaign)
    assert (r["targeted"], r["reached"], r["invited"], r["declined"], r["unreachable"], r["came"]) == (4, 3, 2, 1, 1, 2)
    assert r["revenue"] == Decimal("1250.00")
    by = {p["username"]: p for p in campaign_results_by_specialist(user=manager, campaign=campaign)}
    assert (by[specialist.username]["reached"], by[specialist.username]["invited"], by[specialist.username]["came"],
            by[specialist.username]["revenue"]) == (2, 1, 1, Decimal("650.00"))
    came = list(campaign_target_rows(user=manager, campaign=campaign, measure="came"))
    assert {x.customer_id for x in came} == {people["loyal1"].pk, people["regular"].pk}
    # the SMS after the call: one, logged as sent
    letter = LetterLog.objects.get()
    assert letter.customer_id == people["loyal1"].pk and letter.status == LetterStatus.SENT
    assert t[people["loyal2"].pk].state == TargetState.DECLINED
    # the KPI catalogue: the event starts in December, store A
    month = {"user": manager, "store_ids": [store_a.pk], "period_start": dt.date(2026, 12, 1),
             "period_end": dt.date(2027, 1, 1)}
    (reach,) = measure_get("care.campaign_reach_rate").compute(**month)
    (come,) = measure_get("care.campaign_come_rate").compute(**month)
    assert (reach.store_id, reach.value, reach.numerator, reach.denominator) == (store_a.pk, Decimal("75.0"), 3, 4)
    assert (come.value, come.numerator, come.denominator) == (Decimal("50.0"), 2, 4)
    assert measure_get("care.campaign_come_rate").compute(**{**month, "period_start": dt.date(2026, 11, 1),
                                                               "period_end": dt.date(2026, 12, 1)}) == []
    # each figure drills down to exactly its targets (drill_for), and no other store's
    page = page_client(manager)
    for code, value in (("care.campaign_reach_rate", reach), ("care.campaign_come_rate", come)):
        drill = drill_for(measure_get(code), store_id=store_a.pk, start=dt.date(2026, 12, 1), end=dt.date(2027, 1, 1))
        for url, expected in ((drill.numerator, value.numerator), (drill.denominator, value.denominator)):
            response = page.get(url)
            assert response.status_code == 200, url
            assert response.content.decode().split('id="drill-table"', 1)[1].count("<tr><td>") == expected, url
    came_page = page.get("/care/campaigns/measure-rows/", {"counted": "came", "store": store_a.pk,
                                                          "month": "2026-12"}).content.decode()
    assert f'href="/customers/{people["regular"].pk}/"' in came_page
    assert f'href="/customers/{people["loyal2"].pk}/"' not in came_page


def test_a_declined_outcome_needs_its_reason(store_a, people, manager):
    with time_machine.travel(NOW, tick=False):
        campaign = _campaign(manager, store_a)
        campaign_launch(actor=manager, campaign=campaign, today=TODAY)
    target = CampaignTarget.objects.select_related("campaign").first()
    with pytest.raises(ValidationError) as exc:
        campaign_target_outcome_record(actor=manager, target=target, outcome="declined")
    assert "decline_reason" in exc.value.message_dict


@time_machine.travel(NOW, tick=False)
def test_it_ranks_targets_and_their_calls_by_churn_risk_within_each_wave(store_a, people, manager):
    ChurnScore.objects.create(store=store_a, customer=people["loyal2"], risk=0.3, scored_on=TODAY)
    # ranks: wave 1 loyal2 (0.3) before loyal1 (0.1); wave 2 lost (0.8), regular (0.6), fresh (no score) last
    expected = [people[k].pk for k in ("loyal2", "loyal1", "lost", "regular", "fresh")]
    campaign = _campaign(manager, store_a)
    campaign_launch(actor=manager, campaign=campaign, today=TODAY)
    rows = list(campaign_target_rows(user=manager, campaign=campaign))
    assert [t.customer_id for t in rows] == expected
    assert [t.wave for t in rows] == [1, 1, 2, 2, 2]
    # the calls were made in that order, so the tasks' ids follow the ranking too
    tasks = FollowupTask.objects.filter(kind=FollowupKind.CAMPAIGN).order_by("pk")
    assert [t.customer_id for t in tasks] == expected
    # and the results page lists the targets so
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(manager)
    html = client.get(f"/care/campaigns/{campaign.pk}/").content.decode()
    by_pk = {t.pk: t.customer_id for t in rows}
    assert [by_pk[int(pk)] for pk in re.findall(r'data-target="(\d+)"', html)] == expected


def test_the_campaign_drill_answers_another_store_with_404_and_a_bad_filter_with_400(users, store_b):
    page = page_client(users[Role.CS_MANAGER])
    url = "/care/campaigns/measure-rows/"
    assert page.get(url, {"counted": "came", "store": store_b.pk, "month": "2026-12"}).status_code == 404
    for query in ({"counted": "everyone", "month": "2026-12"}, {"counted": "came", "month": "12/2026"}):
        response = page.get(url, query)
        assert response.status_code == 400 and "invalid-feedback" in response.content.decode(), query
    assert page_client(users[Role.CS_SPECIALIST]).get(url, {"counted": "came", "month": "2026-12"}).status_code == 403
