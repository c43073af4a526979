"""Every 15 minutes: open appointments whose start passed by more than the store's grace become no-shows (their
slots freed for walk-ins).

    manage.py appointments_no_show

Idempotent: a rerun marks nothing twice.
"""

from django.core.management.base import BaseCommand

from aftercare.appointments.services.day import bookings_mark_no_show


class Command(BaseCommand):
    help = "Mark the appointments missed beyond the store's grace as no-shows."

    def handle(self, *args, **opts):
        self.stdout.write(f"{bookings_mark_no_show()} no-shows")
