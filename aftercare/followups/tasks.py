"""Background jobs (django-tasks)."""

import datetime as dt

from django_tasks import task

from aftercare.org.calendar import business_date
from aftercare.org.models import Store

from .services.generation import followup_tasks_generate


@task()
def followups_generate_daily(lookback_days: int = 14) -> int:
    """The daily catch-up of `followups_generate`: one transaction per store; reruns create nothing twice."""
    since = business_date() - dt.timedelta(days=lookback_days)
    return sum(followup_tasks_generate(store_id=pk, since=since) for pk in Store.objects.values_list("pk", flat=True))
