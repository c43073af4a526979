"""Load benchmark: the call-queue, customer-360 and complaint-list pages served as `make run` serves them
(gunicorn, `WEB_WORKERS` workers, DEBUG off, production settings) on a free loopback port, with the load
generator on the same host.

Database: SQLite with the demo (`seed_demo` into a file in a temporary directory) unless `--database-url`
points at PostgreSQL; then a database of that server (default `aftercare_loadbench`) is dropped, created,
migrated and filled: the demo, then `seed_demo --scale` sized so that the first store (GZ01) holds
`--customers` customers (deliveries, repair orders, policies), then `followups_generate` (the call tasks of
their last 14 days of events, as the daily job makes them). `--keep` keeps it, `--reuse` uses a kept one.

The demo's specialist (`gz_cs`) asks for the queue and customer-360 pages (random customers of GZ01), the
CS manager (`gz_csm`) for the complaint list; each logs in once through the login page (session cookie).

Two modes, each `--duration` seconds a run:

* saturation: closed-loop clients (each sends its next request when the last body has been read) at 1, 2, 4, 8,
  16, 32, one page at a time, until the throughput stops rising (less than 5 % over the best step so far);
* users: `--users` simulated users, open loop: each asks for a page (a random one of `--pages`) at arrival
  times drawn in advance with exponential gaps of `--think` seconds on average (30 users, 3 s: ~10 req/s). A
  request is timed from its arrival time, not from when a connection became free, so a slow server is not
  hidden by fewer requests (no coordinated omission).

Latency runs from the moment the request is due (open loop) or sent (closed loop) to the last byte of the body
read; http.client with one keep-alive connection per client thread. An error is a status other than 200 or a
failed connection. The CPU time of gunicorn's processes per request (read from /proc) is the page's own server
time, which a busy machine inflates far less than latency; on PostgreSQL the server's CPU is added apart
("-" when it runs elsewhere).
"""

import datetime as dt
import heapq
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from .importbench import process_tree_cpu

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PAGES = ("queue", "customer360", "complaints")
PAGE_USER = {"queue": "gz_cs", "customer360": "gz_cs", "complaints": "gz_csm"}
STORE = "GZ01"
CLIENT_STEPS = (1, 2, 4, 8, 16, 32)
RISE = 1.05  # a step must beat the best so far by 5 % to count as rising


# ---- the database -----------------------------------------------------------------------------------------------


def _manage(env: dict, *args: str, quiet: bool = True) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL if quiet else None)


def _env(url: str, *, plain_static: bool) -> dict:
    env = dict(os.environ, DATABASE_URL=url, DEBUG="false", LOG_LEVEL="WARNING")
    env["DJANGO_SETTINGS_MODULE"] = "bench.load_settings" if plain_static else "aftercare.settings"
    return env


def prepare_database(args, workdir: Path) -> tuple[str, dict]:
    """Create and fill the database; returns its URL and what was done (for the report)."""
    done: dict = {}
    started = time.monotonic()
    if args.database_url:
        from .importbench import _admin_url, _recreate_database

        if args.reuse:
            url = _admin_url(args.database_url, args.database)
            done["reused"] = args.database
            return url, done
        url = _recreate_database(args.database_url, args.database)
    elif args.sqlite:
        done["reused"] = args.sqlite
        return f"sqlite:///{Path(args.sqlite).resolve()}", done
    else:
        url = f"sqlite:///{workdir / 'demo.sqlite3'}"
    env = _env(url, plain_static=False)
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "seed_demo", "--customers", str(args.demo_customers))
    if args.database_url:
        _django(url)
        from aftercare.demo.org import STORES

        share = next(s.share for s in STORES if s.code == STORE)
        scale = max(1, round(max(0, args.customers - share * args.demo_customers) / share))
        print(f"  seed_demo --scale {scale:,} (so that {STORE} holds ~{args.customers:,} customers) …", flush=True)
        _manage(env, "seed_demo", "--scale", str(scale))
        _manage(env, "followups_generate")
        done["scale"] = scale
        done["closed_tasks"] = close_old_tasks()
    done["seed_s"] = time.monotonic() - started
    return url, done


def _django(url: str) -> None:
    """Django set up in this process, on the bench's database (once)."""
    from django.apps import apps

    if apps.ready:
        return
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="aftercare.settings", DEBUG="false")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def close_old_tasks(open_days: int = 2) -> int:
    """A working team's queue: the tasks `followups_generate` made for the scale data, of events more than
    `open_days` ago, closed by the store's CS specialist (9 in 10 completed within 20 hours, 1 in 10 unreachable
    after 3 attempts), so that the queue holds the last days' events (as `bench followups` does) instead of every
    task of two weeks nobody called. Set-based; returns how many were closed."""
    from django.db import connection
    from django.utils import timezone

    from aftercare.demo.org import GROUP_CODE
    from aftercare.org.choices import Role
    from aftercare.org.models import Staff

    cut = timezone.now() - dt.timedelta(days=open_days)
    closed = 0
    with connection.cursor() as cur:
        for staff in Staff.objects.filter(role=Role.CS_SPECIALIST, group__code=GROUP_CODE).prefetch_related("stores"):
            stores = [s.pk for s in staff.stores.all()]
            if len(stores) != 1:
                continue
            cur.execute(
                """
                UPDATE followups_followuptask
                SET status = CASE WHEN id %% 10 = 0 THEN 'unreachable' ELSE 'completed' END,
                    outcome = CASE WHEN id %% 10 = 0 THEN 'no_answer' ELSE 'completed' END,
                    attempts = CASE WHEN id %% 10 = 0 THEN 3 ELSE 1 END,
                    completed_at = event_at + interval '20 hours', completed_by_id = %s, next_call_at = NULL
                WHERE store_id = %s AND status = 'open' AND event_at < %s
                """,
                [staff.user_id, stores[0], cut],
            )
            closed += cur.rowcount
        cur.execute("VACUUM ANALYZE followups_followuptask")
    return closed


def pick_customers(url: str, n: int = 500, seed: int = 1) -> list[int]:
    """Up to `n` random customer ids of the store, read in this process."""
    _django(url)
    from django.db import connections

    from aftercare.customers.models import Customer

    ids = list(Customer.objects.filter(store__code=STORE).values_list("id", flat=True))
    connections.close_all()
    random.Random(seed).shuffle(ids)
    return ids[:n]


def store_counts(url: str) -> dict:
    from django.db import connections

    from aftercare.complaints.models import Feedback
    from aftercare.customers.models import Customer
    from aftercare.followups.models import FollowupTask

    out = {
        "customers": Customer.objects.filter(store__code=STORE).count(),
        "tasks": FollowupTask.objects.filter(store__code=STORE).count(),
        "open_tasks": FollowupTask.objects.filter(store__code=STORE, status="open").count(),
        "complaints": Feedback.objects.filter(store__code=STORE).count(),
    }
    connections.close_all()
    return out


# ---- the server -------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn as scripts/run.sh starts it, on a free loopback port; its processes' CPU read from /proc."""

    def __init__(self, url: str, *, workers: int, plain_static: bool, workdir: Path):
        self.port = _free_port()
        env = _env(url, plain_static=plain_static)
        self.log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "aftercare.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", str(workers),
             "--access-logfile", str(workdir / "access.log")],
            env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn stopped: {(workdir / 'gunicorn.log').read_text()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/login/")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def cpu(self) -> float:
        """CPU seconds of the master and its live workers (and those it has reaped)."""
        return process_tree_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def login(port: int, username: str, password: str) -> str:
    """The session cookie after logging in through the login page, as a browser does."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login/")
    resp = conn.getresponse()
    body = resp.read().decode()
    csrf = re.search(r"csrftoken=([^;]+)", resp.getheader("Set-Cookie") or "").group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    conn.request("POST", "/login/", body=urlencode({"username": username, "password": password,
                                                     "csrfmiddlewaretoken": token}),
                 headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}",
                          "Referer": f"http://127.0.0.1:{port}/login/"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    session = re.search(r"sessionid=([^;]+)", resp.getheader("Set-Cookie") or "")
    if resp.status != 302 or not session:
        raise RuntimeError(f"log-in as {username} failed ({resp.status})")
    return f"sessionid={session.group(1)}"


# ---- the load ---------------------------------------------------------------------------------------------------


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: Counter = field(default_factory=Counter)  # of the errors: HTTP status, 0 = no answer

    def add(self, latency: float, status: int) -> None:
        self.latencies.append(latency)  # list.append is atomic under the GIL
        if status != 200:
            self.errors += 1
            self.statuses[status] += 1


class Client:
    """One keep-alive connection; `get` returns the answer's status (0: none)."""

    def __init__(self, port: int):
        self.port = port
        self.conn = None

    def get(self, path: str, cookie: str) -> int:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request("GET", path, headers={"Cookie": cookie, "Accept-Language": "zh-hans"})
                resp = self.conn.getresponse()
                resp.read()
                if resp.will_close:
                    self.close()
                return resp.status
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    return 0
        return 0

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Pages:
    def __init__(self, cookies: dict[str, str], customers: list[int], seed: int = 7):
        self.cookies, self.customers = cookies, customers
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def request(self, page: str) -> tuple[str, str]:
        if page == "queue":
            path = "/followups/"
        elif page == "complaints":
            path = "/complaints/"
        else:
            with self.lock:
                path = f"/customers/{self.rng.choice(self.customers)}/"
        return path, self.cookies[PAGE_USER[page]]


def closed_loop(port: int, pages: Pages, page: str, clients: int, duration: float) -> Samples:
    samples = Samples()
    stop_at = time.monotonic() + duration

    def run():
        client = Client(port)
        while True:
            path, cookie = pages.request(page)
            started = time.monotonic()
            if started >= stop_at:
                break
            status = client.get(path, cookie)
            samples.add(time.monotonic() - started, status)
        client.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples


def arrivals(users: int, think: float, duration: float, pages: list[str], seed: int = 11) -> list[tuple[float, str]]:
    """(offset in seconds, page) of every request of the run: per user, exponential gaps of `think` on average
    (the user's first request after one gap, so users do not start together), merged in time order."""
    rng = random.Random(seed)
    out = []
    for _ in range(users):
        t = rng.expovariate(1 / think)
        while t < duration:
            out.append((t, rng.choice(pages)))
            t += rng.expovariate(1 / think)
    return sorted(out)


def open_loop(port: int, pages: Pages, schedule: list[tuple[float, str]], connections: int) -> dict[str, Samples]:
    """Each request is sent at its arrival time by a free connection (`connections` of them); its latency counts
    from the arrival time, so waiting for a connection counts too."""
    samples = {page: Samples() for _, page in schedule}
    heap = list(schedule)
    heapq.heapify(heap)
    lock = threading.Lock()
    start = time.monotonic() + 0.1

    def run():
        client = Client(port)
        while True:
            with lock:
                if not heap:
                    break
                offset, page = heapq.heappop(heap)
            due = start + offset
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            path, cookie = pages.request(page)
            status = client.get(path, cookie)
            samples[page].add(time.monotonic() - due, status)
        client.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples


def summary(samples: Samples, seconds: float, cpu: float | None = None, db_cpu: float | None = None) -> dict:
    lat = sorted(samples.latencies)
    n = len(lat)

    def q(p: float) -> float | None:
        return lat[min(n - 1, int(p * n))] * 1000 if n else None

    return {"requests": n, "req_s": n / seconds if seconds else 0.0, "p50_ms": statistics.median(lat) * 1000 if n
            else None, "p95_ms": q(0.95), "p99_ms": q(0.99), "max_ms": lat[-1] * 1000 if n else None,
            "errors": samples.errors, "error_statuses": dict(samples.statuses),
            "cpu_ms_per_req": cpu * 1000 / n if cpu is not None and n else None,
            "db_cpu_ms_per_req": db_cpu * 1000 / n if db_cpu is not None and n else None}


def _fmt(value, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def _row(label: str, s: dict) -> str:
    return (f"{label:<34} {s['requests']:>8,} {s['req_s']:>8.1f} {_fmt(s['p50_ms']):>8} {_fmt(s['p95_ms']):>8} "
            f"{_fmt(s['p99_ms']):>8} {s['errors']:>6} {_fmt(s['cpu_ms_per_req']):>11} "
            f"{_fmt(s['db_cpu_ms_per_req']):>10}"
            + (f"  errors by status: {s['error_statuses']}" if s.get("error_statuses") else ""))


HEADER = (f"{'run':<34} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6} "
          f"{'web CPU ms':>11} {'db CPU ms':>10}")


# ---- main -------------------------------------------------------------------------------------------------------


def run(args) -> int:
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    if not pages or set(pages) - set(PAGES):
        print(f"--pages: a comma-separated list of {', '.join(PAGES)}", file=sys.stderr)
        return 2
    if args.duration <= 0 or args.workers < 1 or args.users < 1 or args.think <= 0:
        print("--duration, --workers, --users and --think must be positive", file=sys.stderr)
        return 2
    if args.database_url and not args.database_url.startswith(("postgres://", "postgresql://")):
        print("--database-url must be postgres://user@host:port/any_db (SQLite: leave it out)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="aftercare-load-"))
    server = None
    db = "PostgreSQL" if args.database_url else "SQLite"
    try:
        t0 = time.monotonic()
        print(f"preparing the {db} database …", flush=True)
        url, prepared = prepare_database(args, workdir)
        if not args.plain_static:
            _manage(_env(url, plain_static=False), "collectstatic", "--noinput", "-v0")
        customers = pick_customers(url)
        counts = store_counts(url)
        prepared["prepare_s"] = time.monotonic() - t0
        print(f"  ready in {prepared['prepare_s']:.0f} s: {STORE} has {counts['customers']:,} customers, "
              f"{counts['tasks']:,} follow-up tasks ({counts['open_tasks']:,} open), {counts['complaints']:,} "
              f"complaints", flush=True)
        db_meter = lambda: None  # noqa: E731
        if args.database_url:
            from .importbench import server_cpu_meter

            db_meter = server_cpu_meter(url)
        server = Server(url, workers=args.workers, plain_static=args.plain_static, workdir=workdir)
        cookies = {u: login(server.port, u, args.password) for u in sorted(set(PAGE_USER[p] for p in pages))}
        pager = Pages(cookies, customers)
        for page in pages:  # warm up every worker's caches and connections
            closed_loop(server.port, pager, page, args.workers * 2, min(2.0, args.duration))

        def measured(fn):
            cpu0, db0, t = server.cpu(), db_meter(), time.monotonic()
            result = fn()
            seconds = time.monotonic() - t
            db1 = db_meter()
            return result, seconds, server.cpu() - cpu0, (db1 - db0) if db0 is not None and db1 is not None else None

        results: dict = {"database": db, "workers": args.workers, "duration_s": args.duration, "store": STORE,
                         "counts": counts, "prepared": prepared, "cpus": os.cpu_count(),
                         "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                         "load_before": os.getloadavg()[0], "saturation": {}, "users": {}}
        print()
        print(f"{db}, gunicorn {args.workers} workers, {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f}; {args.duration:g} s a run")
        print(HEADER, flush=True)
        if args.mode in ("saturation", "both"):
            for page in pages:
                steps, best = [], 0.0
                for clients in CLIENT_STEPS:
                    if clients > args.max_clients:
                        break
                    samples, seconds, cpu, db_cpu = measured(
                        lambda page=page, clients=clients: closed_loop(server.port, pager, page, clients,
                                                                       args.duration))
                    s = summary(samples, seconds, cpu, db_cpu) | {"clients": clients}
                    steps.append(s)
                    print(_row(f"{page}, {clients} closed-loop", s), flush=True)
                    if s["req_s"] < best * RISE and clients > 1:
                        break
                    best = max(best, s["req_s"])
                results["saturation"][page] = {"steps": steps, "max_req_s": max(x["req_s"] for x in steps)}
        if args.mode in ("users", "both"):
            schedule = arrivals(args.users, args.think, args.duration, pages)
            by_page, seconds, cpu, db_cpu = measured(
                lambda: open_loop(server.port, pager, schedule, max(args.users, 8)))
            n_all = sum(len(s.latencies) for s in by_page.values()) or 1
            everything = Samples([x for s in by_page.values() for x in s.latencies],
                                 sum(s.errors for s in by_page.values()),
                                 sum((s.statuses for s in by_page.values()), Counter()))
            for page, samples in by_page.items():
                share = len(samples.latencies) / n_all
                s = summary(samples, seconds, cpu * share, db_cpu * share if db_cpu is not None else None)
                results["users"][page] = s
                print(_row(f"{page}, {args.users} users open loop", s), flush=True)
            s = summary(everything, seconds, cpu, db_cpu)
            results["users"]["all"] = s
            print(_row(f"all pages, {args.users} users", s), flush=True)
        results["load_after"] = os.getloadavg()[0]
        print(f"load average at the end: {results['load_after']:.1f}")
        if args.json:
            OUT.mkdir(parents=True, exist_ok=True)
            path = OUT / f"load-{db.lower()}-{time.strftime('%Y%m%d-%H%M%S')}.json"
            path.write_text(json.dumps(results, indent=2, default=str))
            print(f"written: {path.relative_to(ROOT)}")
        errors = sum(s["errors"] for v in results["saturation"].values() for s in v["steps"])
        errors += sum(s["errors"] for s in results["users"].values())
        return 1 if errors else 0
    finally:
        if server is not None:
            server.stop()
        if args.database_url and not args.keep and not args.reuse:
            from .importbench import _drop_database

            if "django" in sys.modules:
                from django.db import connections

                connections.close_all()
            _drop_database(args.database_url, args.database)
        shutil.rmtree(workdir, ignore_errors=True)
