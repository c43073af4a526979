"""`manage.py seed_demo`: the demo group, its data, idempotence, `--reset` and `--scale`."""

import datetime as dt
import io
import random
import re
from collections import Counter, defaultdict

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from vininfo import Vin

from aftercare.customers.choices import PolicyKind, RepairKind
from aftercare.customers.models import (
    Customer,
    InsurancePolicy,
    MileageReading,
    Ownership,
    RepairOrder,
    SalesDelivery,
    Vehicle,
)
from aftercare.customers.validators import normalize_mobile, normalize_plate, normalize_vin, vin_check_digit
from aftercare.demo.customers import vin_with_check_digit
from aftercare.demo.org import DEMO_PASSWORD, GROUP_CODE
from aftercare.org.choices import DepartmentKind, Role
from aftercare.org.models import DealerGroup, Department, Region, Staff, Store

from .conftest import NOW, SHANGHAI

E164_CN = re.compile(r"^\+861[3-9]\d{9}$")
MODELS = (Customer, Vehicle, Ownership, SalesDelivery, RepairOrder, InsurancePolicy, MileageReading, Staff)


def _seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


@pytest.fixture
def demo(seeded_demo, db):
    return seeded_demo["output"]


def test_it_creates_the_group_regions_stores_departments_and_a_login_per_role(demo, client):
    group = DealerGroup.objects.get(code=GROUP_CODE)
    assert group.name == "粤通汽车集团"
    assert sorted(Region.objects.filter(group=group).values_list("name", flat=True)) == ["华东大区", "华南大区"]
    stores = Store.objects.filter(group=group)
    assert sorted(stores.values_list("code", flat=True)) == ["FS01", "GZ01", "HZ01"]
    assert {s.region.name for s in stores if s.code == "HZ01"} == {"华东大区"}
    for store in stores:
        assert set(Department.objects.filter(store=store).values_list("kind", flat=True)) == set(DepartmentKind.values)
    assert set(Staff.objects.filter(group=group).values_list("role", flat=True)) == set(Role.values)
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff and admin.staff.role == Role.GROUP_ADMIN
    assert set(Staff.objects.get(user__username="south_cs").stores.values_list("code", flat=True)) == {"GZ01", "FS01"}
    for username in ("gz_cs", "gz_csm", "gz_renewal", "gz_mech", "gz_supervisor", "gz_manager", "hz_cs"):
        # django-axes checks every authentication against its request (failed-login throttling)
        assert client.login(request=HttpRequest(), username=username, password=DEMO_PASSWORD), username
    assert "gz_cs" in demo and "CS specialist" in demo and DEMO_PASSWORD in demo


def test_it_generates_about_2000_customers_with_18_months_of_history(demo):
    counts = _counts()
    assert 1900 <= counts["Customer"] <= 2200
    assert 1900 <= counts["Vehicle"] <= 2400
    assert 700 <= counts["SalesDelivery"] <= 1400
    assert 6000 <= counts["RepairOrder"] <= 14000
    assert 1500 <= counts["InsurancePolicy"] <= 3500
    per_store = dict(Customer.objects.values_list("store__code").annotate(n=Count("id")))
    assert per_store["GZ01"] > per_store["FS01"] > per_store["HZ01"] > 400
    first = RepairOrder.objects.order_by("settled_at").first().settled_at.astimezone(SHANGHAI).date()
    last = RepairOrder.objects.order_by("-settled_at").first().settled_at
    assert dt.date(2024, 9, 18) <= first <= dt.date(2024, 10, 10)
    assert last <= NOW
    assert set(RepairOrder.objects.values_list("kind", flat=True)) >= {
        k for k in RepairKind.values if k != RepairKind.INTERNAL
    }


def test_it_writes_only_valid_vins_plates_and_mobiles(demo):
    vins = list(Vehicle.objects.values_list("vin", flat=True))
    assert all(normalize_vin(v) == v and vin_check_digit(v) == v[8] for v in vins)
    assert len(set(vins)) == len(vins)
    plates = [p for p in Vehicle.objects.values_list("plate", flat=True) if p]
    assert all(normalize_plate(p) == p for p in plates)
    assert any(len(p) == 8 for p in plates), "new-energy plates"
    assert {p[:2] for p in plates} >= {"粤A", "粤E", "浙A"}
    for field in ("mobile", "mobile2", "contact_phone"):
        values = [x for x in Customer.objects.values_list(field, flat=True) if x]
        assert all(E164_CN.match(x) and normalize_mobile(x) == x for x in values), field
    assert Customer.objects.filter(mobile="").count() == 0


def test_it_keeps_one_current_owner_per_vehicle_with_some_history(demo):
    current = Counter(Ownership.objects.filter(valid_to__isnull=True).values_list("vehicle_id", flat=True))
    assert max(current.values()) == 1
    assert len(current) >= Vehicle.objects.count() - 20  # a few vehicles were sold away
    assert Ownership.objects.filter(valid_to__isnull=False).count() >= 5  # transfers keep history
    transferred = Ownership.objects.filter(valid_to__isnull=False).values_list("vehicle_id", flat=True)
    assert Vehicle.objects.filter(pk__in=transferred, ownerships__valid_to__isnull=True).exists()
    # an RO belongs to whoever owned the vehicle that day
    for ro in RepairOrder.objects.filter(vehicle_id__in=transferred).select_related("customer"):
        day = ro.settled_at.astimezone(SHANGHAI).date()
        owner = Ownership.objects.get(
            Q(valid_to__isnull=True) | Q(valid_to__gte=day), vehicle_id=ro.vehicle_id, valid_from__lte=day
        )
        assert owner.customer_id == ro.customer_id


def test_it_plants_data_quality_findings(demo):
    dup_mobiles = Customer.objects.values("store", "mobile").annotate(n=Count("id")).filter(n__gt=1)
    assert dup_mobiles.count() >= 5
    current = Ownership.objects.filter(customer=OuterRef("pk"), valid_to__isnull=True)
    no_vehicle = Customer.objects.exclude(Exists(current))
    assert no_vehicle.filter(source="parts_counter").count() >= 10
    assert Customer.objects.filter(address="").count() >= 20
    assert Customer.objects.filter(contact_person="").count() >= 20
    assert Customer.objects.filter(birthday__isnull=True).count() >= 20
    assert 5 <= Customer.objects.filter(consent_service_calls=False).count() <= 150


def test_it_looks_like_a_real_store(demo):
    deliveries = list(SalesDelivery.objects.values_list("vehicle_id", "delivered_at"))
    assert all(dt.time(9) <= at.astimezone(SHANGHAI).time() <= dt.time(20) for _v, at in deliveries)
    delivered = {v: at.astimezone(SHANGHAI).date() for v, at in deliveries}
    first_free = RepairOrder.objects.filter(kind=RepairKind.FIRST_FREE_MAINTENANCE)
    assert first_free.count() >= 300
    for vehicle_id, at in first_free.values_list("vehicle_id", "settled_at"):
        assert 28 <= (at.astimezone(SHANGHAI).date() - delivered[vehicle_id]).days <= 95

    mileage = defaultdict(list)
    for vehicle_id, km in RepairOrder.objects.order_by("settled_at", "id").values_list("vehicle_id", "mileage"):
        mileage[vehicle_id].append(km)
    assert all(kms == sorted(kms) for kms in mileage.values())

    # the appointment rate rises roughly like seed 000 p16 (15 % → 26 %)
    months = defaultdict(lambda: [0, 0])
    for at, booked in RepairOrder.objects.values_list("settled_at", "booked"):
        local = at.astimezone(SHANGHAI)
        months[(local.year, local.month)][0] += 1
        months[(local.year, local.month)][1] += booked
    full = sorted(months)[1:-1]
    early = sum(months[m][1] for m in full[:3]) / sum(months[m][0] for m in full[:3])
    late = sum(months[m][1] for m in full[-3:]) / sum(months[m][0] for m in full[-3:])
    assert 0.10 <= early <= 0.21 and 0.19 <= late <= 0.32 and late > early + 0.04

    # a few repeat repairs of the same fault within 30 days (first-time-fix just under 100 %)
    mech = defaultdict(list)
    for v, at, fault in RepairOrder.objects.filter(kind=RepairKind.MECHANICAL).values_list(
        "vehicle_id", "settled_at", "fault_description"
    ):
        mech[(v, fault)].append(at)
    repeats = sum(
        1 for times in mech.values() for a, b in zip(sorted(times), sorted(times)[1:], strict=False)
        if (b - a).days <= 30
    )
    assert 3 <= repeats <= RepairOrder.objects.filter(kind=RepairKind.MECHANICAL).count() * 0.1

    today = NOW.date()
    policies = InsurancePolicy.objects.all()
    assert policies.filter(kind=PolicyKind.NEW_CAR).count() >= 500
    assert policies.filter(kind=PolicyKind.RENEWAL).count() >= 300
    assert policies.filter(expiry_date__gte=today, expiry_date__lt=today + dt.timedelta(days=90)).count() >= 100
    assert not policies.filter(start_date__gt=today).exists()
    assert len(set(policies.values_list("policy_number", flat=True))) == policies.count()


def test_it_changes_nothing_when_run_again(demo):
    before = _counts()
    names = list(Customer.objects.order_by("id").values_list("number", "name", "mobile"))
    output = _seed()
    assert "already exists" in output and "gz_cs" in output
    assert _counts() == before
    assert list(Customer.objects.order_by("id").values_list("number", "name", "mobile")) == names


@given(st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=17, max_size=17))
@example("6FP00000000000000")  # Ford Australia: no SAE check digit, nothing to compare
def test_it_computes_the_same_check_digit_as_the_validator(body):
    assume(getattr(Vin(body).assembler, "uses_sae_checkdigit", True))
    assert vin_with_check_digit(body)[8] == vin_check_digit(body)


def test_it_is_deterministic_for_a_seed():
    from aftercare.demo.customers import Context, FastRandom, generate_chunk
    from aftercare.demo.org import STORES

    ctx = Context.build(NOW)
    a = generate_chunk(rng=FastRandom("x"), ctx=ctx, spec=STORES[0], customers=50)
    b = generate_chunk(rng=FastRandom("x"), ctx=ctx, spec=STORES[0], customers=50)
    assert a == b and a.customers
    assert random.Random("x").random() == FastRandom("x").random()
