"""Daily: classify every active customer into new / loyal / regular / lost and write the class history
(docs/care.md, "Classes and churn").

    manage.py care_classify                          # every store, as of today (Asia/Shanghai)
    manage.py care_classify --today 2026-01-31       # as of a past day: only what happened before it counts

Idempotent: a rerun the same day (also after a killed run) writes no second change.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from aftercare.care.services.classes import customers_classify
from aftercare.org.calendar import business_date
from aftercare.org.models import Store


class Command(BaseCommand):
    help = "Classify customers (new, loyal, regular, lost) and record the class changes."

    def add_arguments(self, parser):
        parser.add_argument("--store", help="Only this store code")
        parser.add_argument("--today", type=dt.date.fromisoformat,
                            help="Classify as of this day (default: today in Asia/Shanghai)")

    def handle(self, *args, **opts):
        store_ids = None
        if opts["store"]:
            store_ids = list(Store.objects.filter(code=opts["store"]).values_list("pk", flat=True))
            if not store_ids:
                raise CommandError(f"Unknown store code: {opts['store']}")
        today = opts["today"] or business_date()
        if today > business_date():
            raise CommandError("--today must not be in the future")
        changes = customers_classify(today=today, store_ids=store_ids)
        self.stdout.write(f"{len(changes)} stores classified as of {today}, {sum(changes.values())} class changes")
