"""Free slots from capacity minus bookings, on the store's calendar, in Asia/Shanghai."""

import datetime as dt

import pytest

from aftercare.appointments.availability import availability
from aftercare.appointments.models import AppointmentSettings, DayOverride, KindCap, OpeningHours
from aftercare.org.calendar import business_tz

pytestmark = pytest.mark.django_db
TZ = business_tz()
NOW = dt.datetime(2026, 2, 1, 0, tzinfo=dt.UTC)


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ).astimezone(dt.UTC)


def test_it_offers_every_slot_start_a_booking_fits_in(store_a, workshop):
    AppointmentSettings.objects.create(store=store_a, walk_in_share=0)
    day = dt.date(2026, 3, 2)
    [plan] = availability(store_id=store_a.pk, start=day, end=day, kinds=[workshop["maintenance"]], now=NOW)
    starts = [at for at, _bay in plan.free]
    assert starts[0] == local(day, 8, 30) and starts[-1] == local(day, 16, 30)  # 60 minutes fit before 17:30
    assert len(starts) == 17
    assert {bay for _at, bay in plan.free} == {workshop["bays"][0].pk}  # the dedicated appointment bay first


def test_it_closes_on_the_spring_festival_and_opens_on_a_make_up_working_day(store_a, workshop):
    OpeningHours.objects.filter(store=store_a, weekday=5).delete()  # closed on Saturdays
    plans = {p.date: p for p in availability(store_id=store_a.pk, start=dt.date(2026, 2, 14),
                                              end=dt.date(2026, 2, 28), now=NOW)}
    assert not plans[dt.date(2026, 2, 17)].open and plans[dt.date(2026, 2, 17)].why_closed == "holiday"
    assert plans[dt.date(2026, 2, 14)].open  # Saturday, a make-up working day: Monday's hours
    assert plans[dt.date(2026, 2, 28)].open
    assert not plans[dt.date(2026, 2, 21)].open  # holiday
    assert plans[dt.date(2026, 2, 24)].open


def test_it_closes_a_weekday_the_work_calendar_makes_a_holiday_in_a_year_the_library_does_not_know(store_a, workshop):
    from aftercare.org.models import WorkCalendarDay

    # chinese-calendar knows no 2027 holidays: the group enters the State Council's notice as overrides
    WorkCalendarDay.objects.create(store=None, date=dt.date(2027, 2, 8), is_workday=False, note="春节")
    WorkCalendarDay.objects.create(store=store_a, date=dt.date(2027, 2, 9), is_workday=False, note="春节")
    plans = {p.date: p for p in availability(store_id=store_a.pk, start=dt.date(2027, 2, 6),
                                              end=dt.date(2027, 2, 10), now=NOW)}
    assert (plans[dt.date(2027, 2, 8)].open, plans[dt.date(2027, 2, 8)].why_closed) == (False, "holiday")
    assert not plans[dt.date(2027, 2, 9)].open
    assert plans[dt.date(2027, 2, 10)].open  # an ordinary Wednesday
    assert plans[dt.date(2027, 2, 6)].open  # Saturday: the store opens on weekends


def test_an_override_closes_a_day_or_changes_its_hours(store_a, workshop):
    DayOverride.objects.create(store=store_a, date=dt.date(2026, 3, 3), closed=True)
    DayOverride.objects.create(store=store_a, date=dt.date(2026, 3, 4), opens_at=dt.time(10), closes_at=dt.time(12))
    plans = {p.date: p for p in availability(store_id=store_a.pk, start=dt.date(2026, 3, 3),
                                              end=dt.date(2026, 3, 4), now=NOW)}
    assert not plans[dt.date(2026, 3, 3)].open
    assert [at for at, _ in plans[dt.date(2026, 3, 4)].free][0] == local(dt.date(2026, 3, 4), 10)


def test_it_holds_back_the_walk_in_share_and_respects_caps(store_a, workshop, booker):
    from aftercare.appointments.services.booking import booking_create
    from aftercare.testing import factories as f

    AppointmentSettings.objects.create(store=store_a, walk_in_share=90, booking_horizon_days=365)
    day = dt.date(2027, 3, 2)
    # 2 bays × 18 half-hour slots = 36; 90 % (32) held back leaves 4: a 60- and a 30-minute booking leave one
    customer = f.CustomerFactory(store=store_a)
    vehicle = f.owned_vehicle(customer)
    booking_create(actor=booker, store=store_a, customer=customer, vehicle=vehicle, kinds=[workshop["maintenance"]],
                   start_at=local(day, 9))
    booking_create(actor=booker, store=store_a, customer=customer, vehicle=vehicle, kinds=[workshop["estimate"]],
                   start_at=local(day, 11))
    now = local(dt.date(2027, 2, 1), 8)
    [plan] = availability(store_id=store_a.pk, start=day, end=day, kinds=[workshop["maintenance"]], now=now)
    assert plan.full and not plan.free
    [plan] = availability(store_id=store_a.pk, start=day, end=day, kinds=[workshop["estimate"]], now=now)
    assert plan.free  # a 30-minute estimate still fits in the last bookable slot
    KindCap.objects.create(store=store_a, weekday=day.weekday(), service_kind=workshop["estimate"], cap=0)
    [plan] = availability(store_id=store_a.pk, start=day, end=day, kinds=[workshop["estimate"]], now=now)
    assert plan.full


def test_it_reads_a_month_in_a_constant_number_of_queries(store_a, workshop, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):
        days = availability(store_id=store_a.pk, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31),
                            kinds=[workshop["maintenance"]], now=NOW)
    assert len(days) == 31


def test_it_offers_nothing_in_the_past(store_a, workshop):
    day = dt.date(2026, 3, 2)
    now = local(day, 12, 10)
    [plan] = availability(store_id=store_a.pk, start=day, end=day, now=now)
    assert min(at for at, _ in plan.free) == local(day, 12, 30)
