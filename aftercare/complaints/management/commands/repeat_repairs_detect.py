"""Daily: find repeat repairs of the same fault (first-time fix) and plan a CS call per comeback.

    manage.py repeat_repairs_detect                      # every store, the last window + 14 days
    manage.py repeat_repairs_detect --store A01 --since 2026-01-01

Idempotent: one transaction per store; a rerun (also after a crash) creates nothing twice.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from aftercare.complaints.services.first_time_fix import REPEAT_REPAIR_LOOKBACK_DAYS, repeat_repairs_detect
from aftercare.org.models import Store


class Command(BaseCommand):
    help = "Find repeat repairs of the same fault within each store's window and create their follow-up calls."

    def add_arguments(self, parser):
        parser.add_argument("--store", help="Only this store code")
        parser.add_argument(
            "--since",
            type=dt.date.fromisoformat,
            help=f"First day (Asia/Shanghai) of repeat orders to examine; "
            f"default window + {REPEAT_REPAIR_LOOKBACK_DAYS} days ago",
        )

    def handle(self, *args, **opts):
        store_id = None
        if opts["store"]:
            store_id = Store.objects.filter(code=opts["store"]).values_list("pk", flat=True).first()
            if store_id is None:
                raise CommandError(f"Unknown store code: {opts['store']}")
        created = repeat_repairs_detect(store_id=store_id, since=opts["since"])
        self.stdout.write(f"found {created} new repeat repairs")
