"""Background work of core: the run of one scheduled job slot (`core/schedule.py`)."""

from django_tasks import task


@task()
def scheduled_job_run(run_id: int) -> dict:
    """Run the job of `JobRun` #run_id and record its start, finish, duration and result on the row (a failure is
    recorded there, then raised so the task result says failed too)."""
    from .schedule import job_run_execute

    run = job_run_execute(run_id)
    return {"job": run.job, "status": run.status, "duration_ms": run.duration_ms}
