"""What auditing a read costs: the customer-360 page (and the vehicle page and the API read of one customer) with
and without the `view` audit event, on a seeded store.

The scratch database is SQLite (a file in a temporary directory, WAL, as `make run` uses it) unless
`DATABASE_URL` points at PostgreSQL; then a database of that server (default `aftercare_audit_bench`) is
dropped, created and migrated (and dropped again at the end unless `--keep`). `manage.py seed_demo` fills it
(the demo dealer group: ~2,000 customers with 18 months of deliveries, repair orders and policies).

A CS specialist of the first store, logged in with Django's test `Client` (in process, no network), opens the
pages of `--files` customers of that store in turn. Each timed round requests every URL once with the audit
write and once with `customer_view_record` / `vehicle_view_record` replaced by a no-op, in alternating order,
so both sides see the same machine load and the same growing audit table. p50 / p95 over `--requests` rounds,
and the paired difference (median over the rounds of audited − not audited, the same URL back to back: less
sensitive to a busy machine) and the mean CPU time per request — the app's thread (SQLite runs inside it) plus,
on PostgreSQL with a kept connection (`CONN_MAX_AGE` > 0), the backend's CPU read from /proc, which a shared,
busy machine inflates far less than wall time; queries are counted on one request of each kind. Then the same
with every file already viewed `--prior-views` times (the timeline's audit query skips those rows).
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .followupsbench import _setup_django
from .importbench import _proc_stat

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 2.0


def _manage(url: str, *args: str) -> None:
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="aftercare.settings", DEBUG="0")
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


@contextmanager
def _audit_disabled():
    from aftercare.customers import services

    saved = services.customer_view_record, services.vehicle_view_record
    services.customer_view_record = services.vehicle_view_record = lambda **kwargs: None
    try:
        yield
    finally:
        services.customer_view_record, services.vehicle_view_record = saved


def _count_queries(client, url: str) -> int:
    from django.db import connection

    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        assert client.get(url).status_code == 200, url
    return len(queries)


def _pick(files: int):
    """The first store's CS specialist and `files` of its customers that own a vehicle."""
    from aftercare.customers.models import Ownership
    from aftercare.demo.org import demo_group
    from aftercare.org.choices import Role
    from aftercare.org.models import Staff

    store = demo_group().stores.order_by("code").first()
    staff = Staff.objects.filter(role=Role.CS_SPECIALIST, stores=store, user__is_active=True).select_related("user")
    user = staff.order_by("user__username").first().user
    rows = list(
        Ownership.objects.filter(store=store, valid_to__isnull=True)
        .order_by("customer_id")
        .values_list("customer_id", "vehicle_id")[: files * 3]
    )
    seen, pairs = set(), []
    for customer_id, vehicle_id in rows:
        if customer_id not in seen:
            seen.add(customer_id)
            pairs.append((customer_id, vehicle_id))
    return store, user, pairs[:files]


def _urls(pairs) -> dict[str, list[str]]:
    return {
        "360 page GET /customers/{id}/": [f"/customers/{c}/" for c, _ in pairs],
        "vehicle page GET /customers/vehicles/{id}/": [f"/customers/vehicles/{v}/" for _, v in pairs],
        "API GET /api/customers/{id}": [f"/api/customers/{c}" for c, _ in pairs],
    }


def _backend_cpu():
    """CPU seconds used so far by this connection's PostgreSQL backend (read from /proc: the server runs on this
    machine), or None (SQLite, a server elsewhere, or a connection that is not kept between requests)."""
    from django.db import connection

    if connection.vendor != "postgresql" or not connection.settings_dict.get("CONN_MAX_AGE"):
        return None
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    ticks = os.sysconf("SC_CLK_TCK")

    def seconds() -> float | None:
        try:
            fields = _proc_stat(pid)
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

    return seconds if seconds() is not None else None


def _timed(client, url: str, backend) -> tuple[float, float, float | None]:
    """Wall seconds, this thread's CPU seconds (the app, and SQLite, which runs in process) and the PostgreSQL
    backend's CPU seconds (clock-tick resolution: only its sum over many requests means something)."""
    b0 = backend() if backend else None
    c0, w0 = time.thread_time(), time.perf_counter()
    response = client.get(url)
    wall, cpu = time.perf_counter() - w0, time.thread_time() - c0
    b1 = backend() if backend else None
    assert response.status_code == 200, url
    return wall, cpu, (b1 - b0 if b0 is not None and b1 is not None else None)


def _measure(client, urls: dict[str, list[str]], rounds: int) -> list[dict]:
    out = []
    for name, targets in urls.items():
        for url in targets[:3]:  # warm up both ways
            assert client.get(url).status_code == 200, url
            with _audit_disabled():
                assert client.get(url).status_code == 200, url
        queries_on = _count_queries(client, targets[0])
        with _audit_disabled():
            queries_off = _count_queries(client, targets[0])
        backend = _backend_cpu()
        samples: dict[bool, list] = {True: [], False: []}
        for i in range(rounds):
            url = targets[i % len(targets)]
            for audited in ((True, False) if i % 2 == 0 else (False, True)):
                if audited:
                    samples[True].append(_timed(client, url, backend))
                else:
                    with _audit_disabled():
                        samples[False].append(_timed(client, url, backend))
        on, off = samples[True], samples[False]
        out.append({"name": name, "on": [w for w, _, _ in on], "off": [w for w, _, _ in off],
                    "cpu_on": [c for _, c, _ in on], "cpu_off": [c for _, c, _ in off],
                    "db_on": [d for _, _, d in on if d is not None], "db_off": [d for _, _, d in off if d is not None],
                    "queries_on": queries_on, "queries_off": queries_off})
    return out


def _prior_views(user, pairs, n: int) -> int:
    """`n` earlier `view` events on every customer and vehicle file of the run (bulk, by other readers)."""
    from aftercare.core.choices import AuditAction
    from aftercare.core.models import AuditEvent
    from aftercare.customers.models import Customer

    store_ids = dict(Customer.objects.filter(pk__in=[c for c, _ in pairs]).values_list("pk", "store_id"))
    rows = []
    for customer_id, vehicle_id in pairs:
        for _ in range(n):
            rows.append(AuditEvent(actor_id=user.pk, store_id=store_ids[customer_id], action=AuditAction.VIEW,
                                   object_type="customers.customer", object_id=str(customer_id),
                                   detail={"route": "customers:detail", "via": "ui"}))
            rows.append(AuditEvent(actor_id=user.pk, store_id=store_ids[customer_id], action=AuditAction.VIEW,
                                   object_type="customers.vehicle", object_id=str(vehicle_id),
                                   detail={"route": "customers:vehicle_detail", "via": "ui",
                                           "customer_ids": [customer_id]}))
    AuditEvent.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def _table(title: str, results: list[dict]) -> str:
    lines = [f"\n{title}", "",
             "| request | queries off → on | p50 off ms | p50 on ms | p50 added ms | paired Δ ms | p95 off ms "
             "| p95 on ms | CPU off → on ms | CPU added ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        p50_off, p50_on = statistics.median(r["off"]), statistics.median(r["on"])
        p95_off = statistics.quantiles(r["off"], n=100, method="inclusive")[94]
        p95_on = statistics.quantiles(r["on"], n=100, method="inclusive")[94]
        paired = statistics.median(a - b for a, b in zip(r["on"], r["off"], strict=True))
        r["added"] = p50_on - p50_off
        # mean CPU per request: the app's thread (with SQLite inside) plus the PostgreSQL backend if measured
        cpu_on, cpu_off = statistics.fmean(r["cpu_on"]), statistics.fmean(r["cpu_off"])
        if r["db_on"] and r["db_off"]:
            cpu_on += statistics.fmean(r["db_on"])
            cpu_off += statistics.fmean(r["db_off"])
        r["cpu_added"] = cpu_on - cpu_off
        lines.append(f"| {r['name']} | {r['queries_off']} → {r['queries_on']} | {_ms(p50_off)} | {_ms(p50_on)} "
                     f"| {_ms(p50_on - p50_off)} | {_ms(paired)} | {_ms(p95_off)} | {_ms(p95_on)} "
                     f"| {_ms(cpu_off)} → {_ms(cpu_on)} | {_ms(cpu_on - cpu_off)} |")
    return "\n".join(lines)


def run(args) -> int:
    if args.requests < 200:
        print("--requests must be at least 200", file=sys.stderr)
        return 2
    url = os.environ.get("DATABASE_URL", "")
    pg = url.startswith(("postgres://", "postgresql://"))
    tmp = None
    if pg:
        from .importbench import _admin_url, _drop_database, _recreate_database

        bench_url = _admin_url(url, args.database) if args.reuse else _recreate_database(url, args.database)
    elif args.reuse:
        print("--reuse needs a PostgreSQL DATABASE_URL", file=sys.stderr)
        return 2
    else:
        tmp = tempfile.mkdtemp(prefix="aftercare-audit-bench-")
        bench_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
    try:
        if not args.reuse:
            started = time.perf_counter()
            _manage(bench_url, "migrate", "--noinput", "-v0", "--skip-checks")
            _manage(bench_url, "seed_demo", "--customers", str(args.customers))
            print(f"migrated and seeded in {time.perf_counter() - started:.0f} s", flush=True)
        _setup_django(bench_url)
        from django.conf import settings
        from django.db import connection
        from django.test import Client, override_settings

        # Static URLs are not what is measured: plain storage, so no `collectstatic` manifest is needed.
        storages = {**settings.STORAGES,
                    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
        with override_settings(STORAGES=storages):
            store, user, pairs = _pick(args.files)
            client = Client()
            client.force_login(user)
            engine = (f"PostgreSQL {connection.pg_version // 10000}" if pg
                      else f"SQLite {connection.Database.sqlite_version}")
            print(f"{engine}; CONN_MAX_AGE {connection.settings_dict['CONN_MAX_AGE']}; store {store.code}; "
                  f"{len(pairs)} files in turn; {args.requests} rounds; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
            fresh = _measure(client, _urls(pairs), args.requests)
            print(_table("Files viewed only by this run", fresh), flush=True)
            worst, worst_cpu = fresh[0]["added"], fresh[0]["cpu_added"]
            if args.prior_views:
                n = _prior_views(user, pairs, args.prior_views)
                if pg:
                    with connection.cursor() as cur:
                        cur.execute("ANALYZE core_auditevent")
                viewed = _measure(client, _urls(pairs), args.requests)
                print(_table(f"Every file already viewed {args.prior_views} times ({n} events added)", viewed))
                worst, worst_cpu = max(worst, viewed[0]["added"]), max(worst_cpu, viewed[0]["cpu_added"])
            print(f"\nload average after: {os.getloadavg()[0]:.1f}")
            verdict = "met" if worst * 1000 <= GOAL_MS else "NOT met"
            print(f"goal (360 page p50 + ≤ {GOAL_MS:.0f} ms): {verdict} ({_ms(worst)} ms added at most; "
                  f"CPU {_ms(worst_cpu)} ms a request)")
        return 0
    finally:
        if pg and not args.keep and not args.reuse:
            from django.db import connections

            connections.close_all()
            _drop_database(url, args.database)
        if tmp is not None and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp is not None:
            print(f"kept {bench_url}")
