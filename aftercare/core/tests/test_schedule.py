"""The schedule in code (`core/schedule.py`), the scheduler, the jobs page and its alerts, on a fake clock."""

import datetime as dt
import threading
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from aftercare.core import schedule
from aftercare.core.choices import JobRunStatus
from aftercare.core.models import JobRun, Notification
from aftercare.core.schedule import Job, Scheduler, job_status_list
from aftercare.org.choices import Role

SH = ZoneInfo("Asia/Shanghai")
DAY = dt.datetime(2026, 3, 10, tzinfo=SH)  # a Tuesday, 00:00 Shanghai
calls: Counter = Counter()


def _daily():
    calls["daily"] += 1
    return "daily done"


def _hourly():
    calls["hourly"] += 1


def _broken():
    raise RuntimeError("cannot open /srv/aftercare/var/secret.csv: gone")


FAKE_JOBS = {
    "daily_job": Job("daily_job", app="core", at=("01:00",), func=_daily),
    "hourly_job": Job("hourly_job", app="core", at=(":15",), func=_hourly, grace=dt.timedelta(minutes=10)),
}


@pytest.fixture
def fake_jobs(monkeypatch):
    """Only the fake jobs are on the schedule."""
    calls.clear()
    monkeypatch.setattr(schedule, "_JOBS", dict(FAKE_JOBS))
    return schedule._JOBS


def _work() -> int:
    """What `manage.py db_worker` does with each queued task: claim it, run it, record the result."""
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    )
    done = 0
    for result in DBTaskResult.objects.ready().order_by("enqueued_at"):
        result.claim("test")
        worker.run_task(result)
        done += 1
    return done


def _at(hour: int, minute: int = 0, day: int = 0) -> dt.datetime:
    return DAY + dt.timedelta(days=day, hours=hour, minutes=minute)


# ---- slots -------------------------------------------------------------------------------------------------------


def test_it_computes_slots_in_shanghai_time():
    daily, hourly = FAKE_JOBS["daily_job"], FAKE_JOBS["hourly_job"]
    assert daily.latest_slot(_at(0, 30)) == _at(1, day=-1)
    assert daily.latest_slot(_at(1)) == _at(1)
    assert daily.next_slot(_at(1)) == _at(1, day=1)
    assert hourly.latest_slot(_at(10, 14)) == _at(9, 15)
    assert hourly.next_slot(_at(10, 14)) == _at(10, 15)
    assert _at(1).astimezone(dt.UTC).hour == 17  # 01:00 Shanghai is 17:00 UTC the day before


def test_it_rejects_a_malformed_slot():
    with pytest.raises(ValueError):
        Job("x", app="core", at=("25:00",))
    with pytest.raises(ValueError):
        Job("x", app="core", at=("01:00", ":30"))


def test_it_lists_the_jobs_the_apps_registered():
    names = {job.name: job for job in schedule.jobs()}
    assert {"followups_generate", "repeat_repairs_detect", "data_quality_report", "complaints_escalate"} <= set(names)
    assert {"import_fail_stale"} <= set(names)
    assert names["complaints_escalate"].hourly and not names["followups_generate"].hourly
    assert {names[n].app for n in names} >= {"followups", "complaints", "customers", "dms"}


# ---- the scheduler -----------------------------------------------------------------------------------------------


def test_it_runs_each_job_once_per_slot_over_a_day(db, fake_jobs):
    scheduler = Scheduler()
    with time_machine.travel(_at(0, 20), tick=False) as clock:
        scheduler.tick()  # start: yesterday's 01:00 and today's 00:15 are the latest slots
        for _ in range(24 * 12):  # every 5 minutes until the next day 00:20
            clock.shift(dt.timedelta(minutes=5))
            scheduler.tick()
            _work()
    runs = JobRun.objects.all()
    by_job = Counter(runs.values_list("job", flat=True))
    assert by_job == {"daily_job": 2, "hourly_job": 25}  # yesterday's catch-up + today; 00:15 … 00:15 next day
    assert calls == {"daily": 2, "hourly": 25}
    assert set(runs.values_list("status", flat=True)) == {JobRunStatus.OK}
    assert runs.filter(job="daily_job", slot=_at(1)).get().output == "daily done"
    assert DBTaskResult.objects.count() == runs.count()
    assert all(r.started_at and r.finished_at and r.duration_ms is not None for r in runs)


def test_it_enqueues_a_slot_once_for_two_schedulers(db, fake_jobs):
    first, second = Scheduler(), Scheduler()
    with time_machine.travel(_at(1, 1), tick=False) as clock:
        assert len(first.tick()) == 2
        assert second.tick() == []
        clock.shift(dt.timedelta(hours=1))
        assert [r.job for r in second.tick()] == ["hourly_job"]
        assert first.tick() == []
    assert JobRun.objects.count() == DBTaskResult.objects.count() == 3


def test_it_claims_a_slot_once_when_the_insert_races(db, fake_jobs):
    job, slot = FAKE_JOBS["daily_job"], _at(1)
    assert schedule.job_slot_claim(job, slot, now=_at(1, 1)) is not None
    assert schedule.job_slot_claim(job, slot, now=_at(1, 1)) is None  # the unique (job, slot) said no
    assert JobRun.objects.count() == DBTaskResult.objects.count() == 1


@pytest.mark.skipif("connection.vendor != 'postgresql'")
# serialized_rollback, as every transactional test here: without it the flush re-creates the content types, and the
# next serialized test fails loading them again (duplicate key)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_enqueues_a_slot_once_for_two_schedulers_at_the_same_time(fake_jobs):
    barrier = threading.Barrier(2)
    got = []

    def run():
        try:
            barrier.wait()
            for minute in range(0, 60, 5):
                got.extend(Scheduler().tick(_at(1, minute)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((r.job, r.slot) for r in got) == sorted(JobRun.objects.values_list("job", "slot"))
    assert Counter(JobRun.objects.values_list("job", flat=True)) == {"daily_job": 1, "hourly_job": 2}
    assert DBTaskResult.objects.count() == 3


def test_it_runs_the_latest_missed_slot_once_after_a_gap(db, fake_jobs):
    with time_machine.travel(_at(2), tick=False):
        Scheduler().tick()
        _work()
    # everything down for two days and a half; the scheduler starts again at 14:20 on day 2
    with time_machine.travel(_at(14, 20, day=2), tick=False) as clock:
        restarted = Scheduler()
        assert sorted((r.job, r.slot) for r in restarted.tick()) == [
            ("daily_job", _at(1, day=2)),
            ("hourly_job", _at(14, 15, day=2)),
        ]
        clock.shift(dt.timedelta(seconds=20))
        assert restarted.tick() == [] and Scheduler().tick() == []
        _work()
    assert Counter(JobRun.objects.values_list("job", flat=True)) == {"daily_job": 2, "hourly_job": 2}
    assert calls == {"daily": 2, "hourly": 2}


def test_it_runs_once_as_a_command(db, fake_jobs, capsys):
    with time_machine.travel(_at(1, 5), tick=False):
        call_command("scheduler", "--once")
        call_command("scheduler", "--once")
    assert JobRun.objects.count() == 2
    assert "enqueued=2" in capsys.readouterr().out


def test_it_runs_the_registered_jobs_as_their_commands(db, store_a):
    """The real schedule on an almost empty database: every job's command runs and says what it did."""
    Scheduler().tick()
    _work()
    runs = {r.job: r for r in JobRun.objects.all()}
    assert set(runs) == {job.name for job in schedule.jobs()}
    assert {r.status for r in runs.values()} == {JobRunStatus.OK}, {r.job: r.reason for r in runs.values()}
    assert runs["followups_generate"].output.startswith("created ")
    assert runs["import_fail_stale"].output == "failed=0"


# ---- failures, lateness, alerts and the page ---------------------------------------------------------------------


@pytest.fixture
def admins(users):
    return users[Role.GROUP_ADMIN]


def test_it_records_a_failing_job_and_flags_it(db, fake_jobs, admins, users):
    fake_jobs["daily_job"] = Job("daily_job", app="core", at=("01:00",), func=_broken)
    with time_machine.travel(_at(1, 1), tick=False):
        Scheduler().tick()
        _work()
        run = JobRun.objects.get(job="daily_job", slot=_at(1))
        assert run.status == JobRunStatus.FAILED
        assert run.reason.startswith("RuntimeError: cannot open") and "/srv" not in run.reason
        assert run.finished_at is not None and run.duration_ms is not None
        task_result = DBTaskResult.objects.get(id=run.task_id)
        assert task_result.status == "FAILED"
        state = {s.job.name: s for s in job_status_list()}
        assert state["daily_job"].state == "failed" and state["daily_job"].flagged
        assert state["hourly_job"].state == "ok"
        Scheduler().tick()  # sends the alerts
        Scheduler().tick()  # … once per flagged slot
    notes = Notification.objects.filter(title__contains="daily_job")
    assert [n.recipient for n in notes] == [admins]
    assert "failed" in notes[0].title and "RuntimeError" in notes[0].body and notes[0].link == "/system/jobs/"


def test_it_flags_a_job_that_did_not_run_in_its_slot(db, fake_jobs, admins):
    with time_machine.travel(_at(1, 1), tick=False):
        Scheduler().tick()
        _work()
    # the next day the worker is down: the slot is enqueued but never runs
    with time_machine.travel(_at(1, 1, day=1), tick=False) as clock:
        Scheduler().tick()
        assert {s.job.name: s.state for s in job_status_list()}["daily_job"] == "queued"
        clock.shift(dt.timedelta(minutes=31))  # past the 30-minute grace
        status = {s.job.name: s for s in job_status_list()}["daily_job"]
        assert status.state == "late" and status.flagged
        Scheduler().tick()
        Scheduler().tick()
    notes = Notification.objects.filter(title__contains="daily_job")
    assert notes.count() == 1 and "did not run" in notes[0].title and notes[0].recipient == admins


def test_it_flags_a_slot_nobody_enqueued(db, fake_jobs):
    with time_machine.travel(_at(1, 1), tick=False):
        Scheduler().tick()
        _work()
    with time_machine.travel(_at(3, day=1), tick=False):  # the scheduler was down at 01:00 the next day
        status = {s.job.name: s for s in job_status_list()}["daily_job"]
        assert status.state == "late" and status.slot_run is None


def test_it_does_not_flag_a_job_that_never_ran(db, fake_jobs):
    with time_machine.travel(_at(15), tick=False):
        assert {s.state for s in job_status_list()} == {"new"}


def test_it_shows_the_jobs_page_to_the_group_admin(client, fake_jobs, admins):
    fake_jobs["daily_job"] = Job("daily_job", app="core", at=("01:00",), func=_broken)
    with time_machine.travel(_at(1, 1), tick=False):
        Scheduler().tick()
        _work()
    with time_machine.travel(_at(1, 1, day=1), tick=False):
        Scheduler().tick()
        client.force_login(admins)
        html = client.get("/system/jobs/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        home = client.get("/inbox/").content.decode()
    assert 'id="job-daily_job" data-state="failed"' in html and "RuntimeError: cannot open" in html
    assert 'id="job-hourly_job" data-state="late"' in html  # a catch-up after its grace: late until it ran
    assert "did not run in its slot 2026-03-11 00:15" in html
    assert "2026-03-12 01:00" in html  # the next daily slot, in Shanghai time
    assert "2 jobs need attention." in html
    assert 'id="nav-jobs"' in home


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.GROUP_ADMIN])
def test_it_forbids_the_jobs_page_to_other_roles(client, users, role):
    client.force_login(users[role])
    assert client.get("/system/jobs/").status_code == 403
    assert 'id="nav-jobs"' not in client.get("/inbox/").content.decode()


def test_it_sends_anonymous_users_to_log_in(client, db):
    assert client.get("/system/jobs/").status_code == 302


def test_it_reads_every_jobs_status_in_two_queries_whatever_the_runs(db, fake_jobs, django_assert_num_queries):
    with time_machine.travel(_at(2), tick=False) as clock:
        for _ in range(5):  # a few hours of runs of both jobs
            clock.shift(dt.timedelta(hours=1))
            Scheduler().tick()
            _work()
        with django_assert_num_queries(2):
            statuses = job_status_list()
    assert {s.job.name: s.state for s in statuses} == {"daily_job": "ok", "hourly_job": "ok"}
    assert all(s.last_run is not None and s.last_run.finished_at for s in statuses)


def test_it_reads_the_alert_recipients_once_for_several_flagged_slots(db, fake_jobs, admins, monkeypatch):
    """Two jobs failed in the same hour: both slots are told, and who to tell is asked once, not once a slot."""
    fake_jobs["daily_job"] = Job("daily_job", app="core", at=("01:00",), func=_broken)
    fake_jobs["hourly_job"] = Job("hourly_job", app="core", at=(":00",), func=_broken)
    asked = Counter()

    def counted(provider):
        def wrapper():
            asked["recipients"] += 1
            return provider()

        return wrapper

    monkeypatch.setattr(schedule, "_recipients", [counted(p) for p in schedule._recipients])
    with time_machine.travel(_at(1, 1), tick=False):
        Scheduler().tick()
        _work()
        assert schedule.job_alerts_send() == 2
    assert asked["recipients"] == len(schedule._recipients) == 1
    assert {n.title.split()[2] for n in Notification.objects.filter(recipient=admins)} == {"daily_job", "hourly_job"}
