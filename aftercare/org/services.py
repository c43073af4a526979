"""Writes owned by org."""

from decimal import Decimal

from django.db import transaction

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record

from .models import KpiTarget, Store
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


def kpi_target_set(
    *, actor, store: Store, measure: str, period_kind: str, period_start, value, note: str = ""
) -> KpiTarget | None:
    """Set (or, with `value=None`, clear) `store`'s target for the catalogue measure `measure` in the month,
    quarter or year starting `period_start`. Validated (`KpiTarget.clean`: known measure, value within the
    measure's unit, aligned period), one transaction, audited. The caller checked `kpi.set_target` and that the
    store is the actor's (`scoping.store_for_write`)."""
    with transaction.atomic():
        row = (
            KpiTarget.objects.select_for_update()
            .filter(store=store, measure_code=measure, period_kind=period_kind, period_start=period_start)
            .first()
        )
        if value is None:
            if row is None:
                return None
            pk = row.pk
            row.delete()
            audit_event_record(
                actor=actor,
                action=AuditAction.DELETE,
                object_type="org.kpitarget",
                object_id=pk,
                store_id=store.pk,
                detail={"measure": measure, "period_kind": period_kind, "period_start": str(period_start)},
            )
            return None
        created = row is None
        if created:
            row = KpiTarget(store=store, measure_code=measure, period_kind=period_kind, period_start=period_start)
        row.value, row.note, row.set_by = value, note, actor if getattr(actor, "is_authenticated", False) else None
        row.full_clean()
        row.value = row.value.quantize(Decimal("0.01"))  # as stored (decimal_places=2)
        row.save()
        audit_event_record(
            actor=actor,
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            obj=row,
            changed_fields=["value", "note"],
            detail={"measure": measure, "period_kind": period_kind, "period_start": str(period_start)},
        )
    return row


def kpi_targets_set(*, actor, store: Store, measure: str, targets) -> None:
    """Several of `store`'s targets for one measure at once, all or none (the `/kpis/` page saves a year's row):
    `targets` is `[(period_kind, period_start, value or None)]`, each as `kpi_target_set`."""
    with transaction.atomic():
        for period_kind, period_start, value in targets:
            kpi_target_set(
                actor=actor, store=store, measure=measure, period_kind=period_kind, period_start=period_start,
                value=value,
            )
