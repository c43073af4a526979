from django_tasks import task

from .services.generation import renewals_daily


@task()
def renewals_generate_daily() -> dict:
    """Daily: renewal cases of the window, imported renewals, lapses, contacts due (reruns add nothing)."""
    return renewals_daily()
