"""`manage.py seed_demo` on an empty database: `--reset` rebuilds the same demo, `--scale` adds customers, a bad
`--scale` is refused. Apart from `seeded/`, whose tests share one demo seeded for the package."""

import datetime as dt
import io
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command

from aftercare.customers.models import (
    Customer,
    Ownership,
    RepairOrder,
    Vehicle,
)
from aftercare.customers.validators import normalize_vin
from aftercare.demo.org import GROUP_CODE
from aftercare.org.models import DealerGroup, Store

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 18, 15, 30, tzinfo=SHANGHAI)


def _seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


@time_machine.travel(NOW, tick=False)
def test_it_rebuilds_the_same_demo_with_reset(db):
    _seed(customers=150)
    first = list(Customer.objects.order_by("number").values_list("number", "name", "mobile", "birthday"))
    ros = RepairOrder.objects.count()
    output = _seed(customers=150, reset=True)
    assert "Deleted the demo group" in output
    assert list(Customer.objects.order_by("number").values_list("number", "name", "mobile", "birthday")) == first
    assert RepairOrder.objects.count() == ros
    assert DealerGroup.objects.filter(code=GROUP_CODE).count() == 1
    assert get_user_model().objects.filter(username="admin").count() == 1


def test_it_adds_scale_data_fast_and_again(db):
    output = _seed(scale=200)
    assert "200 customers added" in output and "rows/s" in output
    assert Store.objects.filter(group__code=GROUP_CODE).count() == 3
    assert 190 <= Customer.objects.count() <= 230
    assert Vehicle.objects.count() >= 180
    assert RepairOrder.objects.count() >= 400  # about 5 per vehicle over 18 months
    _seed(scale=200)
    assert 380 <= Customer.objects.count() <= 460
    vins = list(Vehicle.objects.values_list("vin", flat=True))
    assert len(set(vins)) == len(vins) and all(normalize_vin(v) == v for v in vins)
    current = Counter(Ownership.objects.filter(valid_to__isnull=True).values_list("vehicle_id", flat=True))
    assert max(current.values()) == 1
    numbers = Customer.objects.values_list("store_id", "number")
    assert len(set(numbers)) == numbers.count()


def test_it_rejects_a_bad_scale(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="--scale"):
        _seed(scale=0)
    assert not DealerGroup.objects.exists()
