"""Satisfaction, SSI / CSI scores and the sales hand-over in the KPI catalogue (followups/kpis.py), each against a
hand-computed store-month (March 2026, Asia/Shanghai), and scoping: store B's rows never count for store A."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftercare.customers.models import SalesDelivery
from aftercare.followups.choices import CallOutcome, FollowupKind, QuestionnaireKind, SubjectType
from aftercare.followups.models import AnswerSheet, CallLog, FollowupTask, QuestionnaireTemplate
from aftercare.followups.services.generation import followup_tasks_generate
from aftercare.org.kpis import Level, Unit, drill_for, measure_get
from aftercare.testing import factories as f
from aftercare.testing.clients import page_client

SH = ZoneInfo("Asia/Shanghai")
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 4, 1))


def sh(*a):
    return dt.datetime(*a, tzinfo=SH)


def compute(code, user, period=MARCH, store_ids=None):
    with time_machine.travel(sh(2026, 4, 20, 9)):
        return measure_get(code).compute(user=user, store_ids=store_ids, period_start=period[0],
                                         period_end=period[1])


def delivery(store, *, delivered, recorded, consultant="王销售", staff=None, **customer):
    row = f.SalesDeliveryFactory(customer=f.CustomerFactory(store=store, **customer), delivered_at=delivered,
                                 sales_consultant=consultant, sales_consultant_staff=staff)
    SalesDelivery.objects.filter(pk=row.pk).update(created_at=recorded)
    return row


@pytest.fixture
def templates(db):
    return {
        kind: QuestionnaireTemplate.objects.create(code=f"T-{kind}", kind=kind, name_zh=kind, status="active")
        for kind in (QuestionnaireKind.SSI, QuestionnaireKind.CSI)
    }


def sheet(task, template, user, *, at, score, dissatisfied=False):
    return AnswerSheet.objects.create(store=task.store, task=task, template=template, answered_by=user,
                                      answered_at=at, score_total=score, dissatisfied=dissatisfied)


def csi_tasks(store, n):
    customer = f.CustomerFactory(store=store)
    for i in range(n):
        f.RepairOrderFactory(customer=customer, settled_at=sh(2026, 2, 20, 9, i))
    followup_tasks_generate(store_id=store.pk)
    return list(FollowupTask.objects.filter(store=store, kind=FollowupKind.CSI).order_by("id"))


def test_it_computes_satisfaction_and_the_ssi_and_csi_scores_of_a_store_month(
    store_a, store_b, rules_a, rules_b, templates, manager, specialist
):
    ssi, csi = templates[QuestionnaireKind.SSI], templates[QuestionnaireKind.CSI]
    a = csi_tasks(store_a, 6)
    # March: SSI 960 and 981 (mean 970.5); CSI 900 (dissatisfied), 950, and one without a score: 5 sheets, 1
    # dissatisfied → satisfaction 4/5 = 80.0 %, CSI = 925.0 over 2 scored sheets.
    sheet(a[0], ssi, specialist, at=sh(2026, 3, 1, 0, 0), score=Decimal("960"))
    sheet(a[1], ssi, specialist, at=sh(2026, 3, 31, 23, 59), score=Decimal("981"))
    sheet(a[2], csi, specialist, at=sh(2026, 3, 10, 10), score=Decimal("900"), dissatisfied=True)
    sheet(a[3], csi, specialist, at=sh(2026, 3, 11, 10), score=Decimal("950"))
    sheet(a[4], csi, specialist, at=sh(2026, 3, 12, 10), score=None)
    sheet(a[5], ssi, specialist, at=sh(2026, 4, 1, 0, 0), score=Decimal("100"), dissatisfied=True)  # April
    b = csi_tasks(store_b, 1)
    sheet(b[0], ssi, specialist, at=sh(2026, 3, 5, 10), score=Decimal("10"), dissatisfied=True)

    [sat] = compute("followups.satisfaction_rate", manager)
    assert (sat.store_id, sat.numerator, sat.denominator, sat.value) == (store_a.pk, 4, 5, Decimal("80.0"))
    [s] = compute("followups.ssi_score", manager)
    assert (s.store_id, s.denominator, s.value) == (store_a.pk, 2, Decimal("970.5"))
    [c] = compute("followups.csi_score", manager)
    assert (c.store_id, c.denominator, c.value) == (store_a.pk, 2, Decimal("925.0"))
    assert measure_get("followups.ssi_score").unit == Unit.SCORE
    # the quarter counts April's sheet too
    [q] = compute("followups.satisfaction_rate", manager, period=(dt.date(2026, 1, 1), dt.date(2026, 7, 1)))
    assert (q.numerator, q.denominator) == (4, 6)


def test_it_computes_the_sales_hand_over_per_store_and_per_sales_consultant(store_a, store_b, rules_a, manager):
    seller = f.StaffFactory(group=store_a.group, role="sales_consultant", stores=[store_a], display_name="李明")
    # 王销售 (a name only): delivered 1 March 10:00, recorded 2 hours later; delivered 2 March, recorded 10 hours
    # later without an address → 1 error in 2, lag (2 + 10) / 2 = 6.0 h.
    delivery(store_a, delivered=sh(2026, 3, 1, 10), recorded=sh(2026, 3, 1, 12))
    delivery(store_a, delivered=sh(2026, 3, 2, 10), recorded=sh(2026, 3, 2, 20), address="")
    # 李明 (linked staff): entered before the delivery time (lag 0) and 5 hours late; the second's SSI call found
    # the number wrong → 1 error in 2, lag (0 + 5) / 2 = 2.5 h.
    delivery(store_a, delivered=sh(2026, 3, 3, 10), recorded=sh(2026, 3, 3, 9), consultant="李明 ", staff=seller)
    wrong = delivery(store_a, delivered=sh(2026, 3, 31, 23), recorded=sh(2026, 4, 1, 4), consultant="李明",
                     staff=seller)
    # February and store B never count
    delivery(store_a, delivered=sh(2026, 2, 28, 23, 59), recorded=sh(2026, 3, 20), mobile="")
    delivery(store_b, delivered=sh(2026, 3, 5, 10), recorded=sh(2026, 3, 30), mobile="")
    followup_tasks_generate(store_id=store_a.pk)
    task = FollowupTask.objects.get(subject_type=SubjectType.DELIVERY, subject_id=wrong.pk)
    CallLog.objects.create(store=store_a, task=task, handler=manager, called_at=sh(2026, 4, 1, 10),
                           outcome=CallOutcome.WRONG_NUMBER)

    [lag] = compute("followups.handover_lag", manager)
    assert (lag.store_id, lag.denominator, lag.value) == (store_a.pk, 4, Decimal("4.3"))  # 17 h / 4 = 4.25
    [err] = compute("followups.handover_error_rate", manager)
    assert (err.store_id, err.numerator, err.denominator, err.value) == (store_a.pk, 2, 4, Decimal("50.0"))

    lags = compute("followups.handover_lag_by_consultant", manager)
    assert [(r.store_id, r.user_id, r.label, r.denominator, r.value) for r in lags] == [
        (store_a.pk, seller.user_id, "李明", 2, Decimal("2.5")),
        (store_a.pk, None, "王销售", 2, Decimal("6.0")),
    ]
    errors = compute("followups.handover_error_rate_by_consultant", manager)
    assert [(r.user_id, r.numerator, r.denominator, r.value) for r in errors] == [
        (seller.user_id, 1, 2, Decimal("50.0")),
        (None, 1, 2, Decimal("50.0")),
    ]
    assert measure_get("followups.handover_lag_by_consultant").levels == (Level.STAFF,)
    # asking for store B explicitly gives a store-A user nothing
    assert compute("followups.handover_lag", manager, store_ids=[store_b.pk]) == []
    assert compute("followups.handover_error_rate_by_consultant", manager, store_ids=[store_b.pk]) == []

    # each store figure drills down to exactly the deliveries it counts, with their lag and errors
    page = page_client(manager)
    drill = drill_for(measure_get("followups.handover_error_rate"), store_id=store_a.pk, start=MARCH[0],
                      end=MARCH[1])
    assert drill_for(measure_get("followups.handover_lag"), store_id=store_a.pk, start=MARCH[0],
                     end=MARCH[1]).numerator == ""  # a sum of hours: no numerator list
    with time_machine.travel(sh(2026, 4, 20, 9)):
        listed = {}
        for name, url in (("errors", drill.numerator), ("delivered", drill.denominator)):
            response = page.get(url)
            assert response.status_code == 200, url
            listed[name] = response.content.decode().split('id="drill-table"', 1)[1]
    assert (listed["errors"].count("<tr><td>"), listed["delivered"].count("<tr><td>")) == (2, 4)
    assert "no address" in listed["errors"] and "wrong number" in listed["errors"]
    assert "<td>2026-03-02 10:00</td><td>2026-03-02 20:00</td><td class=\"text-end\">10.0</td>" in listed["errors"]
    assert page.get("/followups/measures/deliveries/", {"counted": "errors", "store": store_b.pk,
                                                        "month": "2026-03"}).status_code == 404
    assert page.get("/followups/measures/deliveries/", {"counted": "all", "month": "2026-03"}).status_code == 400
