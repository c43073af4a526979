"""`manage.py import_fail_stale`: fail the DMS imports left `running` by a worker that was killed.

A batch counts as stale when it has recorded no progress for `IMPORT_STALE_AFTER_SECONDS` (default 15 minutes).
Every import run does the same sweep when it starts; this command runs on the schedule (hourly at :30, registered in
`dms/apps.py`), from cron, or by hand after a crash.
Prints `failed=N`.
"""

from django.core.management.base import BaseCommand

from aftercare.dms.services import import_batches_fail_stale


class Command(BaseCommand):
    help = "Fail the DMS import batches left running with no progress (a killed worker)."

    def handle(self, *args, **options):
        failed = import_batches_fail_stale()
        self.stdout.write(f"failed={failed}")
