"""The day board's jobs as Django Tasks (`manage.py db_worker` runs them; the schedule runs the commands)."""

from django_tasks import task


@task()
def appointments_no_show_run() -> int:
    """Every 15 minutes: appointments missed beyond the store's grace become no-shows (reruns mark nothing twice)."""
    from .services.day import bookings_mark_no_show

    return bookings_mark_no_show()


@task()
def appointments_match_run() -> int:
    """Daily: repair orders matched to their appointments (reruns match nothing twice)."""
    from .services.day import bookings_match_repair_orders

    return bookings_match_repair_orders()
