"""Care reminders seen by users: the rules page and its edits, the list (filters, a fixed number of queries), the
API, the start-page card, the customer-360 panel of projected dates, and the success measure (came / booked /
neither)."""

import datetime as dt
import re

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from aftercare.care.choices import ReminderAction, ReminderKind, ReminderState
from aftercare.care.models import CareProfile, ChurnScore, Reminder, ReminderRule
from aftercare.care.remind_hooks import REMINDER_SUCCESS_RATE
from aftercare.care.services.remind import reminder_rules_map, reminders_generate
from aftercare.core.services import api_token_create
from aftercare.org.calendar import business_date, business_day_start
from aftercare.org.choices import Role
from aftercare.testing import factories as f
from conftest import CANARY

pytestmark = pytest.mark.django_db


def client(user) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c


def api(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, name='t')[1]}")


def _reminder(store, *, due: dt.date, kind=ReminderKind.MAINTENANCE, state=ReminderState.CALL, made=None,
              name=None, came_days=30):
    customer = f.CustomerFactory(store=store, **({"name": name} if name else {}))
    vehicle = f.owned_vehicle(customer)
    made = made or due - dt.timedelta(days=7)
    return Reminder.objects.create(store=store, customer=customer, vehicle=vehicle, kind=kind, due_on=due,
                                   made_on=made, action=ReminderAction.CALL, state=state,
                                   came_until=due + dt.timedelta(days=came_days))


# ---- rules ---------------------------------------------------------------------------------------------------------


def test_it_shows_the_rules_with_insurance_left_to_renewals(users, store_a):
    resp = client(users[Role.CS_MANAGER]).get("/care/reminders/settings/")
    html = resp.content.decode()
    assert resp.status_code == 200
    for label in ("First maintenance", "Periodic maintenance", "Warranty end", "Annual inspection", "Birthday"):
        assert label in html
    assert 'href="/renewals/"' in html and "Handled by insurance renewals" in html
    assert ReminderRule.objects.filter(store=store_a).count() == 5
    assert client(users[Role.CS_SPECIALIST]).get("/care/reminders/settings/").status_code == 403


def test_it_edits_a_rule_and_names_the_bad_field(users, store_a, store_b):
    manager = users[Role.CS_MANAGER]
    rule = reminder_rules_map([store_a.pk])[store_a.pk][ReminderKind.WARRANTY_END]
    url = f"/care/reminders/rules/{rule.pk}/"
    page = client(manager).get(url).content.decode()  # Bootstrap's classes on the fields
    assert re.search(r'<input type="number" name="lead_days"[^>]*class="form-control"', page)
    assert re.search(r'<select name="action" class="form-select"', page)
    assert re.search(r'<input type="checkbox" name="is_active" class="form-check-input"', page)
    good = {"is_active": "on", "lead_days": "21", "action": "sms", "came_days": "45", "months": "", "km": ""}
    resp = client(manager).post(url, good)
    assert resp.status_code == 302
    rule.refresh_from_db()
    assert (rule.lead_days, rule.action, rule.came_days) == (21, ReminderAction.SMS, 45)
    resp = client(manager).post(url, {**good, "lead_days": "lots"})
    assert resp.status_code == 400 and "Enter a whole number" in resp.content.decode()
    foreign = reminder_rules_map([store_b.pk])[store_b.pk][ReminderKind.WARRANTY_END]
    assert client(manager).get(f"/care/reminders/rules/{foreign.pk}/").status_code == 404


def test_the_rules_api_lists_updates_and_refuses(users, store_a, store_b):
    manager = users[Role.CS_MANAGER]
    resp = api(manager).get("/api/care/reminder-rules")
    assert resp.status_code == 200
    rules = {r["kind"]: r for r in resp.json()}
    assert set(rules) == set(ReminderKind.values) and rules["first_maintenance"]["km"] == 5000
    rid = rules["birthday"]["id"]
    body = {"is_active": False, "lead_days": 3, "action": "sms", "came_days": 30, "months": None, "km": None}
    resp = api(manager).put(f"/api/care/reminder-rules/{rid}", body, content_type="application/json")
    assert resp.status_code == 200 and resp.json()["is_active"] is False
    resp = api(manager).put(f"/api/care/reminder-rules/{rid}", {**body, "lead_days": 500},
                            content_type="application/json")
    assert resp.status_code == 422 and "lead_days" in resp.content.decode()
    foreign = reminder_rules_map([store_b.pk])[store_b.pk][ReminderKind.BIRTHDAY]
    resp = api(manager).put(f"/api/care/reminder-rules/{foreign.pk}", body, content_type="application/json")
    assert resp.status_code == 404
    assert api(users[Role.CS_SPECIALIST]).get("/api/care/reminder-rules").status_code == 403


# ---- list, API, card -----------------------------------------------------------------------------------------------


def test_it_lists_due_today_and_overdue_in_a_fixed_number_of_queries(users, store_a, store_b):
    specialist = users[Role.CS_SPECIALIST]
    today = business_date()
    _reminder(store_b, due=today, name=f"{CANARY}-x")

    def count(n):
        for _ in range(n):
            _reminder(store_a, due=today)
        reminders_generate(store_id=store_a.pk, today=business_date())  # their call tasks
        with CaptureQueriesContext(connection) as ctx:
            resp = client(specialist).get("/care/reminders/?due=today")
        assert resp.status_code == 200
        return len(ctx), resp.content.decode()

    few, _html = count(2)
    many, html = count(4)
    assert many == few
    assert len(re.findall(r"data-reminder=", html)) == 6 and CANARY not in html
    assert html.count("/followups/tasks/") == 6
    overdue = _reminder(store_a, due=today - dt.timedelta(days=3), state=ReminderState.SMS_PENDING)
    html = client(specialist).get("/care/reminders/?due=overdue").content.decode()
    assert re.findall(r'data-reminder="(\d+)"', html) == [str(overdue.pk)]
    html = client(specialist).get("/care/reminders/?kind=birthday").content.decode()
    assert "data-reminder=" not in html
    assert '<select name="kind" class="form-select form-select-sm"' in html  # the filters in Bootstrap's classes
    # the start page card counts what the list shows
    start = client(specialist).get("/today/").content.decode()
    assert "Reminders due today" in start and "care.reminders_due" in start
    # the API
    resp = api(specialist).get("/api/care/reminders?due=today")
    body = resp.json()
    assert resp.status_code == 200 and body["count"] == 6
    assert {r["state"] for r in body["items"]} == {"call"} and all(r["task_id"] for r in body["items"])
    assert api(specialist).get(f"/api/care/reminders?store_id={store_b.pk}").status_code == 404
    assert api(users[Role.SERVICE_ADVISOR]).get("/api/care/reminders").status_code == 403


def test_a_junk_filter_lists_every_reminder_and_marks_the_fields(users, store_a):
    today = business_date()
    rows = [_reminder(store_a, due=today), _reminder(store_a, due=today + dt.timedelta(days=5))]
    resp = client(users[Role.CS_SPECIALIST]).get("/care/reminders/?due=junk&kind=junk")
    html = resp.content.decode()
    assert resp.status_code == 200
    assert re.findall(r'data-reminder="(\d+)"', html) == [str(r.pk) for r in rows]  # the filter ignored: all
    assert re.search(r'<select name="due" class="[^"]*is-invalid', html)
    assert re.search(r'<select name="kind" class="[^"]*is-invalid', html)


def test_the_card_counts_due_today_and_overdue(users, store_a):
    from aftercare.care.remind_hooks import reminders_due_card

    today = business_date()
    _reminder(store_a, due=today)
    _reminder(store_a, due=today - dt.timedelta(days=2), state=ReminderState.SMS_PENDING)
    _reminder(store_a, due=today - dt.timedelta(days=2), state=ReminderState.SMS_SENT)
    data = reminders_due_card(user=users[Role.CS_SPECIALIST], store_ids=frozenset([store_a.pk]),
                              now=business_day_start(today) + dt.timedelta(hours=10))
    assert [r.count for r in data.rows] == [1, 1]
    assert data.rows[0].url == "/care/reminders/?due=today"


# ---- customer 360 --------------------------------------------------------------------------------------------------


def test_the_customer_page_shows_the_projected_dates(users, store_a):
    customer = f.CustomerFactory(store=store_a)
    vehicle = f.owned_vehicle(customer, plate="粤A77777", delivery_date=dt.date(2024, 3, 1),
                              warranty_end=dt.date(2027, 3, 1))
    today = business_date()
    f.RepairOrderFactory(customer=customer, vehicle=vehicle, kind="maintenance", mileage=20000,
                         settled_at=business_day_start(today - dt.timedelta(days=100)))
    f.RepairOrderFactory(customer=customer, vehicle=vehicle, kind="mechanical", mileage=25000,
                         settled_at=business_day_start(today))
    html = client(users[Role.CS_SPECIALIST]).get(f"/customers/{customer.pk}/").content.decode()
    assert 'id="customer-care-dues"' in html and "粤A77777" in html
    # 50 km/day from the two readings; next maintenance by km: 30,000 − 25,000 = 100 days after today,
    # by time 6 months after the visit
    assert (today + dt.timedelta(days=100)).isoformat() in html
    assert "2027-03-01" in html and "own readings" in html
    advisor_html = client(users[Role.SERVICE_ADVISOR]).get(f"/customers/{customer.pk}/").content.decode()
    assert 'id="customer-care-dues"' not in advisor_html


# ---- success -------------------------------------------------------------------------------------------------------


def _booking(reminder, made_at: dt.datetime, state="booked"):
    bay_model, booking_model = apps.get_model("appointments", "Bay"), apps.get_model("appointments", "Booking")
    bay, _new = bay_model.objects.get_or_create(store=reminder.store, name="1",
                                                defaults={"kind": bay_model._meta.get_field("kind").choices[0][0]})
    source = booking_model._meta.get_field("source").choices[0][0]
    booking = booking_model.objects.create(store=reminder.store, customer=reminder.customer, vehicle=reminder.vehicle,
                                           bay=bay, start_at=made_at + dt.timedelta(days=3),
                                           end_at=made_at + dt.timedelta(days=3, hours=1), state=state, source=source)
    booking_model.objects.filter(pk=booking.pk).update(created_at=made_at)


def test_it_measures_success_came_booked_or_neither(users, store_a):
    made, due = dt.date(2026, 3, 2), dt.date(2026, 3, 16)  # came window to 15 April
    came = _reminder(store_a, due=due, made=made)
    booked = _reminder(store_a, due=due, made=made)
    neither = _reminder(store_a, due=due, made=made)
    too_late = _reminder(store_a, due=due, made=made)
    washed = _reminder(store_a, due=due, made=made)
    cancelled = _reminder(store_a, due=due, made=made)
    _reminder(store_a, due=due, made=made, state=ReminderState.NO_CONSENT)  # not counted at all
    f.RepairOrderFactory(customer=came.customer, vehicle=came.vehicle, kind="maintenance",
                         settled_at=business_day_start(dt.date(2026, 4, 15)) + dt.timedelta(hours=20))
    f.RepairOrderFactory(customer=too_late.customer, vehicle=too_late.vehicle, kind="maintenance",
                         settled_at=business_day_start(dt.date(2026, 4, 16)) + dt.timedelta(hours=9))
    f.RepairOrderFactory(customer=washed.customer, vehicle=washed.vehicle, kind="wash",
                         settled_at=business_day_start(dt.date(2026, 3, 20)))
    _booking(booked, business_day_start(dt.date(2026, 3, 5)) + dt.timedelta(hours=11))
    _booking(cancelled, business_day_start(dt.date(2026, 3, 5)) + dt.timedelta(hours=11), state="cancelled")
    del neither
    values = REMINDER_SUCCESS_RATE.compute(user=users[Role.CS_MANAGER], store_ids=frozenset([store_a.pk]),
                                           period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 4, 1))
    (v,) = values
    assert (v.store_id, v.numerator, v.denominator) == (store_a.pk, 2, 6)
    assert str(v.value) == "33.3"
    # April: nothing made
    assert REMINDER_SUCCESS_RATE.compute(user=users[Role.CS_MANAGER], store_ids=frozenset([store_a.pk]),
                                         period_start=dt.date(2026, 4, 1), period_end=dt.date(2026, 5, 1)) == []
    # the drill-down: the very reminders counted, of the store and month (drill_for); came or booked first
    from aftercare.org.kpis import drill_for

    drill = drill_for(REMINDER_SUCCESS_RATE, store_id=store_a.pk, start=dt.date(2026, 3, 1), end=dt.date(2026, 4, 1))
    page = client(users[Role.CS_MANAGER])
    listed = {}
    for name, url in (("worked", drill.numerator), ("contacted", drill.denominator)):
        response = page.get(url)
        assert response.status_code == 200, url
        listed[name] = response.content.decode().split('id="drill-table"', 1)[1].count("<tr><td>")
    assert listed == {"worked": 2, "contacted": 6}
    def link(reminder):
        return f'href="/customers/{reminder.customer_id}/"'

    worked = page.get(drill.numerator).content.decode()
    assert link(came) in worked and link(booked) in worked and link(too_late) not in worked
    not_worked = page.get("/care/reminders/success/", {"counted": "not_worked", "store": store_a.pk,
                                                        "month": "2026-03"}).content.decode()
    assert link(too_late) in not_worked and link(came) not in not_worked


def test_the_measure_is_in_the_catalogue():
    from aftercare.org.kpis import measure_get

    assert measure_get("care.reminder_success_rate") is REMINDER_SUCCESS_RATE


def test_the_list_and_the_api_rank_by_churn_risk_unscored_last(users, store_a):
    specialist = users[Role.CS_SPECIALIST]
    today = business_date()
    low = _reminder(store_a, due=today - dt.timedelta(days=2))
    unscored = _reminder(store_a, due=today - dt.timedelta(days=5))
    high = _reminder(store_a, due=today)
    no_profile = _reminder(store_a, due=today - dt.timedelta(days=9))
    for reminder, risk in ((low, 0.2), (unscored, None), (high, 0.9)):
        CareProfile.objects.create(store=store_a, customer=reminder.customer)
        if risk is not None:
            ChurnScore.objects.create(store=store_a, customer=reminder.customer, risk=risk, scored_on=today)
    expected = [str(r.pk) for r in (high, low, no_profile, unscored)]  # unscored: by due date, then id
    html = client(specialist).get("/care/reminders/").content.decode()
    assert re.findall(r'data-reminder="(\d+)"', html) == expected
    items = api(specialist).get("/api/care/reminders").json()["items"]
    assert [str(r["id"]) for r in items] == expected and items[0]["churn_risk"] == 0.9


def test_the_success_drill_answers_another_store_with_404_and_a_bad_filter_with_400(users, store_a, store_b):
    page = client(users[Role.CS_MANAGER])
    assert page.get("/care/reminders/success/", {"counted": "worked", "store": store_b.pk,
                                                 "month": "2026-03"}).status_code == 404
    for query in ({"counted": "everything", "month": "2026-03"}, {"counted": "worked", "month": "2026-13"},
                  {"counted": "worked", "month": "2026-03", "store": "x"}):
        response = page.get("/care/reminders/success/", {**query}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400 and "invalid-feedback" in response.content.decode(), query
    assert client(users[Role.SERVICE_ADVISOR]).get("/care/reminders/success/").status_code == 403
