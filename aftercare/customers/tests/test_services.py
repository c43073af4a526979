import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from aftercare.core.models import AuditEvent
from aftercare.customers.models import Customer, Ownership
from aftercare.customers.services import (
    customer_create,
    customer_numbers_allocate,
    customer_update,
    ownership_transfer,
    vehicle_create,
)
from aftercare.testing import factories as f


def test_it_numbers_customers_per_store(specialist, store_a, store_b):
    a1 = customer_create(actor=specialist, store=store_a, name="张伟", mobile="13800000001")
    a2 = customer_create(actor=specialist, store=store_a, name="李娜", mobile="13800000002")
    b1 = customer_create(actor=specialist, store=store_b, name="王芳", mobile="13800000003")
    assert (a1.number, a2.number, b1.number) == ("A010000001", "A010000002", "B010000001")
    assert a1.mobile == "+8613800000001"


def test_it_allocates_number_blocks_without_gaps(store_a):
    assert customer_numbers_allocate(store_id=store_a.pk, count=3) == ["A010000001", "A010000002", "A010000003"]
    assert customer_numbers_allocate(store_id=store_a.pk, count=1) == ["A010000004"]


def test_it_names_the_bad_field_and_stores_nothing(specialist, store_a):
    with pytest.raises(ValidationError) as exc:
        customer_create(actor=specialist, store=store_a, name="张伟", mobile="12345")
    assert "mobile" in exc.value.message_dict
    assert Customer.objects.count() == 0


def test_it_audits_changed_field_names_only(specialist, store_a):
    customer = customer_create(actor=specialist, store=store_a, name="张伟", mobile="13800000001")
    customer_update(actor=specialist, customer=customer, address="广州市天河路1号", name="张伟")
    event = AuditEvent.objects.filter(action="update").get()
    assert event.changed_fields == ["address"]
    assert event.actor == specialist and event.store_id == store_a.pk
    assert "天河路" not in str(event.detail) + str(event.changed_fields)


def test_it_creates_a_vehicle_with_its_owner(specialist, store_a):
    owner = f.CustomerFactory(store=store_a)
    vehicle = vehicle_create(
        actor=specialist, store=store_a, vin=f.make_vin(7).lower(), plate="粤a 12345", owner=owner,
        owner_since=dt.date(2025, 1, 2),
    )
    assert vehicle.vin == f.make_vin(7) and vehicle.plate == "粤A12345"
    assert Ownership.objects.get(vehicle=vehicle).customer == owner


def test_it_rejects_a_bad_vin_and_plate_together(specialist, store_a):
    with pytest.raises(ValidationError) as exc:
        vehicle_create(actor=specialist, store=store_a, vin="LSGAB12E0R0000001", plate="XX")
    assert set(exc.value.message_dict) == {"vin", "plate"}


def test_it_keeps_vins_unique_in_the_group(specialist, store_a, store_b):
    vehicle_create(actor=specialist, store=store_a, vin=f.make_vin(9))
    with pytest.raises(ValidationError) as exc:
        vehicle_create(actor=specialist, store=store_b, vin=f.make_vin(9))
    assert "vin" in exc.value.message_dict


def test_it_transfers_ownership_keeping_history(specialist, store_a):
    first, second = f.CustomerFactory(store=store_a), f.CustomerFactory(store=store_a)
    vehicle = vehicle_create(actor=specialist, store=store_a, vin=f.make_vin(11), owner=first,
                             owner_since=dt.date(2024, 5, 1))
    ownership_transfer(actor=specialist, vehicle=vehicle, new_owner=second, on=dt.date(2026, 1, 10))
    rows = list(Ownership.objects.filter(vehicle=vehicle).order_by("valid_from").values_list(
        "customer_id", "valid_from", "valid_to"))
    assert rows == [(first.pk, dt.date(2024, 5, 1), dt.date(2026, 1, 9)), (second.pk, dt.date(2026, 1, 10), None)]
    with pytest.raises(ValidationError):
        ownership_transfer(actor=specialist, vehicle=vehicle, new_owner=first, on=dt.date(2026, 1, 10))


def test_it_enforces_one_current_owner_in_the_database(store_a):
    vehicle = f.VehicleFactory(store=store_a)
    f.OwnershipFactory(vehicle=vehicle, customer=f.CustomerFactory(store=store_a))
    with pytest.raises(IntegrityError), transaction.atomic():
        Ownership.objects.create(store=store_a, vehicle=vehicle, customer=f.CustomerFactory(store=store_a),
                                 valid_from=dt.date(2025, 7, 1))
