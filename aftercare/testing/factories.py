"""factory-boy factories shared by every app's tests."""

import datetime as dt
import itertools
import random
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from aftercare.customers.models import (
    Customer,
    InsurancePolicy,
    Ownership,
    RepairOrder,
    SalesDelivery,
    Vehicle,
)
from aftercare.customers.validators import vin_check_digit
from aftercare.org.choices import Role
from aftercare.org.models import DealerGroup, Department, Region, Staff, Store

_vin_counter = itertools.count(1)


def make_vin(n: int | None = None, wmi: str = "LSG") -> str:
    """A valid VIN (correct check digit) numbered `n`."""
    n = next(_vin_counter) if n is None else n
    body = f"{wmi}AB12E8R{n:07d}"[:17]  # position 9 replaced below, position 10 = model year R
    return body[:8] + vin_check_digit(body) + body[9:]


_plate_counter = itertools.count(10000)


def make_plate() -> str:
    return f"粤B{next(_plate_counter) % 100000:05d}"


def make_mobile(n: int | None = None) -> str:
    n = random.randint(0, 99_999_999) if n is None else n
    return f"+86138{n:08d}"


class DealerGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DealerGroup
        django_get_or_create = ("code",)

    code = "G1"
    name = "测试汽车集团"


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("group", "code")

    group = factory.SubFactory(DealerGroupFactory)
    code = "S"
    name = "华南大区"


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ("code",)

    group = factory.SelfAttribute("region.group")
    region = factory.SubFactory(RegionFactory)
    code = factory.Sequence(lambda n: f"ST{n:02d}")
    name = factory.Sequence(lambda n: f"测试4S店{n}")
    brand = "别克"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("store", "kind")

    store = factory.SubFactory(StoreFactory)
    kind = "customer_service"
    name = "客服部"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Staff
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    group = factory.SubFactory(DealerGroupFactory)
    role = Role.CS_SPECIALIST
    display_name = factory.Sequence(lambda n: f"员工{n}")

    @factory.post_generation
    def stores(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.stores.set(extracted)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    store = factory.SubFactory(StoreFactory)
    number = factory.Sequence(lambda n: f"C{n:07d}")
    name = factory.Sequence(lambda n: f"客户{n}")
    mobile = factory.Sequence(lambda n: make_mobile(n))
    address = "广州市天河区体育西路1号"
    contact_person = "本人"
    birthday = dt.date(1985, 5, 1)


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle

    store = factory.SubFactory(StoreFactory)
    vin = factory.LazyFunction(make_vin)
    plate = factory.LazyFunction(make_plate)
    brand = "别克"
    model = "英朗"
    delivery_date = dt.date(2025, 6, 1)


class OwnershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ownership

    customer = factory.SubFactory(CustomerFactory)
    store = factory.SelfAttribute("customer.store")
    vehicle = factory.SubFactory(VehicleFactory, store=factory.SelfAttribute("..store"))
    valid_from = dt.date(2025, 6, 1)


def owned_vehicle(customer: Customer, **kwargs) -> Vehicle:
    """A vehicle currently owned by `customer`."""
    vehicle = VehicleFactory(store=customer.store, **kwargs)
    OwnershipFactory(customer=customer, store=customer.store, vehicle=vehicle)
    return vehicle


class SalesDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesDelivery

    customer = factory.SubFactory(CustomerFactory)
    store = factory.SelfAttribute("customer.store")
    vehicle = factory.SubFactory(VehicleFactory, store=factory.SelfAttribute("..store"))
    delivered_at = factory.LazyFunction(timezone.now)
    sales_consultant = "王销售"


class RepairOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RepairOrder

    customer = factory.SubFactory(CustomerFactory)
    store = factory.SelfAttribute("customer.store")
    vehicle = factory.SubFactory(VehicleFactory, store=factory.SelfAttribute("..store"))
    ro_number = factory.Sequence(lambda n: f"RO{n:08d}")
    settled_at = factory.LazyFunction(timezone.now)
    kind = "maintenance"
    amount = Decimal("680.00")
    mileage = 12000
    service_advisor = "李顾问"


class InsurancePolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InsurancePolicy

    customer = factory.SubFactory(CustomerFactory)
    store = factory.SelfAttribute("customer.store")
    vehicle = factory.SubFactory(VehicleFactory, store=factory.SelfAttribute("..store"))
    policy_number = factory.Sequence(lambda n: f"PDAA2025{n:010d}")
    insurer = "中国人保"
    start_date = dt.date(2025, 6, 1)
    expiry_date = dt.date(2026, 5, 31)
    premium = Decimal("4500.00")
    kind = "new_car"
