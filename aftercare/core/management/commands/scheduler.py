"""`manage.py scheduler`: keep the schedule of `aftercare/core/schedule.py`.

Every `--interval` seconds it enqueues, as a Django Task run by `manage.py db_worker`, each job slot that has begun
and that no scheduler has enqueued yet (after a stop, only the latest missed slot of each job), and notifies the
group admins of jobs that failed or did not run in their slot. Two schedulers at once never enqueue a slot twice.
`--once` does one tick and exits (for a cron job every minute instead of a long-running process).
Ctrl-C / SIGTERM stop it between ticks.
"""

import signal

from django.core.management.base import BaseCommand

from aftercare.core.schedule import Scheduler, jobs


class Command(BaseCommand):
    help = "Enqueue the scheduled jobs (daily / hourly, Asia/Shanghai) once per slot; --once for a single tick."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one tick, then exit")
        parser.add_argument("--interval", type=float, default=20.0, help="seconds between ticks (default 20)")

    def handle(self, *args, once=False, interval=20.0, **options):
        scheduler = Scheduler()
        if once:
            runs = scheduler.tick()
            self.stdout.write(f"enqueued={len(runs)}" + "".join(f" {r.job}" for r in runs))
            return
        stop = {"now": False}

        def _stop(signum, frame):
            stop["now"] = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        names = ", ".join(f"{j.name} {j.schedule_display}" for j in jobs())
        self.stdout.write(f"scheduler: {len(jobs())} jobs ({names}); tick every {interval:g} s", ending="\n")
        self.stdout.flush()
        scheduler.run_forever(interval=max(interval, 0.5), should_stop=lambda: stop["now"])
        self.stdout.write("scheduler stopped")
