"""Writes owned by org."""

from django.db import transaction

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record

from .models import Store
from .signals import store_created


def store_create(*, actor, store: Store) -> Store:
    """Save the new (unsaved) `store` and announce it with `org.signals.store_created`, in one transaction, so
    the apps above org give it their defaults (the follow-up rules) or nothing is written at all."""
    if store.pk is not None:
        raise ValueError("store_create takes an unsaved store")
    with transaction.atomic():
        store.full_clean()
        store.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=store, store_id=store.pk)
        store_created.send(sender=Store, store=store, actor=actor)
    return store
