"""Daily: renewal cases of each store's window, cases closed by imported renewals, lapses, and the contacts due
(each a follow-up task of the renewal rule).

    manage.py renewals_generate                       # every store, today
    manage.py renewals_generate --store GZ01 --since 2025-06-01   # backfill cases expiring since a day

Idempotent: a rerun (also after a killed run) makes nothing twice.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from aftercare.org.calendar import business_date
from aftercare.org.models import Store
from aftercare.renewals.services.generation import (
    renewal_cases_generate,
    renewal_cases_lapse,
    renewal_cases_match_renewals,
    renewal_contacts_plan,
)


class Command(BaseCommand):
    help = "Make the renewal cases and contacts due, close the cases renewed by import and the lapsed ones."

    def add_arguments(self, parser):
        parser.add_argument("--store", help="Only this store code")
        parser.add_argument("--since", type=dt.date.fromisoformat,
                            help="Backfill: also make cases of policies that expired since this day (Asia/Shanghai)")
        parser.add_argument("--today", type=dt.date.fromisoformat,
                            help="Run as of this day (default: today in Asia/Shanghai)")

    def handle(self, *args, **opts):
        store_id = None
        if opts["store"]:
            store_id = Store.objects.filter(code=opts["store"]).values_list("pk", flat=True).first()
            if store_id is None:
                raise CommandError(f"Unknown store code: {opts['store']}")
        today = opts["today"] or business_date()
        since = opts["since"]
        if since is not None and since > today:
            raise CommandError("--since must not be after today")
        cases = renewal_cases_generate(store_id=store_id, today=today, since=since)
        renewed = renewal_cases_match_renewals(store_id=store_id, since=since or today - dt.timedelta(days=400))
        lapsed = renewal_cases_lapse(store_id=store_id, today=today)
        contacts = renewal_contacts_plan(store_id=store_id, today=today)
        self.stdout.write(f"{cases} new cases, {renewed} renewed by import, {lapsed} lapsed, {contacts} contacts due")
