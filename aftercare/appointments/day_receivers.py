"""Appointments answers lower apps' signals (day board part): a new store gets the usual capacity, and a
repair-order import matches the imported orders to their appointments (once per import, in its transaction)."""

from django.dispatch import receiver

from aftercare.dms.signals import repair_orders_imported
from aftercare.org.signals import store_created


@receiver(store_created, dispatch_uid="appointments.store_created.seed_capacity")
def seed_capacity(sender, *, store, **kwargs) -> None:
    from .services.configuration import appointment_capacity_seed_defaults

    appointment_capacity_seed_defaults(store)


@receiver(repair_orders_imported, dispatch_uid="appointments.repair_orders_imported.match")
def match_imported_orders(sender, *, store_id, **kwargs) -> None:
    from .services.board import bookings_match_after_import

    bookings_match_after_import(store_id=store_id)
