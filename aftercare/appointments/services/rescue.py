"""Roadside rescue calls (道路救援, seed 000 p22): logged when the customer calls, then dispatched, arrived and closed
with an outcome. Times must be ordered (reported ≤ dispatched ≤ arrived); the measure is the time from report to
arrival (`aftercare.appointments.selectors.rescue_arrival_minutes`)."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..models import RescueCall

_FIELDS = ("customer", "vehicle", "reported_at", "place", "what_happened", "dispatched_at", "dispatched_user",
           "dispatched_to", "arrived_at", "outcome", "outcome_note")


def _check(actor, store_id: int) -> None:
    require_perm(actor, Perm.APPOINTMENT_BOARD)
    if store_id not in own_store_ids(actor):
        raise PermissionDenied


def _validate(call: RescueCall) -> None:
    errors = {}
    if call.vehicle is not None and call.vehicle.store_id != call.store_id:
        errors["vehicle"] = _("The vehicle belongs to another store.")
    if call.customer is not None and call.customer.store_id != call.store_id:
        errors["customer"] = _("The customer belongs to another store.")
    now = timezone.now() + dt.timedelta(minutes=5)
    for name in ("reported_at", "dispatched_at", "arrived_at"):
        value = getattr(call, name)
        if value is not None and timezone.is_naive(value):
            errors[name] = _("Give the time with its time zone.")
        elif value is not None and value > now:
            errors[name] = _("This time is in the future.")
    if call.dispatched_user_id and not call.dispatched_to:
        staff = getattr(call.dispatched_user, "staff", None)
        call.dispatched_to = (staff.display_name if staff else call.dispatched_user.get_username())[:100]
    if errors:
        raise ValidationError(errors)
    call.full_clean(exclude=["store", "customer", "vehicle", "dispatched_user", "created_by"])


def rescue_call_create(*, actor, store, **fields) -> RescueCall:
    """Log a rescue call: `reported_at`, `place`, `what_happened` required; customer, vehicle, dispatch, arrival
    and outcome as far as known."""
    _check(actor, store.pk)
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise TypeError(f"unknown rescue fields: {sorted(unknown)}")
    call = RescueCall(store=store, created_by=actor, **fields)
    if call.vehicle is not None and call.customer is None:
        owner = call.vehicle.ownerships.filter(valid_to__isnull=True).select_related("customer").first()
        call.customer = owner.customer if owner else None
    _validate(call)
    with transaction.atomic():
        call.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=call, store_id=store.pk)
    return call


def rescue_call_update(*, actor, call: RescueCall, **fields) -> RescueCall:
    """Record the dispatch, the arrival or the outcome (or correct the log)."""
    _check(actor, call.store_id)
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise TypeError(f"unknown rescue fields: {sorted(unknown)}")
    changed = [k for k, v in fields.items() if getattr(call, k) != v]
    for key, value in fields.items():
        setattr(call, key, value)
    _validate(call)
    with transaction.atomic():
        call.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=call, store_id=call.store_id,
                           changed_fields=changed)
    return call
