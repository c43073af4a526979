"""Daily: create any follow-up tasks the imports and forms missed. Idempotent; safe to rerun after a crash."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from aftercare.followups.services.generation import FOLLOWUP_LOOKBACK_DAYS as DEFAULT_LOOKBACK_DAYS
from aftercare.followups.services.generation import followup_tasks_generate
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.calendar import business_date
from aftercare.org.models import Store


class Command(BaseCommand):
    help = "Create missing follow-up call tasks (one transaction per store; reruns create nothing twice)."

    def add_arguments(self, parser):
        parser.add_argument("--store", help="Only this store code")
        parser.add_argument(
            "--since",
            type=dt.date.fromisoformat,
            help=f"First event day (Asia/Shanghai), default {DEFAULT_LOOKBACK_DAYS} days ago",
        )
        parser.add_argument("--until", type=dt.date.fromisoformat, help="Event days before this one (exclusive)")
        parser.add_argument("--all", action="store_true", help="Every event ever (backfill)")
        parser.add_argument("--seed-rules", action="store_true", help="Give stores without rules the default rules")

    def handle(self, *args, **opts):
        stores = Store.objects.order_by("code")
        if opts["store"]:
            stores = stores.filter(code=opts["store"])
            if not stores.exists():
                raise CommandError(f"Unknown store code: {opts['store']}")
        since = None if opts["all"] else opts["since"] or business_date() - dt.timedelta(days=DEFAULT_LOOKBACK_DAYS)
        total = 0
        for store in stores:
            if opts["seed_rules"]:
                followup_rules_seed_defaults(store)
            created = followup_tasks_generate(store_id=store.pk, since=since, until=opts["until"])
            total += created
            if opts["verbosity"] > 1:
                self.stdout.write(f"{store.code}: {created}")
        self.stdout.write(f"created {total} follow-up tasks")
