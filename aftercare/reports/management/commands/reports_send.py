"""Daily: the weekly and monthly reports due (docs/reports.md, "Reports by mail"): for each store, department and
the store manager, the latest ended week (Monday to Sunday) and month are generated if missing and mailed if not
mailed yet.

    manage.py reports_send                                   # every store, as of today (Asia/Shanghai)
    manage.py reports_send --store GZ01 --today 2026-03-02

Rerunnable: a report is mailed once a period, also when a run was killed midway (re-sending is a user's act).
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from aftercare.org.calendar import business_date
from aftercare.org.models import Store
from aftercare.reports.mail.services import reports_send_due


class Command(BaseCommand):
    help = "Generate and e-mail the weekly and monthly reports that are due."

    def add_arguments(self, parser):
        parser.add_argument("--store", help="Only this store code")
        parser.add_argument("--today", type=dt.date.fromisoformat,
                            help="Run as of this day, YYYY-MM-DD (default: today in Asia/Shanghai)")

    def handle(self, *args, **opts):
        store_ids = None
        if opts["store"]:
            store_ids = list(Store.objects.filter(code=opts["store"]).values_list("pk", flat=True))
            if not store_ids:
                raise CommandError(f"Unknown store code: {opts['store']}")
        today = opts["today"] or business_date()
        if today > business_date():
            raise CommandError("--today must not be in the future")
        n = reports_send_due(today=today, store_ids=store_ids)
        self.stdout.write(f"{n['generated']} reports generated, {n['sent']} sent ({n['deliveries']} e-mails), "
                          f"{n['unsent']} without recipients")
