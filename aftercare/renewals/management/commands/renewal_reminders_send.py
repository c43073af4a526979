"""Daily: SMS reminders of the open renewal cases, two months before and in the month of the expiry, to customers
who accept marketing; each at most once per case, each logged in the letter log.

    manage.py renewal_reminders_send
    manage.py renewal_reminders_send --today 2026-12-01

Idempotent: a rerun (also after a killed run) sends no reminder twice.
"""

import datetime as dt

from django.core.management.base import BaseCommand

from aftercare.renewals.services.reminders import renewal_reminders_send


class Command(BaseCommand):
    help = "Send the renewal SMS reminders due today (two months before and in the month of expiry)."

    def add_arguments(self, parser):
        parser.add_argument("--today", type=dt.date.fromisoformat,
                            help="Run as of this day (default: today in Asia/Shanghai)")

    def handle(self, *args, **opts):
        made = renewal_reminders_send(today=opts["today"])
        self.stdout.write(f"{made} reminders sent")
