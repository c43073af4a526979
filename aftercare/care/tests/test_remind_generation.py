"""Care reminders: mileage projection (hand-computed), due dates over month ends and the Spring Festival, the daily
job run twice and after a killed run, consent, SMS (aftercare/care/services/remind.py)."""

import datetime as dt
from unittest import mock

import pytest
from django.core.management import call_command

from aftercare.care.choices import ReminderAction, ReminderKind, ReminderState
from aftercare.care.models import Reminder, ReminderRule
from aftercare.care.services import remind
from aftercare.care.services.remind import (
    DEFAULT_KM_PER_DAY,
    Rate,
    RateSource,
    add_months,
    km_due_on,
    mileage_rates,
    reminder_rules_map,
    reminders_generate,
    slope,
)
from aftercare.followups.choices import SubjectType, TaskStatus
from aftercare.followups.models import FollowupTask, LetterLog
from aftercare.org.calendar import business_day_start
from aftercare.testing import factories as f


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return business_day_start(day) + dt.timedelta(hours=hour)


def _only(store, kind: str, **fields) -> ReminderRule:
    """Leave only the rule of `kind` active in `store` (with `fields`)."""
    rules = reminder_rules_map([store.pk])[store.pk]
    ReminderRule.objects.filter(store=store).exclude(kind=kind).update(is_active=False)
    rule = rules[kind]
    for k, v in fields.items():
        setattr(rule, k, v)
    rule.save()
    return rule


# ---- mileage -----------------------------------------------------------------------------------------------------


def test_it_computes_the_least_squares_slope_by_hand():
    # 0, 60 and 120 days: 10,000 / 13,000 / 16,000 km — 50 km a day exactly
    d0 = dt.date(2026, 1, 1)
    pts = [(d0, 10000), (d0 + dt.timedelta(60), 13000), (d0 + dt.timedelta(120), 16000)]
    assert slope(pts) == pytest.approx(50.0)
    # x̄ = 40, ȳ = 12,000 over (0, 10,000), (20, 11,000), (100, 15,000): Sxy = 280,000, Sxx = 5,600
    pts = [(d0, 10000), (d0 + dt.timedelta(20), 11000), (d0 + dt.timedelta(100), 15000)]
    assert slope(pts) == pytest.approx(280000 / 5600)
    assert slope(pts[:2]) is None  # 20 days apart: too close
    assert slope([(d0, 10000)]) is None
    assert slope([(d0, 10000), (d0 + dt.timedelta(90), 9000)]) is None  # a wrong reading: no rate


@pytest.mark.django_db
def test_it_takes_the_own_rate_else_the_model_median_else_the_default(store_a):
    today = dt.date(2026, 6, 1)
    c = f.CustomerFactory(store=store_a)
    fast = f.owned_vehicle(c, model="英朗")
    slow = f.owned_vehicle(c, model="英朗")
    other = f.owned_vehicle(c, model="英朗")
    lone = f.owned_vehicle(c, model="GL8")
    d0 = dt.date(2026, 1, 1)
    for v, per_day in ((fast, 60), (slow, 20)):
        for days in (0, 100):
            f.RepairOrderFactory(customer=c, vehicle=v, settled_at=_at(d0 + dt.timedelta(days)),
                                 mileage=5000 + per_day * days)
    # a reading older than two years is left out: `other` has one recent reading only
    f.RepairOrderFactory(customer=c, vehicle=other, settled_at=_at(dt.date(2023, 1, 1)), mileage=1000)
    f.RepairOrderFactory(customer=c, vehicle=other, settled_at=_at(dt.date(2026, 3, 1)), mileage=9000)
    models = {v.pk: v.model for v in (fast, slow, other, lone)}
    rates = mileage_rates(vehicles=models, today=today)
    assert rates[fast.pk].km_per_day == pytest.approx(60) and rates[fast.pk].source == RateSource.OWN
    assert rates[slow.pk].km_per_day == pytest.approx(20)
    assert rates[other.pk].km_per_day == pytest.approx(40) and rates[other.pk].source == RateSource.MODEL
    assert (rates[other.pk].last_on, rates[other.pk].last_km) == (dt.date(2026, 3, 1), 9000)
    assert rates[lone.pk] == Rate(DEFAULT_KM_PER_DAY, RateSource.DEFAULT, None, None)


def test_it_projects_a_km_due_date_from_the_latest_reading():
    rate = Rate(50.0, RateSource.OWN, dt.date(2026, 5, 1), 16000)
    # from the reading: 10,000 km to go at 50 a day = 200 days
    assert km_due_on(anchor_on=dt.date(2026, 5, 1), anchor_km=16000, target_km=26000,
                     rate=rate) == dt.date(2026, 11, 17)
    # a reading after the anchor is the base: 26,000 − 16,000 from 1 May
    assert km_due_on(anchor_on=dt.date(2026, 1, 1), anchor_km=11000, target_km=26000,
                     rate=rate) == dt.date(2026, 11, 17)
    # already past the target: due on the reading
    assert km_due_on(anchor_on=dt.date(2026, 1, 1), anchor_km=0, target_km=5000, rate=rate) == dt.date(2026, 5, 1)
    # 7,001 km at 40 a day: 175.025 → 176 days
    assert km_due_on(anchor_on=dt.date(2026, 1, 1), anchor_km=0, target_km=7001,
                     rate=Rate(40.0, RateSource.DEFAULT)) == dt.date(2026, 1, 1) + dt.timedelta(176)


def test_it_adds_calendar_months_keeping_month_ends():
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2028, 1, 31), 1) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2026, 3, 15), 12) == dt.date(2027, 3, 15)


# ---- generation ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_makes_the_periodic_maintenance_reminder_by_the_earlier_of_time_and_km(store_a):
    _only(store_a, ReminderKind.MAINTENANCE, lead_days=14, months=6, km=10000)
    c = f.CustomerFactory(store=store_a, birthday=None)
    v = f.owned_vehicle(c, delivery_date=dt.date(2024, 1, 10))
    d0 = dt.date(2026, 1, 1)
    f.RepairOrderFactory(customer=c, vehicle=v, kind="mechanical", settled_at=_at(d0), mileage=10000)
    f.RepairOrderFactory(customer=c, vehicle=v, kind="mechanical", settled_at=_at(d0 + dt.timedelta(60)),
                         mileage=13000)
    f.RepairOrderFactory(customer=c, vehicle=v, kind="maintenance", settled_at=_at(dt.date(2026, 5, 1)),
                         mileage=16000)
    # 50 km/day: by km 2026-11-17, by time 2026-11-01 → due 1 Nov, made from 18 Oct (14 days before)
    assert reminders_generate(store_id=store_a.pk, today=dt.date(2026, 10, 17))["reminders"] == 0
    assert reminders_generate(store_id=store_a.pk, today=dt.date(2026, 10, 18))["reminders"] == 1
    r = Reminder.objects.get()
    assert (r.kind, r.due_on, r.made_on, r.vehicle_id) == (ReminderKind.MAINTENANCE, dt.date(2026, 11, 1),
                                                           dt.date(2026, 10, 18), v.pk)
    assert r.came_until == dt.date(2026, 12, 1)
    # the vehicle's own interval wins over the rule's: 3 months → 1 Aug, already made on 18 Jul
    Reminder.objects.all().delete()
    FollowupTask.objects.all().delete()
    v.maintenance_interval_months = 3
    v.save()
    reminders_generate(store_id=store_a.pk, today=dt.date(2026, 7, 18))
    assert Reminder.objects.get().due_on == dt.date(2026, 8, 1)


@pytest.mark.django_db
def test_it_dues_the_first_maintenance_on_a_month_end(store_a):
    _only(store_a, ReminderKind.FIRST_MAINTENANCE, lead_days=0, months=1, km=5000)
    c = f.CustomerFactory(store=store_a, birthday=None)
    f.owned_vehicle(c, delivery_date=dt.date(2027, 1, 31))  # no reading: 5000 km at 40/day = 125 days, later
    reminders_generate(store_id=store_a.pk, today=dt.date(2027, 2, 27))
    assert not Reminder.objects.exists()
    reminders_generate(store_id=store_a.pk, today=dt.date(2027, 2, 28))
    assert Reminder.objects.get().due_on == dt.date(2027, 2, 28)


@pytest.mark.django_db
def test_it_dues_a_call_task_after_the_spring_festival(store_a):
    # made on Fri 13 Feb 2026; 14 Feb is a make-up working day, 15–23 Feb the Spring Festival: the CARE rule's
    # 3 working days end on Wed 25 Feb
    _only(store_a, ReminderKind.WARRANTY_END, lead_days=30, action=ReminderAction.CALL)
    c = f.CustomerFactory(store=store_a, birthday=None)
    v = f.owned_vehicle(c, warranty_end=dt.date(2026, 3, 15), delivery_date=None)
    reminders_generate(store_id=store_a.pk, today=dt.date(2026, 2, 13))
    r = Reminder.objects.select_related("task").get()
    assert r.task.subject_type == SubjectType.CARE_REMINDER and r.task.subject_id == r.pk
    assert r.task.vehicle_id == v.pk and r.task.status == TaskStatus.OPEN
    assert r.task.due_at == business_day_start(dt.date(2026, 2, 26))


@pytest.mark.django_db
def test_it_makes_birthdays_per_customer_and_year(store_a):
    _only(store_a, ReminderKind.BIRTHDAY, lead_days=1)
    leap = f.CustomerFactory(store=store_a, birthday=dt.date(1988, 2, 29))
    reminders_generate(store_id=store_a.pk, today=dt.date(2027, 2, 27))
    r = Reminder.objects.get()
    assert (r.customer_id, r.vehicle_id, r.due_on) == (leap.pk, None, dt.date(2027, 2, 28))
    reminders_generate(store_id=store_a.pk, today=dt.date(2027, 2, 28))
    assert Reminder.objects.count() == 1


@pytest.mark.django_db
def test_it_runs_twice_and_after_a_killed_run_without_doubles(store_a, settings):
    settings.SMS_BACKEND = "aftercare.core.sms.LocmemBackend"
    from aftercare.core.sms import LocmemBackend

    LocmemBackend.outbox.clear()
    rules = reminder_rules_map([store_a.pk])[store_a.pk]
    ReminderRule.objects.filter(pk=rules[ReminderKind.INSPECTION].pk).update(action=ReminderAction.SMS, lead_days=30)
    today = dt.date(2026, 6, 10)
    customers = [f.CustomerFactory(store=store_a, birthday=None) for _ in range(3)]
    for c in customers:
        f.owned_vehicle(c, delivery_date=dt.date(2025, 6, 20), warranty_end=dt.date(2026, 6, 30))
    # killed after the reminders were written, before their calls and SMS
    with mock.patch.object(remind, "_calls_make", side_effect=KeyboardInterrupt), pytest.raises(KeyboardInterrupt):
        reminders_generate(store_id=store_a.pk, today=today)
    assert Reminder.objects.count() == 6 and not FollowupTask.objects.exists()
    first = reminders_generate(store_id=store_a.pk, today=today)
    assert first == {"reminders": 0, "calls": 3, "sms": 3}
    again = reminders_generate(store_id=store_a.pk, today=today)
    call_command("care_reminders_generate", "--today", "2026-06-10", "--store", store_a.code, stdout=mock.Mock())
    assert again == {"reminders": 0, "calls": 0, "sms": 0}
    assert Reminder.objects.count() == 6
    assert FollowupTask.objects.filter(subject_type=SubjectType.CARE_REMINDER).count() == 3
    assert LetterLog.objects.count() == 3 and len(LocmemBackend.outbox) == 3
    assert set(Reminder.objects.values_list("state", flat=True)) == {ReminderState.CALL, ReminderState.SMS_SENT}
    # a later day: the same due dates are not made again
    assert reminders_generate(store_id=store_a.pk, today=today + dt.timedelta(days=1))["reminders"] == 0


@pytest.mark.django_db
def test_it_calls_and_texts_only_customers_who_accept_service_contact(store_a, settings):
    settings.SMS_BACKEND = "aftercare.core.sms.LocmemBackend"
    from aftercare.core.sms import LocmemBackend

    LocmemBackend.outbox.clear()
    _only(store_a, ReminderKind.WARRANTY_END, lead_days=30)
    rules = reminder_rules_map([store_a.pk])[store_a.pk]
    ReminderRule.objects.filter(pk=rules[ReminderKind.BIRTHDAY].pk).update(is_active=True, lead_days=3)
    no = f.CustomerFactory(store=store_a, consent_service_calls=False, birthday=dt.date(1990, 6, 12))
    yes = f.CustomerFactory(store=store_a, birthday=None)
    f.owned_vehicle(no, warranty_end=dt.date(2026, 6, 30))
    f.owned_vehicle(yes, warranty_end=dt.date(2026, 6, 30))
    reminders_generate(store_id=store_a.pk, today=dt.date(2026, 6, 10))
    states = dict(Reminder.objects.values_list("customer_id", "kind").values_list("customer_id", "state")
                  .filter(kind=ReminderKind.WARRANTY_END))
    assert states == {no.pk: ReminderState.NO_CONSENT, yes.pk: ReminderState.CALL}
    birthday = Reminder.objects.get(kind=ReminderKind.BIRTHDAY)
    assert birthday.customer_id == no.pk and birthday.state == ReminderState.NO_CONSENT and birthday.letter is None
    assert list(FollowupTask.objects.values_list("customer_id", flat=True)) == [yes.pk]
    assert LocmemBackend.outbox == []


@pytest.mark.django_db
def test_a_reminder_sms_is_not_sent_when_consent_is_withdrawn_after_it_was_made(store_a, settings):
    settings.SMS_BACKEND = "aftercare.core.sms.LocmemBackend"
    from aftercare.core.sms import LocmemBackend
    from aftercare.customers.models import Customer
    from aftercare.followups.choices import LetterStatus

    LocmemBackend.outbox.clear()
    _only(store_a, ReminderKind.BIRTHDAY, lead_days=3)
    customer = f.CustomerFactory(store=store_a, birthday=dt.date(1990, 6, 12))
    today = dt.date(2026, 6, 10)
    # a killed run made the reminder (the customer consented then) and its letter, and sent nothing
    with mock.patch.object(remind, "letter_deliver", side_effect=KeyboardInterrupt), pytest.raises(KeyboardInterrupt):
        reminders_generate(store_id=store_a.pk, today=today)
    reminder = Reminder.objects.get()
    assert reminder.state == ReminderState.SMS_PENDING and reminder.letter.status == LetterStatus.PENDING
    Customer.objects.filter(pk=customer.pk).update(consent_service_calls=False)
    assert reminders_generate(store_id=store_a.pk, today=today)["sms"] == 0
    assert LocmemBackend.outbox == []
    reminder.refresh_from_db()
    assert reminder.state == ReminderState.SMS_PENDING
    assert (reminder.letter.status, reminder.letter.error) == (LetterStatus.CANCELLED, "no service consent")


@pytest.mark.django_db
def test_it_skips_inactive_rules_and_another_stores_vehicles(store_a, store_b):
    ReminderRule.objects.all().delete()
    reminder_rules_map([store_a.pk, store_b.pk])
    ReminderRule.objects.filter(store=store_a).update(is_active=False)
    for store in (store_a, store_b):
        f.owned_vehicle(f.CustomerFactory(store=store, birthday=None), warranty_end=dt.date(2026, 6, 30))
    reminders_generate(store_id=store_a.pk, today=dt.date(2026, 6, 10))
    assert not Reminder.objects.exists()
    reminders_generate(today=dt.date(2026, 6, 10))
    assert list(Reminder.objects.values_list("store_id", flat=True)) == [store_b.pk]
