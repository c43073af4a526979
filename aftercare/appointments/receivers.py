"""What appointments does on signals (connected in `AppointmentsConfig.ready()`): after a booking made or a slot
freed (`signals.py`) the confirmation SMS, the parts department's notice, the waitlist marked booked, a freed start
offered; on lower apps' signals, a new store gets the usual capacity and a repair-order import matches the imported
orders to their appointments (once per import, in its transaction)."""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone, translation
from django.utils.translation import gettext

from aftercare.core.services import notification_send
from aftercare.dms.signals import repair_orders_imported
from aftercare.org.calendar import business_date, business_tz
from aftercare.org.signals import store_created

from . import selectors
from .links import parts_url
from .services.messages import booking_confirmation_make
from .services.waitlist import waitlist_entry_booked_mark, waitlist_offer_freed
from .signals import booking_created, booking_freed

log = logging.getLogger(__name__)


def parts_notify(*, booking) -> None:
    """Tell the store's parts department designee (the inbox) of a booking with parts to prepare."""
    day = business_date(booking.start_at)
    with translation.override(settings.LANGUAGE_CODE):
        title = gettext("Parts to prepare for an appointment on %(day)s") % {"day": day.isoformat()}
        body = f"{timezone.localtime(booking.start_at, business_tz()):%Y-%m-%d %H:%M} · " \
               f"{booking.vehicle.plate or booking.vehicle.vin} · {booking.parts_to_prepare[:300]}"
    notification_send(store_id=booking.store_id, recipients=selectors.parts_designees(store_id=booking.store_id),
                      title=title, body=body, link=parts_url(day))


@receiver(booking_created, dispatch_uid="appointments.booking_created")
def on_booking_created(sender, booking, actor=None, **kwargs):
    booking_confirmation_make(booking=booking)
    if booking.parts_to_prepare.strip():
        parts_notify(booking=booking)
    waitlist_entry_booked_mark(booking=booking)


@receiver(booking_freed, dispatch_uid="appointments.booking_freed")
def on_booking_freed(sender, booking, store_id, start_at: dt.datetime, actor=None, **kwargs):
    day = business_date(start_at)

    def offer():
        try:  # the booking is cancelled or moved already: a failed offer must not fail its request
            waitlist_offer_freed(store_id=store_id, day=day, freed_at=start_at)
        except Exception:
            log.exception("waitlist offer of store %s on %s failed", store_id, day)

    transaction.on_commit(offer)


@receiver(store_created, dispatch_uid="appointments.store_created.seed_capacity")
def seed_capacity(sender, *, store, **kwargs) -> None:
    from .services.configuration import appointment_capacity_seed_defaults

    appointment_capacity_seed_defaults(store)


@receiver(repair_orders_imported, dispatch_uid="appointments.repair_orders_imported.match")
def match_imported_orders(sender, *, store_id, **kwargs) -> None:
    from .services.board import bookings_match_after_import

    bookings_match_after_import(store_id=store_id)
