"""Daily: repair orders of the last 30 days matched to the appointments they came from (vehicle and day, up to 7
days after); the order becomes booked, the appointment shown. An import does the same at once for its store.

    manage.py appointments_match
    manage.py appointments_match --since 2026-11-01

Idempotent: a rerun matches nothing twice and never clears a booked flag.
"""

import datetime as dt

from django.core.management.base import BaseCommand

from aftercare.appointments.services.day import bookings_match_repair_orders


class Command(BaseCommand):
    help = "Match imported repair orders to their appointments (sets the orders' booked flag)."

    def add_arguments(self, parser):
        parser.add_argument("--since", type=dt.date.fromisoformat,
                            help="Orders settled since this day (default: the last 30 days, Asia/Shanghai)")

    def handle(self, *args, **opts):
        self.stdout.write(f"{bookings_match_repair_orders(since=opts['since'])} matched")
