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
