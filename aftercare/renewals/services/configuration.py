"""A store's renewal settings (the window, the contact days, contacts per case) and its gifts and offers.

Only users with `renewal.manage` change them, only for their own stores; every change is validated
(`full_clean`), written in one transaction and audited.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..models import RenewalGift, RenewalSettings

_SETTINGS_FIELDS = {"list_opens_days", "contact_days", "lapse_chase_days", "max_contacts"}


def _store_for_settings(actor, store) -> Store:
    require_perm(actor, Perm.RENEWAL_MANAGE)
    store_id = getattr(store, "pk", store)
    if store_id not in own_store_ids(actor):
        raise Http404
    return store if isinstance(store, Store) else Store.objects.get(pk=store_id)


def renewal_settings_update(*, actor, store, **fields) -> RenewalSettings:
    """Change a store's renewal window: `list_opens_days`, `contact_days` (days before expiry, largest first),
    `lapse_chase_days`, `max_contacts`. Contacts already planned keep their due day; the next ones follow the new
    days."""
    store = _store_for_settings(actor, store)
    unknown = set(fields) - _SETTINGS_FIELDS
    if unknown:
        raise TypeError(f"unknown renewal settings fields: {sorted(unknown)}")
    with transaction.atomic():
        row, _created = RenewalSettings.objects.select_for_update().get_or_create(store=store)
        changed = [key for key, value in fields.items() if getattr(row, key) != value]
        for key, value in fields.items():
            setattr(row, key, value)
        row.full_clean()
        row.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=row, store_id=store.pk,
                           changed_fields=changed)
    return row


def _gift_save(actor, gift: RenewalGift, changed, action) -> RenewalGift:
    if gift.name and RenewalGift.objects.filter(store_id=gift.store_id, name=gift.name).exclude(pk=gift.pk).exists():
        raise ValidationError({"name": _("The store already has a gift or offer of this name.")})
    gift.full_clean()
    try:
        with transaction.atomic():
            gift.save()
            audit_event_record(actor=actor, action=action, obj=gift, changed_fields=changed)
    except IntegrityError:  # a concurrent gift of the same name
        raise ValidationError({"name": _("The store already has a gift or offer of this name.")}) from None
    return gift


def renewal_gift_create(*, actor, store, name: str, cost: Decimal) -> RenewalGift:
    """Add a gift or offer (with what it costs the store) to the list a specialist chooses from."""
    store = _store_for_settings(actor, store)
    gift = RenewalGift(store=store, name=(name or "").strip(), cost=cost)
    return _gift_save(actor, gift, ["name", "cost"], AuditAction.CREATE)


def renewal_gift_update(
    *, actor, gift: RenewalGift, name: str | None = None, cost: Decimal | None = None, is_active: bool | None = None
) -> RenewalGift:
    """Rename a gift, change its cost, or (de)activate it. Contacts that gave it keep the cost of their day; a
    deactivated gift is no longer offered."""
    _store_for_settings(actor, gift.store_id)
    changes = {"name": (name or "").strip() if name is not None else None, "cost": cost, "is_active": is_active}
    changed = [key for key, value in changes.items() if value is not None and getattr(gift, key) != value]
    for key in changed:
        setattr(gift, key, changes[key])
    if not changed:
        return gift
    return _gift_save(actor, gift, changed, AuditAction.UPDATE)
