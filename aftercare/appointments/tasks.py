"""The app's jobs as Django Tasks (`manage.py db_worker` runs them; the schedule runs the commands): reminders,
waitlist offers, no-shows and the matching of repair orders. Reruns do nothing twice."""

from django_tasks import task


@task()
def appointment_reminders_send_daily() -> int:
    """Daily: the SMS reminders of tomorrow's appointments; reruns send nothing twice."""
    from .services.messages import appointment_reminders_send

    return appointment_reminders_send()


@task()
def appointment_waitlist_expire_hourly() -> int:
    """Hourly: waitlist offers not taken in time expire; the next customer waiting is offered."""
    from .services.waitlist import waitlist_offers_expire

    return waitlist_offers_expire()


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
