"""Each morning: put off care and campaign calls of customers at their weekly call cap
(`followups/services/callcap.py`). Safe to rerun."""

from django.core.management.base import BaseCommand

from aftercare.followups.services.callcap import calls_cap_apply
from aftercare.org.models import Store


class Command(BaseCommand):
    help = "Put off care and campaign calls of customers at their weekly call cap."

    def handle(self, *args, **opts):
        total = sum(calls_cap_apply(store_id=pk) for pk in Store.objects.order_by("pk").values_list("pk", flat=True))
        self.stdout.write(f"put off {total} task{'' if total == 1 else 's'}")
