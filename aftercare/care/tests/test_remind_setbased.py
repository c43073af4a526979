"""PostgreSQL's set-based reminder generation (`_reminders_insert`) against the portable Python plan
(`reminders_plan`, what SQLite runs): the same reminder rows over many days, rule variants, month ends, leap days,
own intervals, mileage rates (own, model median, default) and consent; and the customer-360 panel in a fixed number
of queries, seeding nothing."""

import datetime as dt
import random

import pytest
from django.db import connection

from aftercare.care.choices import ReminderKind
from aftercare.care.models import Reminder, ReminderRule
from aftercare.care.services import remind
from aftercare.org.calendar import business_day_start
from aftercare.testing import factories as f

PANEL_QUERIES = 8  # perms read from the user; owners, visits, rules, readings, the group, its vehicles of the models
# lacking a rate (that may have one), their readings, plates
FIELDS = ("customer_id", "vehicle_id", "kind", "due_on", "made_on", "action", "state", "came_until")


def _world(store, seed: int = 7) -> None:
    rnd = random.Random(seed)
    days = [dt.date(2021, 1, 31), dt.date(2024, 2, 29), dt.date(2023, 8, 31), dt.date(2025, 11, 30),
            dt.date(2025, 12, 31), dt.date(2026, 1, 31)]
    for _ in range(45):
        born = rnd.choice([None, dt.date(1988, 2, 29), dt.date(1990, 1, 5), dt.date(1979, 3, 1)]
                          + [dt.date(1970, 1, 1) + dt.timedelta(rnd.randrange(15000))])
        c = f.CustomerFactory(store=store, birthday=born, consent_service_calls=rnd.random() > 0.25)
        for _ in range(rnd.choice((1, 1, 2))):
            delivery = rnd.choice(days + [dt.date(2021, 1, 1) + dt.timedelta(rnd.randrange(1900)), None])
            v = f.owned_vehicle(
                c, model=rnd.choice(("英朗", "英朗", "GL8", "")), delivery_date=delivery,
                warranty_end=delivery and rnd.choice((None, delivery + dt.timedelta(days=1095))),
                maintenance_interval_months=rnd.choice((None, None, 0, 3, 4)),
                maintenance_interval_km=rnd.choice((None, None, 0, 7500)))
            km = rnd.randrange(0, 30000)
            for _ in range(rnd.choice((0, 1, 2, 3, 4))):
                at = dt.date(2025, 1, 1) + dt.timedelta(rnd.randrange(480))
                km += rnd.randrange(-500, 9000)
                f.RepairOrderFactory(customer=c, vehicle=v, settled_at=business_day_start(at) + dt.timedelta(
                    hours=rnd.choice((1, 10, 23))), kind=rnd.choice(("maintenance", "first_free_maintenance",
                                                                      "mechanical")),
                    mileage=rnd.choice((None, max(km, 1))))


def _rows(store, today, fast: bool, monkeypatch) -> tuple[int, set]:
    Reminder.objects.all().delete()
    monkeypatch.setattr(remind, "FAST_PATH", fast)
    n = remind.reminders_make(store_id=store.pk, today=today, model_cache={})
    return n, set(Reminder.objects.values_list(*FIELDS))


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based way is PostgreSQL's")
@pytest.mark.django_db
def test_it_makes_the_same_reminders_set_based_as_the_python_plan(store_a, monkeypatch):
    _world(store_a)
    remind.reminder_rules_ensure([store_a.pk])
    ReminderRule.objects.filter(store=store_a, kind=ReminderKind.BIRTHDAY).update(is_active=True, lead_days=5)
    variants = [
        {},  # the defaults: km intervals on
        {ReminderKind.FIRST_MAINTENANCE: {"months": None}, ReminderKind.MAINTENANCE: {"km": None, "months": 2}},
        {ReminderKind.FIRST_MAINTENANCE: {"km": None, "months": 1}, ReminderKind.MAINTENANCE: {"km": 0}},
    ]
    made, kinds = 0, set()
    for variant in variants:
        for kind, fields in variant.items():
            ReminderRule.objects.filter(store=store_a, kind=kind).update(**fields)
        for step in range(0, 400, 9):
            today = dt.date(2025, 12, 20) + dt.timedelta(days=step)
            n_fast, fast = _rows(store_a, today, True, monkeypatch)
            n_plan, plan = _rows(store_a, today, False, monkeypatch)
            assert fast == plan, (variant, today, fast ^ plan)
            assert n_fast == n_plan == len(fast)
            made += n_fast
            kinds |= {row[2] for row in fast}
    assert made > 200 and kinds == set(ReminderKind.values)


def _panel_queries(user, customer) -> tuple[int, list]:
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(conn) as ctx:
        rows = remind.vehicle_projections(user=user, customer=customer, today=dt.date(2026, 6, 1))
    return len(ctx.captured_queries), rows


@pytest.mark.django_db
def test_the_customer_panel_reads_in_a_fixed_number_of_queries_and_seeds_nothing(users, store_a):
    from aftercare.org.choices import Role

    user = users[Role.CS_SPECIALIST]
    d0 = dt.date(2026, 1, 1)
    other = f.CustomerFactory(store=store_a)
    gl8 = f.owned_vehicle(other, model="GL8")  # its own rate, 50 km a day: the GL8s' median
    for days, km in ((0, 1000), (100, 6000)):
        f.RepairOrderFactory(customer=other, vehicle=gl8, settled_at=business_day_start(d0 + dt.timedelta(days)),
                             mileage=km)
    small, large = f.CustomerFactory(store=store_a), f.CustomerFactory(store=store_a)
    for customer, n in ((small, 2), (large, 6)):
        for i in range(n):
            v = f.owned_vehicle(customer, model="GL8" if i % 2 else "英朗")
            f.RepairOrderFactory(customer=customer, vehicle=v, settled_at=business_day_start(d0), mileage=1000)
    n_small, rows = _panel_queries(user, small)
    n_large, rows_large = _panel_queries(user, large)
    assert n_small == n_large == PANEL_QUERIES
    assert len(rows) == 2 and len(rows_large) == 6
    rates = {r["model"]: (r["rate"].km_per_day, r["rate"].source) for r in rows}
    assert rates == {"GL8": (pytest.approx(50.0), remind.RateSource.MODEL),
                     "英朗": (remind.DEFAULT_KM_PER_DAY, remind.RateSource.DEFAULT)}
    assert not ReminderRule.objects.exists()  # a page view seeds no rules


def test_a_store_created_through_the_service_gets_the_default_reminder_rules(store_a, users):
    from aftercare.org.models import Store
    from aftercare.org.services import store_create

    store = store_create(actor=users["group_admin"], store=Store(group=store_a.group, region=store_a.region,
                                                                 code="N01", name="新店", brand="别克"))
    rules = {r.kind: r for r in ReminderRule.objects.filter(store=store)}
    assert set(rules) == set(ReminderKind.values)
    assert (rules[ReminderKind.MAINTENANCE].months, rules[ReminderKind.MAINTENANCE].km) == (6, 10000)
    assert not ReminderRule.objects.filter(store=store_a).exists()


@pytest.mark.django_db
def test_the_daily_run_seeds_the_rules_of_a_store_made_before_seeding(store_a):
    f.owned_vehicle(f.CustomerFactory(store=store_a, birthday=None), warranty_end=dt.date(2026, 6, 30))
    assert remind.reminders_generate(store_id=store_a.pk, today=dt.date(2026, 6, 10))["reminders"] == 1
    assert ReminderRule.objects.filter(store=store_a).count() == len(ReminderKind.values)
