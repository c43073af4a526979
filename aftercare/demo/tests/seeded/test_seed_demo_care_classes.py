"""The demo's year of classes (`aftercare/demo/care_classes.py`): classified at each month-end of the last year and
today from the demo's own repair orders, the yearly churn of base customers falls between 15 % and 35 %, history
runs only forward, and a rerun writes nothing (`seed_demo` classifies the year; the calls here rerun it). The demo
is seeded once for the package (`conftest.py`, rolled back afterwards)."""

import datetime as dt

import pytest
import time_machine
from django.db import transaction

from aftercare.care.models import CareProfile, ClassChange
from aftercare.demo.care_classes import demo_care_classes_create, month_ends
from aftercare.org.models import Store

from .conftest import NOW, TODAY

RESULT = {}


@pytest.fixture(scope="module")
def classified(seeded_demo, django_db_blocker):
    """The year's classification run twice more on the seeded demo (both are reruns: `seed_demo` classified it),
    in a savepoint rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        with time_machine.travel(NOW, tick=False):
            stores = list(Store.objects.order_by("code"))
            RESULT.update(demo_care_classes_create(stores=stores, today=TODAY))
            RESULT["again"] = demo_care_classes_create(stores=stores, today=TODAY)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def demo(classified, db):
    with time_machine.travel(NOW, tick=False):
        yield


def test_it_gives_a_yearly_churn_of_base_customers_between_15_and_35_percent(demo):
    print("demo classes:", RESULT)
    assert 15 <= RESULT["yearly_churn_pct"] <= 35, RESULT


def test_it_writes_a_year_of_class_history_dated_at_month_ends(demo):
    days = set(ClassChange.objects.values_list("on_date", flat=True).distinct())
    ends = month_ends(TODAY)
    assert len(ends) == 13 and ends[0] == dt.date(2025, 2, 28) and ends[-1] == dt.date(2026, 2, 28)
    assert days <= {*ends, TODAY} and len(days) >= 12
    assert ClassChange.objects.filter(on_date=ends[0], from_class="").count() > 100
    assert ClassChange.objects.exclude(from_class="").filter(to_class="lost").exists()
    assert not CareProfile.objects.exclude(classified_on=TODAY).exclude(classified_on__isnull=True).exists()


def test_it_writes_nothing_when_run_again(demo):
    # seed_demo has classified the year already (aftercare/demo/care.py): both calls here are reruns
    assert RESULT["care_class_changes"] == 0 and RESULT["again"]["care_class_changes"] == 0
    assert ClassChange.objects.count() > 1000
