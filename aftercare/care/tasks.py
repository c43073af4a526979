from django_tasks import task


# ---- remind ----
@task()
def care_reminders_generate_daily() -> dict:
    """Daily: the care reminders due, their call tasks and SMS (reruns add nothing)."""
    from .services.remind import reminders_generate

    return reminders_generate()
# ---- end remind ----
