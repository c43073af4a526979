"""The Django Task of reports by mail (the scheduler runs the command `reports_send`; this is the same work for
`db_worker` callers)."""

from django_tasks import task


@task()
def reports_send_daily() -> dict:
    """Daily: generate and mail the weekly and monthly reports due (reruns send nothing twice)."""
    from .services import reports_send_due

    return reports_send_due()
