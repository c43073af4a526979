"""The churn-risk model: the hidden process, the simulator's backtest (the issue's pass bound), the features read
from the database against hand-computed customers, training and the daily scoring (idempotent)."""

import datetime as dt
import re
from decimal import Decimal
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from aftercare.care import churnmodel as cm
from aftercare.care.churnsim import aggregates_from_events, labels, monthly_hazard, simulate
from aftercare.care.models import CareProfile, ChurnModel, ChurnScore
from aftercare.care.services.churn import (
    churn_aggregates_read,
    churn_model_train,
    churn_scores_write,
    cutoff_day,
)
from aftercare.complaints.models import Feedback
from aftercare.followups.choices import Trigger
from aftercare.followups.models import AnswerSheet, FollowupTask, QuestionnaireTemplate
from aftercare.followups.services.rules import followup_rule_get
from aftercare.org.calendar import business_day_start
from aftercare.testing import factories as f

TODAY = dt.date(2026, 12, 6)


def test_it_applies_the_hidden_process_factors():
    p = monthly_hazard(
        last_score=np.array([np.nan, 850, 950, 850]), complained_6m=np.array([False, True, False, True]),
        warranty_ended=np.array([False, False, True, True]), distance_km=np.array([10.0, 20.0, 60.0, 40.0]),
        books=np.array([False, False, True, True]),
    )
    expected = [0.015, 0.015 * 2.0 * 1.8, 0.015 * 1.5 * 1.3**2 * 0.6, 0.015 * 2.0 * 1.8 * 1.5 * 1.3 * 0.6]
    assert p == pytest.approx(expected)


def test_it_labels_customers_without_a_visit_in_the_next_6_months_as_lost():
    h = simulate(customers=300, months=40, seed=3)
    cutoff = 30 * 30.4375
    y = labels(h, cutoff)
    came = set(h.visit_cust[(h.visit_day >= cutoff) & (h.visit_day < cutoff + cm.DAY_6M)].tolist())
    assert {i for i in range(h.n) if y[i] == 0} == came
    agg = aggregates_from_events(h, cutoff)
    # nobody has a visit after the cutoff in the features
    assert np.nanmax(agg["last_visit"]) < cutoff
    # a customer lost before the cutoff is lost after it
    gone = np.nonzero(h.lost_at < cutoff)[0]
    assert y[gone].all()


def test_it_passes_the_backtest_bound_on_a_fixed_seed():
    out = StringIO()
    call_command("churn_backtest", seeds=1, customers=800, stdout=out)
    text = out.getvalue()
    m = re.search(r"mean AUC ([\d.]+), rule ([\d.]+), gain ([+\-\d.]+): PASS", text)
    assert m, text
    assert float(m[1]) >= 0.80 and float(m[3]) >= 0.03


# ---- the database path ----------------------------------------------------------------------------------------


def _at(day: dt.date) -> dt.datetime:
    return business_day_start(day) + dt.timedelta(hours=10)


def _sheet(store, customer, day, score, staff_user):
    rule = followup_rule_get(store=store, trigger=Trigger.REPAIR_ORDER)
    template = QuestionnaireTemplate.objects.filter(kind="csi").first() or QuestionnaireTemplate.objects.create(
        code="T-csi", kind="csi", name_zh="csi", status="active")
    task = FollowupTask.objects.create(store=store, rule=rule, kind=rule.kind, subject_type="repair_order",
                                       subject_id=customer.pk * 100 + day.toordinal() % 100, customer=customer,
                                       event_at=_at(day), due_at=_at(day) + dt.timedelta(days=2))
    return AnswerSheet.objects.create(store=store, task=task, template=template, answered_by=staff_user,
                                      answered_at=_at(day), score_total=Decimal(score))


def _complaint(store, customer, day, user):
    fb = Feedback.objects.create(store=store, kind="complaint", source="walk_in", category="mechanical",
                                 customer=customer, text="等太久", status="new", created_by=user)
    Feedback.objects.filter(pk=fb.pk).update(created_at=_at(day))


@pytest.mark.django_db
def test_it_reads_the_features_of_a_hand_computed_customer(store_a, manager):
    c = f.CustomerFactory(store=store_a)
    vehicle = f.owned_vehicle(c, delivery_date=dt.date(2022, 1, 10), warranty_end=dt.date(2025, 1, 10))
    for day, km, amount in ((dt.date(2025, 6, 1), 30000, "500"), (dt.date(2025, 12, 1), 36000, "700"),
                            (dt.date(2026, 6, 1), 42000, "900")):
        f.RepairOrderFactory(store=store_a, customer=c, vehicle=vehicle, settled_at=_at(day), mileage=km,
                             amount=Decimal(amount), booked=True)
    # not counted (warranty claim) but a mileage reading; after the cutoff: ignored
    f.RepairOrderFactory(store=store_a, customer=c, vehicle=vehicle, settled_at=_at(dt.date(2026, 7, 1)),
                         kind="warranty", mileage=43000)
    f.RepairOrderFactory(store=store_a, customer=c, vehicle=vehicle, settled_at=_at(dt.date(2026, 9, 1)))
    CareProfile.objects.create(store=store_a, customer=c, distance_km=Decimal("45.0"))
    _sheet(store_a, c, dt.date(2025, 12, 3), "950", manager)
    _sheet(store_a, c, dt.date(2026, 6, 3), "820", manager)
    _complaint(store_a, c, dt.date(2026, 6, 20), manager)
    _complaint(store_a, c, dt.date(2025, 6, 20), manager)  # older than 6 months

    cutoff = dt.date(2026, 8, 1)
    ids, stores, agg = churn_aggregates_read(cutoff=cutoff)
    assert list(ids) == [c.pk] and list(stores) == [store_a.pk]
    X = cm.features_assemble(agg, cutoff_day(cutoff))
    row = dict(zip(cm.FEATURE_NAMES, X[0], strict=True))
    assert row["days_since_last_visit"] == pytest.approx((cutoff - dt.date(2026, 6, 1)).days, abs=0.5)
    interval = (dt.date(2026, 6, 1) - dt.date(2025, 6, 1)).days / 2
    assert row["overdue_ratio"] == pytest.approx(row["days_since_last_visit"] / interval)
    assert row["visits_12m"] == 2 and row["visits_24m"] == 3
    assert row["spend_12m"] == pytest.approx(1.6) and row["spend_24m"] == pytest.approx(2.1)
    assert row["warranty_ended"] == 1
    assert row["km_per_day"] == pytest.approx(13000 / (dt.date(2026, 7, 1) - dt.date(2025, 6, 1)).days, rel=1e-3)
    assert row["complaints_6m"] == 1
    assert row["survey_low"] == 1 and row["survey_score"] == 820 and row["no_survey"] == 0
    assert row["distance_km"] == 45 and row["km_beyond_20"] == 25
    assert row["books_appointments"] == 1
    assert row["vehicle_age_years"] == pytest.approx((cutoff - dt.date(2022, 1, 10)).days / 365.25, rel=1e-3)


def _reference(customer_ids, cutoff: dt.date) -> dict[int, dict[str, float]]:
    """The aggregates of each customer computed the plain way, one customer at a time in Python."""
    from aftercare.care.visits import COUNTED_KINDS
    from aftercare.customers.models import Ownership, RepairOrder

    end = business_day_start(cutoff)
    day = lambda at: at.timestamp() / 86400.0  # noqa: E731
    out = {}
    for cid in customer_ids:
        orders = list(RepairOrder.objects.filter(customer_id=cid, settled_at__lt=end))
        visits = [o for o in orders if o.kind in COUNTED_KINDS]
        if not visits:
            continue
        within = lambda rows, days: [o for o in rows if o.settled_at >= end - dt.timedelta(days=days)]  # noqa: E731
        read = [o for o in orders if o.mileage is not None]
        owned = [o.vehicle for o in Ownership.objects.filter(customer_id=cid, valid_from__lt=cutoff)
                 if o.valid_to is None or o.valid_to >= cutoff]
        sheets = list(AnswerSheet.objects.filter(task__customer_id=cid, answered_at__lt=end,
                                                 score_total__isnull=False).order_by("-answered_at", "-id"))
        profile = CareProfile.objects.filter(customer_id=cid).first()
        n24 = within(orders, 730)
        out[cid] = {
            "last_visit": day(max(o.settled_at for o in visits)), "first_visit": day(min(o.settled_at for o in visits)),
            "n_visits": len(visits), "visits_6m": len(within(visits, 183)), "visits_12m": len(within(visits, 365)),
            "visits_24m": len(within(visits, 730)), "spend_12m": float(sum(o.amount for o in within(visits, 365))),
            "spend_24m": float(sum(o.amount for o in within(visits, 730))),
            "mileage_min": min((o.mileage for o in read), default=np.nan),
            "mileage_max": max((o.mileage for o in read), default=np.nan),
            "mileage_day_min": min((day(o.settled_at) for o in read), default=np.nan),
            "mileage_day_max": max((day(o.settled_at) for o in read), default=np.nan),
            "delivery": max((day(business_day_start(v.delivery_date)) for v in owned if v.delivery_date),
                            default=np.nan),
            "warranty_end": max((day(business_day_start(v.warranty_end)) for v in owned if v.warranty_end),
                                default=np.nan),
            "complaints_6m": Feedback.objects.filter(customer_id=cid, kind__in=("complaint", "grievance"),
                                                     created_at__gte=end - dt.timedelta(days=183),
                                                     created_at__lt=end).count(),
            "survey_score": float(sheets[0].score_total) if sheets else np.nan,
            "distance_km": float(profile.distance_km) if profile and profile.distance_km is not None else np.nan,
            "books_appointments": float((bool(n24) and 2 * sum(o.booked for o in n24) >= len(n24))
                                        or bool(profile and profile.books_appointments)),
        }
    return out


@pytest.mark.django_db
def test_it_reads_the_features_of_many_customers_in_one_statement_as_computed_one_by_one(
        store_a, store_b, manager, django_assert_max_num_queries):
    cutoff = dt.date(2026, 8, 1)
    customers = []
    for i in range(8):
        store = store_a if i % 3 else store_b
        c = f.CustomerFactory(store=store)
        customers.append(c)
        vehicle = f.owned_vehicle(c, delivery_date=dt.date(2020 + i % 4, 1 + i, 10),
                                  warranty_end=dt.date(2023 + i % 4, 1 + i, 10) if i != 2 else None)
        if i == 3:  # two vehicles: the newest delivery counts; one sold before the cutoff does not
            f.owned_vehicle(c, delivery_date=dt.date(2025, 3, 1), warranty_end=dt.date(2028, 3, 1))
            sold = f.VehicleFactory(store=store, delivery_date=dt.date(2026, 1, 1))
            f.OwnershipFactory(customer=c, store=store, vehicle=sold, valid_from=dt.date(2026, 1, 1),
                               valid_to=dt.date(2026, 5, 1))
        for k in range(i + 1):
            day = cutoff - dt.timedelta(days=40 + 97 * k + 11 * i)
            kind = "warranty_claim" if (i + k) % 4 == 3 else "maintenance"
            f.RepairOrderFactory(store=store, customer=c, vehicle=vehicle, settled_at=_at(day), kind=kind,
                                 mileage=None if (i + k) % 5 == 4 else 5000 + 3000 * (i + 1 - k),
                                 amount=Decimal(f"{100 + 37 * k}.{i}5"), booked=(i + k) % 3 == 0)
        f.RepairOrderFactory(store=store, customer=c, vehicle=vehicle, settled_at=_at(cutoff))  # after: ignored
        if i % 2:
            CareProfile.objects.create(store=store, customer=c, distance_km=Decimal(f"{12 + i}.5") if i != 5 else None,
                                       books_appointments=i == 7)
        if i in (1, 4):
            _sheet(store, c, cutoff - dt.timedelta(days=100), "880", manager)
            _sheet(store, c, cutoff - dt.timedelta(days=50 + i), "960", manager)
            _sheet(store, c, cutoff + dt.timedelta(days=3), "700", manager)  # after the cutoff
        if i in (2, 4):
            _complaint(store, c, cutoff - dt.timedelta(days=20), manager)
    # only uncounted orders: not read
    loner = f.CustomerFactory(store=store_a)
    f.RepairOrderFactory(store=store_a, customer=loner, settled_at=_at(cutoff - dt.timedelta(days=9)), kind="wash")

    with django_assert_max_num_queries(1):
        ids, stores, agg = churn_aggregates_read(cutoff=cutoff)
    expected = _reference([c.pk for c in customers] + [loner.pk], cutoff)
    assert list(ids) == sorted(expected) and loner.pk not in expected
    assert list(stores) == [next(c.store_id for c in customers if c.pk == i) for i in ids]
    for k in cm.AGGREGATES:
        np.testing.assert_allclose(agg[k], [expected[i][k] for i in ids], rtol=1e-12, err_msg=k)
    active = churn_aggregates_read(cutoff=cutoff, active_only=True)
    act = cm.active_mask(agg)
    assert 0 < act.sum() < len(ids) and list(active[0]) == list(ids[act])


def _history(store, n=40):
    """Half the customers keep coming every 3 months; the other half stop at dates spread over two years."""
    customers = []
    for i in range(n):
        c = f.CustomerFactory(store=store)
        vehicle = f.owned_vehicle(c, delivery_date=dt.date(2021, 1, 1) + dt.timedelta(days=20 * i))
        stop = dt.date(2024, 3, 1) + dt.timedelta(days=25 * i) if i % 2 else dt.date(2030, 1, 1)
        day = dt.date(2022, 1, 5) + dt.timedelta(days=i)
        km = 10000
        while day < TODAY and day < stop:
            f.RepairOrderFactory(store=store, customer=c, vehicle=vehicle, settled_at=_at(day), mileage=km)
            day += dt.timedelta(days=90 + (i % 5) * 3)
            km += 4000
        customers.append(c)
    return customers


@pytest.mark.django_db
def test_it_trains_scores_and_rescores_idempotently(store_a):
    customers = _history(store_a)
    row = churn_model_train(today=TODAY, train_months=12)
    assert row.metrics["test_cutoff"] == "2026-05-01" and row.metrics["train_rows"] > 0
    assert set(row.feature_names) == set(cm.FEATURE_NAMES)
    assert ChurnModel.objects.count() == 1
    n = churn_scores_write(today=TODAY)
    active = [c for i, c in enumerate(customers) if i % 2 == 0 or dt.date(2024, 3, 1) + dt.timedelta(days=25 * i)
              > TODAY - dt.timedelta(days=180)]
    assert n == len(active) == ChurnScore.objects.count()
    first = {s.customer_id: (s.risk, s.reasons, s.store_id, s.model_id, s.scored_on)
             for s in ChurnScore.objects.all()}
    assert all(0 <= r[0] <= 1 for r in first.values())
    assert all(all(cm.reason_label(code) for code in r[1]) for r in first.values())
    assert {r[2:] for r in first.values()} == {(store_a.pk, row.pk, TODAY)}
    # a rerun writes the same rows, no more
    assert churn_scores_write(today=TODAY) == n
    again = {s.customer_id: (s.risk, s.reasons, s.store_id, s.model_id, s.scored_on)
             for s in ChurnScore.objects.all()}
    assert again == first
    # later, customers no longer active lose their score
    later = TODAY + dt.timedelta(days=200)
    assert churn_scores_write(today=later) == 0
    assert not ChurnScore.objects.exists()


@pytest.mark.django_db
def test_it_writes_the_scores_and_reasons_the_model_gives_each_customer(store_a):
    """Old vs new: the table holds, customer by customer, what scoring the features one by one gives (the values
    the care profiles held before the scores had their own table): rounded risk and the top reasons' codes."""
    _history(store_a)
    row = churn_model_train(today=TODAY, train_months=12)
    churn_scores_write(today=TODAY)
    model = cm.TrainedModel.loads(row.model, row.feature_names)
    cutoff = TODAY + dt.timedelta(days=1)
    ids, _stores, agg = churn_aggregates_read(cutoff=cutoff, active_only=True)
    X = cm.features_assemble(agg, cutoff_day(cutoff))
    expected = {}
    for k, cid in enumerate(ids.tolist()):
        if cm.active_mask(agg)[k]:
            x = X[k:k + 1]
            expected[cid] = (round(float(model.predict(x)[0]), 4), model.reasons(x)[0])
    got = {s.customer_id: (s.risk, s.reasons) for s in ChurnScore.objects.all()}
    assert got.keys() == expected.keys() and any(why for _r, why in got.values())
    for cid, (risk, why) in expected.items():
        assert got[cid][0] == pytest.approx(risk, abs=1e-9) and got[cid][1] == why


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # as every transactional test (org/tests)
def test_it_keeps_yesterdays_scores_whole_when_killed_midway(store_a, monkeypatch):
    from aftercare.care.services import churn

    customers = _history(store_a)
    churn_model_train(today=TODAY, train_months=12)
    churn_scores_write(today=TODAY)
    before = set(ChurnScore.objects.values_list("customer_id", "risk", "scored_on"))
    ChurnScore.objects.filter(customer=customers[0]).delete()
    before = {r for r in before if r[0] != customers[0].pk}
    replace = churn._scores_replace

    def killed(cur, *args):  # the old rows gone, the new ones written, then the job dies before the commit
        replace(cur, *args)
        assert ChurnScore.objects.count() > len(before)
        raise KeyboardInterrupt

    monkeypatch.setattr(churn, "_scores_replace", killed)
    with pytest.raises(KeyboardInterrupt):
        churn_scores_write(today=TODAY + dt.timedelta(days=1))
    assert set(ChurnScore.objects.values_list("customer_id", "risk", "scored_on")) == before
    monkeypatch.setattr(churn, "_scores_replace", replace)
    assert churn_scores_write(today=TODAY + dt.timedelta(days=1)) == len(before) + 1  # the rerun mends it


@pytest.mark.django_db
def test_it_ranks_an_overdue_customer_above_a_regular_one(store_a):
    customers = _history(store_a)
    churn_model_train(today=TODAY, train_months=12)
    churn_scores_write(today=TODAY)
    risk = dict(ChurnScore.objects.values_list("customer_id", "risk"))
    regular = [risk[c.pk] for i, c in enumerate(customers) if i % 2 == 0]
    overdue = [risk[c.pk] for i, c in enumerate(customers) if i % 2 and c.pk in risk]
    assert overdue and min(overdue) > np.median(regular)


@pytest.mark.django_db
def test_it_says_when_there_is_no_model(store_a):
    out = StringIO()
    call_command("churn_score", today="2026-12-06", stdout=out)
    assert "no model trained yet" in out.getvalue()
