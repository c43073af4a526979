"""Background jobs (django-tasks): due-soon warnings and escalation of complaint forms; first-time fix."""

from django_tasks import task

from .services.escalation import feedback_escalations_run
from .services.first_time_fix import repeat_repairs_detect


@task()
def complaints_escalate_hourly() -> dict:
    """The hourly run of `complaints_escalate`: warnings, escalations, then pending e-mail / SMS.

    Idempotent: reruns (or a run after a killed one) tell nobody twice.
    """
    return feedback_escalations_run()


@task()
def repeat_repairs_detect_daily() -> int:
    """Daily: find repeat repairs of the last window + 14 days and plan their CS calls (reruns add nothing)."""
    return repeat_repairs_detect()
