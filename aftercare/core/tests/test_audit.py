"""The audit trail: append-only, written by services, field names only — never personal data values."""

import datetime as dt
import json

import pytest
from django.core import serializers
from django.core.exceptions import ValidationError

from aftercare.core.choices import AuditAction
from aftercare.core.models import AuditEvent
from aftercare.core.services import audit_event_record
from aftercare.customers import services
from aftercare.customers.models import Customer, Ownership, Vehicle
from aftercare.testing import factories as f

NAME = "欧阳娜娜"
MOBILE_DIGITS = "13912345678"
ADDRESS = "深圳市南山区科技园8号"


def _dump(events) -> str:
    return serializers.serialize("json", events) + json.dumps(
        [[e.changed_fields, e.detail, e.object_id, e.object_type] for e in events], ensure_ascii=False
    )


def test_it_refuses_to_change_an_event(manager):
    event = audit_event_record(actor=manager, action=AuditAction.EXPORT, object_type="report")
    event.action = AuditAction.DELETE
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == AuditAction.EXPORT


def test_it_refuses_to_delete_an_event(manager):
    event = audit_event_record(actor=manager, action=AuditAction.EXPORT, object_type="report")
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_it_records_customer_create_and_update_by_field_name(manager, store_a):
    customer = services.customer_create(actor=manager, store=store_a, name=NAME, mobile=MOBILE_DIGITS, address=ADDRESS)
    services.customer_update(actor=manager, customer=customer, mobile="13800001111", region="南山区")
    events = list(AuditEvent.objects.filter(object_type="customers.customer", object_id=str(customer.pk)))
    by_action = {e.action: e for e in events}
    assert set(by_action) == {AuditAction.CREATE, AuditAction.UPDATE}
    created = by_action[AuditAction.CREATE]
    assert {"name", "mobile", "address"} <= set(created.changed_fields)
    assert created.actor == manager and created.store_id == store_a.pk
    assert sorted(by_action[AuditAction.UPDATE].changed_fields) == ["mobile", "region"]
    dumped = _dump(events)
    for value in (NAME, MOBILE_DIGITS, "+86" + MOBILE_DIGITS, "13800001111", ADDRESS, "南山区"):
        assert value not in dumped


def test_it_records_vehicle_create_and_ownership_transfer_without_personal_values(manager, store_a):
    owner = services.customer_create(actor=manager, store=store_a, name=NAME, mobile=MOBILE_DIGITS)
    buyer = services.customer_create(actor=manager, store=store_a, name="司马光", mobile="13700002222")
    vehicle = services.vehicle_create(
        actor=manager, store=store_a, vin=f.make_vin(), plate="粤B12345", owner=owner, owner_since=dt.date(2025, 1, 1)
    )
    ownership = services.ownership_transfer(actor=manager, vehicle=vehicle, new_owner=buyer, on=dt.date(2026, 1, 1))

    vehicle_event = AuditEvent.objects.get(object_type="customers.vehicle", object_id=str(vehicle.pk))
    assert vehicle_event.action == AuditAction.CREATE
    assert {"vin", "plate"} <= set(vehicle_event.changed_fields)
    transfer = AuditEvent.objects.get(object_type="customers.ownership", object_id=str(ownership.pk))
    assert transfer.action == AuditAction.UPDATE
    assert transfer.changed_fields == ["customer", "valid_from"]
    events = list(AuditEvent.objects.exclude(object_type="customers.customer"))
    assert len(events) == 3  # vehicle created, first ownership, transfer
    dumped = _dump(events)
    for value in (NAME, "司马光", MOBILE_DIGITS, "13700002222", "粤B12345"):
        assert value not in dumped


def test_it_writes_nothing_when_a_write_is_rejected(manager, store_a):
    with pytest.raises(ValidationError, match="mobile|phone"):
        services.customer_create(actor=manager, store=store_a, name=NAME, mobile="12")
    assert not Customer.objects.exists()
    assert not AuditEvent.objects.exists()
    with pytest.raises(ValidationError, match="VIN"):
        services.vehicle_create(actor=manager, store=store_a, vin="LSGAB12E8R0000000")
    assert not Vehicle.objects.exists() and not Ownership.objects.exists()
    assert not AuditEvent.objects.exists()
