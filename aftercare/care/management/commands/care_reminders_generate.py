"""Daily: the care reminders due (first maintenance, periodic maintenance, warranty end, annual inspection,
birthday), each a call task of the follow-up rule CARE or an SMS, as the store's reminder rule says.

    manage.py care_reminders_generate                          # every store, today
    manage.py care_reminders_generate --store GZ01 --today 2026-02-16

Idempotent: a rerun (also after a killed run) makes nothing twice.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from aftercare.care.services.remind import reminders_generate
from aftercare.org.models import Store


class Command(BaseCommand):
    help = "Make the care reminders due, with their call tasks and SMS."

    def add_arguments(self, parser):
        parser.add_argument("--store", help="Only this store code")
        parser.add_argument("--today", type=dt.date.fromisoformat,
                            help="Run as of this day, YYYY-MM-DD (default: today in Asia/Shanghai)")

    def handle(self, *args, **opts):
        store_id = None
        if opts["store"]:
            store_id = Store.objects.filter(code=opts["store"]).values_list("pk", flat=True).first()
            if store_id is None:
                raise CommandError(f"Unknown store code: {opts['store']}")
        n = reminders_generate(store_id=store_id, today=opts["today"])
        self.stdout.write(f"{n['reminders']} new reminders, {n['calls']} call tasks, {n['sms']} SMS sent")
