"""The schedule: which background job runs when, in one place.

Each app contributes its jobs in its `AppConfig.ready()` (core imports no higher app):

    from aftercare.core.schedule import Job, register
    register(Job("followups_generate", app="followups", at=("01:00",)))   # daily at 01:00 Asia/Shanghai
    register(Job("complaints_escalate", app="complaints", at=(":00",)))    # hourly at minute 00

A job runs a management command (its name, unless `command` says otherwise), so cron users run exactly the same
thing by hand. `manage.py scheduler` ticks every few seconds: for each job, the latest slot that has begun gets a
`JobRun` row (unique `(job, slot)`: of two schedulers only one inserts it) and, in the same transaction, a Django
Task (`core.tasks.scheduled_job_run`) that runs the command and writes start, finish, duration and result on the
row. A scheduler that was down runs only the latest missed slot of each job when it starts again.

A job is flagged on the jobs page (and its slot notified once to the users who may see the page) when its last
run failed, or when its latest slot has not finished `grace` after it began.
"""

import datetime as dt
import io
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone
from django.utils.functional import Promise

from .choices import JobRunStatus
from .models import JobRun
from .timezones import business_tz

logger = logging.getLogger(__name__)

_SLOT = re.compile(r"^(?:(?P<hour>[01]\d|2[0-3])|):(?P<minute>[0-5]\d)$")
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.\-~]+){2,}[\\/]?")
REASON_MAX = 300


@dataclass(frozen=True)
class Job:
    """`at`: slots in Asia/Shanghai, `"HH:MM"` daily or `":MM"` hourly (all of one kind)."""

    name: str
    app: str
    at: tuple[str, ...]
    command: str = ""
    args: tuple[str, ...] = ()
    description: str | Promise = ""
    grace: dt.timedelta = dt.timedelta(minutes=30)
    func: Callable[[], object] | None = field(default=None, compare=False)  # instead of a command (tests)

    def __post_init__(self):
        if not self.at:
            raise ValueError(f"job {self.name}: no slot")
        kinds = set()
        for spec in self.at:
            match = _SLOT.match(spec)
            if not match:
                raise ValueError(f"job {self.name}: slot {spec!r} is neither 'HH:MM' nor ':MM'")
            kinds.add(match["hour"] is None)
        if len(kinds) > 1:
            raise ValueError(f"job {self.name}: daily and hourly slots mixed")
        if not self.command and self.func is None:
            object.__setattr__(self, "command", self.name)

    @property
    def hourly(self) -> bool:
        return self.at[0].startswith(":")

    @property
    def _times(self) -> list[tuple[int, int]]:
        return sorted((int(s[:2]) if s[0] != ":" else 0, int(s[-2:])) for s in self.at)

    def _candidates(self, now: dt.datetime):
        """Slot instants around `now` (a day either side), ascending."""
        local = timezone.localtime(now, business_tz())
        out = []
        if self.hourly:
            base = local.replace(minute=0, second=0, microsecond=0)
            for h in range(-2, 3):
                hour = base + dt.timedelta(hours=h)
                out += [hour.replace(minute=m) for _, m in self._times]
        else:
            for d in (-1, 0, 1):
                day = local.date() + dt.timedelta(days=d)
                out += [dt.datetime.combine(day, dt.time(hh, mm), tzinfo=business_tz()) for hh, mm in self._times]
        return sorted(out)

    def latest_slot(self, now: dt.datetime) -> dt.datetime:
        """The last slot that began at or before `now`."""
        return max(s for s in self._candidates(now) if s <= now).astimezone(dt.UTC)

    def next_slot(self, now: dt.datetime) -> dt.datetime:
        """The first slot after `now`."""
        return min(s for s in self._candidates(now) if s > now).astimezone(dt.UTC)

    @property
    def schedule_display(self) -> str:
        return ", ".join(sorted(self.at))


_JOBS: dict[str, Job] = {}
_recipients: list[Callable[[], Iterable[tuple[int, list]]]] = []


def register(job: Job) -> Job:
    """Add `job` to the schedule (apps call this in `ready()`); the same job twice is a no-op, another one with the
    same name an error."""
    known = _JOBS.get(job.name)
    if known is not None and known != job:
        raise ValueError(f"two different scheduled jobs named {job.name}")
    _JOBS[job.name] = job
    return job


def jobs() -> list[Job]:
    return sorted(_JOBS.values(), key=lambda j: (j.app, j.name))


def job_get(name: str) -> Job | None:
    return _JOBS.get(name)


def register_alert_recipients(provider: Callable[[], Iterable[tuple[int, list]]]) -> None:
    """`provider()` yields `(store_id, users)`: who is told of a flagged job (the org app registers the users whose
    role may see the jobs page; a notification belongs to a store)."""
    if provider not in _recipients:
        _recipients.append(provider)


# ---- the scheduler ----------------------------------------------------------------------------------------------


def job_slot_claim(job: Job, slot: dt.datetime, *, now: dt.datetime) -> JobRun | None:
    """Insert the `(job, slot)` row and enqueue its task in one transaction; None when another scheduler has it."""
    from .tasks import scheduled_job_run

    try:
        with transaction.atomic():
            run = JobRun.objects.create(job=job.name, slot=slot, enqueued_at=now)
            result = scheduled_job_run.enqueue(run.pk)
            JobRun.objects.filter(pk=run.pk).update(task_id=str(result.id)[:64])
    except IntegrityError:
        return None
    logger.info("scheduled %s for slot %s", job.name, slot.isoformat())
    return run


class Scheduler:
    """`tick()` enqueues the latest slot of each job unless some scheduler already did; keeps a note of the slots
    it has seen taken so that a quiet tick does not ask for them again (it still reads the jobs' status, two queries,
    for the alerts, `job_alerts_send`)."""

    def __init__(self):
        self._taken: dict[str, dt.datetime] = {}

    def tick(self, now: dt.datetime | None = None) -> list[JobRun]:
        now = now or timezone.now()
        enqueued = []
        for job in jobs():
            slot = job.latest_slot(now)
            if self._taken.get(job.name) == slot:
                continue
            if not JobRun.objects.filter(job=job.name, slot=slot).exists():
                run = job_slot_claim(job, slot, now=now)
                if run is not None:
                    enqueued.append(run)
            self._taken[job.name] = slot
        job_alerts_send(now=now)
        return enqueued

    def run_forever(self, *, interval: float, should_stop: Callable[[], bool]) -> None:
        from django.db import close_old_connections

        while not should_stop():
            close_old_connections()
            try:
                self.tick()
            except Exception:  # a locked SQLite file, a restarted PostgreSQL …: try again next tick, never die
                logger.exception("scheduler tick failed; retrying")
            close_old_connections()
            deadline = time.monotonic() + interval
            while not should_stop() and time.monotonic() < deadline:
                time.sleep(min(0.5, interval))


# ---- running a job (called by the task) -------------------------------------------------------------------------


def short_reason(exc: BaseException) -> str:
    """`ExceptionClass: message`, without server paths, at most REASON_MAX characters."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = _PATH.sub("…", " ".join(text.split()))
    return text[:REASON_MAX]


def job_run_execute(run_id: int) -> JobRun:
    """Run the job of one `JobRun` row once and record start, finish, duration and result on it.

    A row already started (a task delivered twice) is left alone. Errors are recorded, then raised again.
    """
    from django.core.management import call_command

    now = timezone.now()
    if not JobRun.objects.filter(pk=run_id, status=JobRunStatus.QUEUED).update(
        status=JobRunStatus.RUNNING, started_at=now
    ):
        return JobRun.objects.get(pk=run_id)
    run = JobRun.objects.get(pk=run_id)
    job = job_get(run.job)
    started = time.monotonic()
    out = io.StringIO()
    error: BaseException | None = None
    try:
        if job is None:
            raise LookupError(f"no scheduled job named {run.job}")
        if job.func is not None:
            result = job.func()
            if result is not None:
                out.write(str(result))
        else:
            call_command(job.command, *job.args, stdout=out, stderr=out)
    except Exception as exc:  # recorded on the row, then raised for the task's own record
        logger.exception("scheduled job %s (slot %s) failed", run.job, run.slot.isoformat())
        error = exc
    lines = [line.strip() for line in out.getvalue().splitlines() if line.strip()]
    run.finished_at = timezone.now()
    run.duration_ms = int((time.monotonic() - started) * 1000)
    run.status = JobRunStatus.FAILED if error else JobRunStatus.OK
    run.reason = short_reason(error) if error else ""
    run.output = _PATH.sub("…", lines[0])[:300] if len(lines) == 1 else ""  # a one-line summary; not a report
    run.save(update_fields=["finished_at", "duration_ms", "status", "reason", "output"])
    if error is not None:
        raise error
    return run


# ---- status and alerts ------------------------------------------------------------------------------------------


@dataclass
class JobStatus:
    job: Job
    state: str  # ok | failed | late | running | queued | new
    slot: dt.datetime  # the latest slot that has begun
    next_slot: dt.datetime
    last_run: JobRun | None  # the newest run that started
    slot_run: JobRun | None  # the run of `slot`, if any
    flag_run: JobRun | None  # the run whose slot is flagged (failed or late), if any

    @property
    def flagged(self) -> bool:
        return self.state in ("failed", "late")


def _job_state(job: Job, slot: dt.datetime, *, now, slot_run, last_finished, has_history):
    """Healthchecks-style state: the last run failed → failed; the latest slot not finished `grace` after it began
    → late (a job that never had a run before is new, not late); else ok / queued / running. Returns the state and
    the run whose slot is flagged."""
    if slot_run is not None and slot_run.status == JobRunStatus.FAILED:
        return "failed", slot_run
    if slot_run is not None and slot_run.status == JobRunStatus.OK:
        return "ok", None
    if now > slot + job.grace and has_history:
        return "late", slot_run
    if last_finished is not None and last_finished.status == JobRunStatus.FAILED:
        return "failed", last_finished
    if slot_run is not None:
        return slot_run.status, None
    return ("ok" if last_finished is not None else "new"), None


def job_status_list(*, now: dt.datetime | None = None, only: Iterable[Job] | None = None) -> list[JobStatus]:
    """The status of every registered job (or of `only`), in two queries whatever the number of jobs: one
    aggregate per job (newest started and finished slot, oldest slot), then the runs those slots name."""
    now = now or timezone.now()
    wanted = list(jobs() if only is None else only)
    slots = {job.name: job.latest_slot(now) for job in wanted}
    marks = {
        row["job"]: row
        for row in JobRun.objects.filter(job__in=slots)
        .values("job")
        .annotate(
            started=Max("slot", filter=Q(started_at__isnull=False)),
            finished=Max("slot", filter=Q(finished_at__isnull=False)),
            oldest=Min("slot"),
        )
    }
    keys = {(name, slot) for name, slot in slots.items()}
    for name, row in marks.items():
        keys |= {(name, row[k]) for k in ("started", "finished") if row[k] is not None}
    runs = {}
    if marks:
        match = Q()
        for name, slot in keys:
            match |= Q(job=name, slot=slot)
        runs = {(run.job, run.slot): run for run in JobRun.objects.filter(match)}
    out = []
    for job in wanted:
        slot, row = slots[job.name], marks.get(job.name, {})
        slot_run = runs.get((job.name, slot))
        last_run = runs.get((job.name, row.get("started")))
        last_finished = runs.get((job.name, row.get("finished")))
        has_history = row.get("oldest") is not None and row["oldest"] < slot
        state, flag_run = _job_state(
            job, slot, now=now, slot_run=slot_run, last_finished=last_finished, has_history=has_history
        )
        out.append(JobStatus(job, state, slot, job.next_slot(now), last_run, slot_run, flag_run))
    return out


def job_alerts_send(*, now: dt.datetime | None = None) -> int:
    """Tell the recipients of each flagged slot, once per slot (`JobRun.notified_at`); returns slots notified."""
    from django.urls import reverse
    from django.utils.translation import gettext, ngettext

    from .services import notification_send

    now = now or timezone.now()
    sent = 0
    recipients = None  # who is told: read once, for however many slots are flagged
    for status in job_status_list(now=now):
        run = status.flag_run
        if run is None or run.notified_at is not None:
            continue
        with transaction.atomic():
            if not JobRun.objects.filter(pk=run.pk, notified_at__isnull=True).update(notified_at=now):
                continue
            slot_local = timezone.localtime(run.slot, business_tz()).strftime("%Y-%m-%d %H:%M")
            if status.state == "failed":
                title = gettext("Scheduled job %(job)s failed (slot %(slot)s)")
                body = run.reason
            else:
                title = gettext("Scheduled job %(job)s did not run in its slot %(slot)s")
                minutes = int(status.job.grace.total_seconds() // 60)
                body = ngettext(
                    "It had not finished %(minutes)s minute after its slot. Is the task worker running?",
                    "It had not finished %(minutes)s minutes after its slot. Is the task worker running?",
                    minutes,
                ) % {"minutes": minutes}
            title %= {"job": status.job.name, "slot": slot_local}
            if recipients is None:
                recipients = [row for provider in _recipients for row in provider()]
            for store_id, users in recipients:
                notification_send(store_id=store_id, recipients=users, title=title, body=body, link=reverse("jobs"))
        sent += 1
    return sent
