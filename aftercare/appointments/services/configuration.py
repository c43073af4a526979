"""A store's appointment capacity: its settings (slot length, walk-in share, no-show grace, horizon), bays, service
kinds, opening hours with daily caps, caps per service kind and weekday, and day overrides.

Only users with `appointment.settings` change them, only for their own stores; every change is validated
(`full_clean`), written in one transaction and audited. `appointment_capacity_seed_defaults(store)` gives a new store
(the `org.signals.store_created` receiver in `appointments/receivers.py`) the five usual service kinds, one bay
of each kind and Monday–Sunday 08:30–17:30; it is idempotent.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..choices import BayKind
from ..models import AppointmentSettings, Bay, DayOverride, KindCap, OpeningHours, ServiceKind

ALL_BAYS = [BayKind.APPOINTMENT, BayKind.GENERAL, BayKind.EXPRESS]
# (code, Chinese name as a store writes it, minutes, bay kinds): the five kinds
DEFAULT_KINDS = [
    ("first_maintenance", "首保", 60, ALL_BAYS),
    ("maintenance", "常规保养", 60, ALL_BAYS),
    ("mechanical", "机电维修", 120, [BayKind.APPOINTMENT, BayKind.GENERAL]),
    ("body_estimate", "钣喷估价", 30, [BayKind.GENERAL]),
    ("wash", "洗车", 30, [BayKind.EXPRESS, BayKind.GENERAL]),
]
DEFAULT_BAYS = [("预约工位", BayKind.APPOINTMENT), ("1号工位", BayKind.GENERAL), ("快修工位", BayKind.EXPRESS)]
DEFAULT_HOURS = (dt.time(8, 30), dt.time(17, 30))

_SETTINGS_FIELDS = {"slot_minutes", "walk_in_share", "no_show_grace_minutes", "booking_horizon_days"}


def _store(actor, store) -> Store:
    require_perm(actor, Perm.APPOINTMENT_SETTINGS)
    store_id = getattr(store, "pk", store)
    if store_id not in own_store_ids(actor):
        raise Http404
    return store if isinstance(store, Store) else Store.objects.get(pk=store_id)


def _save(actor, row, action, changed, *, unique_field: str, unique_message) -> object:
    row.full_clean()
    try:
        with transaction.atomic():
            row.save()
            audit_event_record(actor=actor, action=action, obj=row, store_id=row.store_id, changed_fields=changed)
    except IntegrityError:  # a concurrent row with the same key
        raise ValidationError({unique_field: unique_message}) from None
    return row


def appointment_capacity_seed_defaults(store) -> None:
    """The usual capacity of a new store: settings, three bays, the five service kinds and 08:30–17:30 every day.
    Idempotent (rows that exist are kept as the store changed them)."""
    with transaction.atomic():
        AppointmentSettings.objects.get_or_create(store=store)
        for name, kind in DEFAULT_BAYS:
            Bay.objects.get_or_create(store=store, name=name, defaults={"kind": kind})
        for code, name, minutes, kinds in DEFAULT_KINDS:
            ServiceKind.objects.get_or_create(store=store, code=code, defaults={
                "name": name, "duration_minutes": minutes, "bay_kinds": [str(k) for k in kinds]})
        for weekday in range(7):
            OpeningHours.objects.get_or_create(store=store, weekday=weekday, defaults={
                "opens_at": DEFAULT_HOURS[0], "closes_at": DEFAULT_HOURS[1]})


def appointment_settings_update(*, actor, store, **fields) -> AppointmentSettings:
    """Change `slot_minutes`, `walk_in_share`, `no_show_grace_minutes`, `booking_horizon_days`. Bookings made keep
    their times; new ones follow the new slot length."""
    store = _store(actor, store)
    unknown = set(fields) - _SETTINGS_FIELDS
    if unknown:
        raise TypeError(f"unknown appointment settings fields: {sorted(unknown)}")
    with transaction.atomic():
        row, _created = AppointmentSettings.objects.select_for_update().get_or_create(store=store)
        changed = [key for key, value in fields.items() if getattr(row, key) != value]
        for key, value in fields.items():
            setattr(row, key, value)
        row.full_clean()
        row.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=row, store_id=store.pk, changed_fields=changed)
    return row


_BAY_TAKEN = _("The store already has a bay of this name.")


def bay_create(*, actor, store, name: str, kind: str) -> Bay:
    store = _store(actor, store)
    bay = Bay(store=store, name=(name or "").strip(), kind=kind)
    if Bay.objects.filter(store=store, name=bay.name).exists():
        raise ValidationError({"name": _BAY_TAKEN})
    return _save(actor, bay, AuditAction.CREATE, ["name", "kind"], unique_field="name", unique_message=_BAY_TAKEN)


def bay_update(*, actor, bay: Bay, name: str | None = None, kind: str | None = None,
               is_active: bool | None = None) -> Bay:
    """Rename a bay, change its kind or (de)activate it. A deactivated bay takes no new bookings; those it holds
    stay."""
    _store(actor, bay.store_id)
    changes = {"name": (name or "").strip() if name is not None else None, "kind": kind, "is_active": is_active}
    changed = [k for k, v in changes.items() if v is not None and getattr(bay, k) != v]
    for key in changed:
        setattr(bay, key, changes[key])
    if not changed:
        return bay
    if "name" in changed and Bay.objects.filter(store_id=bay.store_id, name=bay.name).exclude(pk=bay.pk).exists():
        raise ValidationError({"name": _BAY_TAKEN})
    return _save(actor, bay, AuditAction.UPDATE, changed, unique_field="name", unique_message=_BAY_TAKEN)


_KIND_TAKEN = _("The store already has a service kind with this code.")


def service_kind_create(*, actor, store, code: str, name: str, duration_minutes: int, bay_kinds) -> ServiceKind:
    store = _store(actor, store)
    kind = ServiceKind(store=store, code=(code or "").strip(), name=(name or "").strip(),
                       duration_minutes=duration_minutes, bay_kinds=list(bay_kinds or []))
    if ServiceKind.objects.filter(store=store, code=kind.code).exists():
        raise ValidationError({"code": _KIND_TAKEN})
    return _save(actor, kind, AuditAction.CREATE, ["code", "name", "duration_minutes", "bay_kinds"],
                 unique_field="code", unique_message=_KIND_TAKEN)


def service_kind_update(*, actor, kind: ServiceKind, name: str | None = None, duration_minutes: int | None = None,
                        bay_kinds=None, is_active: bool | None = None) -> ServiceKind:
    """Rename, change the duration or the bays that take it, (de)activate. Bookings made keep their length."""
    _store(actor, kind.store_id)
    changes = {"name": (name or "").strip() if name is not None else None, "duration_minutes": duration_minutes,
               "bay_kinds": list(bay_kinds) if bay_kinds is not None else None, "is_active": is_active}
    changed = [k for k, v in changes.items() if v is not None and getattr(kind, k) != v]
    for key in changed:
        setattr(kind, key, changes[key])
    if not changed:
        return kind
    return _save(actor, kind, AuditAction.UPDATE, changed, unique_field="code", unique_message=_KIND_TAKEN)


def opening_hours_set(*, actor, store, weekday: int, opens_at: dt.time | None, closes_at: dt.time | None,
                      daily_cap: int | None = None) -> OpeningHours | None:
    """A weekday's hours and daily cap; no hours (both empty) closes the weekday."""
    store = _store(actor, store)
    if not 0 <= weekday <= 6:
        raise ValidationError({"weekday": _("Choose a weekday.")})
    with transaction.atomic():
        row = OpeningHours.objects.select_for_update().filter(store=store, weekday=weekday).first()
        if opens_at is None and closes_at is None:
            if row is not None:
                audit_event_record(actor=actor, action=AuditAction.DELETE, obj=row, store_id=store.pk)
                row.delete()
            return None
        if opens_at is None or closes_at is None:
            raise ValidationError({"closes_at": _("Give both opening and closing times, or neither.")})
        if closes_at <= opens_at:
            raise ValidationError({"closes_at": _("The store must close after it opens.")})
        action = AuditAction.UPDATE if row is not None else AuditAction.CREATE
        row = row or OpeningHours(store=store, weekday=weekday)
        row.opens_at, row.closes_at, row.daily_cap = opens_at, closes_at, daily_cap
        row.full_clean()
        row.save()
        audit_event_record(actor=actor, action=action, obj=row, store_id=store.pk,
                           changed_fields=["opens_at", "closes_at", "daily_cap"])
    return row


def kind_cap_set(*, actor, store, weekday: int, service_kind: ServiceKind, cap: int | None) -> KindCap | None:
    """At most `cap` bookings of a service kind on a weekday; `None` removes the cap."""
    store = _store(actor, store)
    if service_kind.store_id != store.pk:
        raise ValidationError({"service_kind": _("Choose one of the store's service kinds.")})
    if not 0 <= weekday <= 6:
        raise ValidationError({"weekday": _("Choose a weekday.")})
    with transaction.atomic():
        row = KindCap.objects.select_for_update().filter(store=store, weekday=weekday,
                                                         service_kind=service_kind).first()
        if cap is None:
            if row is not None:
                audit_event_record(actor=actor, action=AuditAction.DELETE, obj=row, store_id=store.pk)
                row.delete()
            return None
        action = AuditAction.UPDATE if row is not None else AuditAction.CREATE
        row = row or KindCap(store=store, weekday=weekday, service_kind=service_kind)
        row.cap = cap
        row.full_clean()
        row.save()
        audit_event_record(actor=actor, action=action, obj=row, store_id=store.pk, changed_fields=["cap"])
    return row


def day_override_set(*, actor, store, date: dt.date, closed: bool = False, opens_at: dt.time | None = None,
                     closes_at: dt.time | None = None, daily_cap: int | None = None, note: str = "") -> DayOverride:
    """A day unlike its weekday (closed, other hours, another cap); one per store and date, set again to change."""
    store = _store(actor, store)
    with transaction.atomic():
        row = DayOverride.objects.select_for_update().filter(store=store, date=date).first()
        action = AuditAction.UPDATE if row is not None else AuditAction.CREATE
        row = row or DayOverride(store=store, date=date)
        row.closed = bool(closed)
        row.opens_at, row.closes_at = (None, None) if closed else (opens_at, closes_at)
        row.daily_cap, row.note = daily_cap, note or ""
        if row.opens_at is not None and row.closes_at is not None and row.closes_at <= row.opens_at:
            raise ValidationError({"closes_at": _("The store must close after it opens.")})
        row.full_clean()
        row.save()
        audit_event_record(actor=actor, action=action, obj=row, store_id=store.pk,
                           changed_fields=["closed", "opens_at", "closes_at", "daily_cap", "note"])
    return row


def day_override_delete(*, actor, override: DayOverride) -> None:
    store = _store(actor, override.store_id)
    with transaction.atomic():
        audit_event_record(actor=actor, action=AuditAction.DELETE, obj=override, store_id=store.pk)
        override.delete()
