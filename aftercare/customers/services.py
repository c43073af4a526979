"""Writes for customer and vehicle files. Every write validates (`full_clean`) and audits."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.org.models import Store

from . import validators as v
from .models import Customer, Ownership, Vehicle


def customer_numbers_allocate(*, store_id: int, count: int = 1) -> list[str]:
    """Reserve `count` consecutive customer numbers of a store (row-locked counter)."""
    with transaction.atomic():
        Store.objects.filter(pk=store_id).update(next_customer_number=F("next_customer_number") + count)
        store = Store.objects.only("code", "customer_number_prefix", "next_customer_number").get(pk=store_id)
    first = store.next_customer_number - count
    prefix = store.customer_number_prefix or store.code
    return [f"{prefix}{n:07d}" for n in range(first, first + count)]


_CUSTOMER_FIELDS = (
    "name",
    "mobile",
    "mobile2",
    "address",
    "region",
    "birthday",
    "background",
    "contact_person",
    "contact_phone",
    "consent_service_calls",
    "consent_marketing",
    "source",
    "dms_code",
)


def _normalise_customer_fields(data: dict) -> dict:
    errors = {}
    out = dict(data)
    for field in ("mobile", "mobile2", "contact_phone"):
        if field in out:
            try:
                out[field] = v.normalize_mobile(out[field])
            except ValidationError as exc:
                errors[field] = exc.messages
    for field in ("name", "address", "region", "contact_person"):
        if field in out:
            out[field] = v.clean_text(out[field])
    if "dms_code" in out:
        out["dms_code"] = v.clean_text(out["dms_code"]) or None
    if errors:
        raise ValidationError(errors)
    return out


def customer_create(*, actor, store: Store, name: str, **fields) -> Customer:
    """Create a customer file in `store` with the next customer number."""
    unknown = set(fields) - set(_CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    data = _normalise_customer_fields({"name": name, **fields})
    with transaction.atomic():
        customer = Customer(store=store, number="-", **data)
        customer.full_clean(exclude=["number"])
        customer.number = customer_numbers_allocate(store_id=store.pk)[0]
        customer.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=customer, changed_fields=data.keys())
    return customer


def customer_update(*, actor, customer: Customer, **fields) -> Customer:
    """Change fields of a customer file; audits the names of the fields that changed."""
    unknown = set(fields) - set(_CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    data = _normalise_customer_fields(fields)
    changed = [name for name, value in data.items() if getattr(customer, name) != value]
    if not changed:
        return customer
    for name in changed:
        setattr(customer, name, data[name])
    customer.full_clean()
    with transaction.atomic():
        customer.save(update_fields=[*changed, "updated_at"])
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=customer, changed_fields=changed)
    return customer


_VEHICLE_FIELDS = (
    "plate",
    "brand",
    "model",
    "delivery_date",
    "warranty_end",
    "maintenance_interval_km",
    "maintenance_interval_months",
    "next_maintenance_due",
)


def vehicle_create(*, actor, store: Store, vin: str, owner: Customer | None = None,
                   owner_since: dt.date | None = None, **fields) -> Vehicle:
    """Create a vehicle (VIN checked, unique in the group), optionally with its current owner."""
    unknown = set(fields) - set(_VEHICLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown vehicle fields: {sorted(unknown)}")
    errors = {}
    try:
        vin = v.normalize_vin(vin)
    except ValidationError as exc:
        errors["vin"] = exc.messages
    if "plate" in fields:
        try:
            fields["plate"] = v.normalize_plate(fields["plate"])
        except ValidationError as exc:
            errors["plate"] = exc.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        vehicle = Vehicle(store=store, vin=vin, **fields)
        vehicle.full_clean()
        vehicle.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=vehicle, changed_fields=["vin", *fields])
        if owner is not None:
            since = owner_since or fields.get("delivery_date") or dt.date.today()
            ownership_transfer(actor=actor, vehicle=vehicle, new_owner=owner, on=since)
    return vehicle


def ownership_transfer(*, actor, vehicle: Vehicle, new_owner: Customer, on: dt.date) -> Ownership:
    """Close the current ownership (if any) the day before `on` and open one for `new_owner`."""
    with transaction.atomic():
        current = Ownership.objects.select_for_update().filter(vehicle=vehicle, valid_to__isnull=True).first()
        if current is not None:
            if current.customer_id == new_owner.pk:
                return current
            if on <= current.valid_from:
                raise ValidationError({"on": _("Transfer date must be after the current owner's start date.")})
            current.valid_to = on - dt.timedelta(days=1)
            current.save(update_fields=["valid_to", "updated_at"])
        ownership = Ownership(store=new_owner.store, vehicle=vehicle, customer=new_owner, valid_from=on)
        ownership.full_clean(validate_constraints=False)
        ownership.save()
        audit_event_record(
            actor=actor,
            action=AuditAction.UPDATE if current else AuditAction.CREATE,
            obj=ownership,
            changed_fields=["customer", "valid_from"],
            detail={"vehicle_id": vehicle.pk, "previous_ownership_id": current.pk if current else None},
        )
    return ownership
