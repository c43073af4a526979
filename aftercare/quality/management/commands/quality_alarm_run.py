"""`manage.py quality_alarm_run [--today YYYY-MM-DD]`: the batch-defect alarm (docs/quality.md); idempotent."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run the batch-defect alarm over every part family x build month of every dealer group (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--today", help="run as of this date (YYYY-MM-DD); months up to the one before it")

    def handle(self, *args, today=None, **options):
        from aftercare.quality.services.alarms import quality_alarm_run

        day = None
        if today:
            try:
                day = dt.date.fromisoformat(today)
            except ValueError as exc:
                raise CommandError(f"--today: not a date: {today}") from exc
        result = quality_alarm_run(today=day)
        self.stdout.write(
            f"series {result.get('series', 0)}, alarms created {result.get('created', 0)}, "
            f"updated {result.get('updated', 0)}"
        )
