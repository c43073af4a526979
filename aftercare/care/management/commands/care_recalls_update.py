"""Daily: bring every open recall vehicle up to date — done when a repair order of it settled on or after the
recall's start, unreachable when its call task ended unreachable (`aftercare/care/services/recalls.py`).

    manage.py care_recalls_update

Idempotent: a rerun changes nothing more.
"""

from django.core.management.base import BaseCommand

from aftercare.care.services.recalls import recall_progress_update


class Command(BaseCommand):
    help = "Mark the recall vehicles done (a repair order since the start) or unreachable (the call task's end)."

    def handle(self, *args, **opts):
        changed = recall_progress_update()
        self.stdout.write(f"{changed} recall vehicles updated")
