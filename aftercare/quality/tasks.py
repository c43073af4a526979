from django_tasks import task


@task()
def quality_alarm_run_daily() -> dict:
    """Daily: the batch-defect alarm over every group's series (reruns add nothing)."""
    from .services.alarms import quality_alarm_run

    return quality_alarm_run()
