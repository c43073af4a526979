from django_tasks import task

from .services.generation import renewals_daily


@task()
def renewals_generate_daily() -> dict:
    """Daily: renewal cases of the window, imported renewals, lapses, contacts due (reruns add nothing)."""
    return renewals_daily()


@task()
def renewal_reminders_send_daily() -> int:
    """Daily: the SMS reminders due (two months before and in the month of expiry); reruns send nothing twice."""
    from .services.reminders import renewal_reminders_send

    return renewal_reminders_send()
