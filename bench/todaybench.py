"""The start page per role: `python -m bench today [--requests 200]` seeds the demo (`manage.py seed_demo`) into a
scratch database — SQLite in a temporary directory, or, when `DATABASE_URL` points at PostgreSQL, a database of that
server named by `--database` (dropped, created and migrated; dropped again at the end unless `--keep`) — and, for
one demo user of each role in the first store, times `--requests` sequential `GET /today/` with Django's test
`Client` (in process, no network): p50, p95 and max per role against the 150 ms bound (issue 19), the queries of
one request (cold/warm: the managers' glance computed, then from the cache; `org/glance.py`) and the load average
of the machine. `--cards` also times each card's numbers per role.
"""

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .followupsbench import _setup_django
from .readauditbench import _count_queries, _manage

BOUND_MS = 150.0


def _users():
    """{role: the first active demo user of that role in the first store (the group admin: any store)}."""
    from aftercare.demo.org import demo_group
    from aftercare.org.choices import Role
    from aftercare.org.models import Staff

    store = demo_group().stores.order_by("code").first()
    out = {}
    for role in Role.values:
        staff = Staff.objects.filter(role=role, user__is_active=True).select_related("user").order_by("user__username")
        first = staff.filter(stores=store).first() or staff.first()
        if first is not None:
            out[role] = first.user
    return store, out


def _table(rows) -> str:
    lines = [f"{'role':<22}{'user':<14}{'queries':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  < {BOUND_MS:.0f} ms"]
    for role, username, queries, times in rows:
        ms = sorted(t * 1000 for t in times)
        p95 = ms[max(0, int(len(ms) * 0.95) - 1)]
        lines.append(f"{role:<22}{username:<14}{queries:>8}{statistics.median(ms):>9.1f}{p95:>9.1f}{ms[-1]:>9.1f}"
                     f"  {'yes' if p95 < BOUND_MS else 'NO'}")
    return "\n".join(lines)


def _cards_table(users, repeats: int = 20) -> str:
    """Mean ms of each card's `data` per role (the store switcher's "all stores"), slowest first."""
    from django.utils import timezone

    from aftercare.org.scoping import visible_store_ids
    from aftercare.org.start import cards_for

    lines = [f"{'role':<22}{'card':<32}{'ms':>8}"]
    for role, user in users.items():
        ids, now, times = frozenset(visible_store_ids(user)), timezone.now(), []
        for card in cards_for(user):
            t0 = time.perf_counter()
            for _ in range(repeats):
                card.data(user=user, store_ids=ids, now=now)
            times.append(((time.perf_counter() - t0) * 1000 / repeats, card.key))
        lines += [f"{role:<22}{key:<32}{ms:>8.1f}" for ms, key in sorted(times, reverse=True)]
    return "\n".join(lines)


def run(args) -> int:
    url = os.environ.get("DATABASE_URL", "")
    pg = url.startswith(("postgres://", "postgresql://"))
    tmp = None
    if args.sqlite:
        pg, bench_url = False, f"sqlite:///{Path(args.sqlite).resolve()}"
    elif pg:
        from .importbench import _drop_database, _recreate_database

        bench_url = _recreate_database(url, args.database)
    else:
        tmp = tempfile.mkdtemp(prefix="aftercare-today-bench-")
        bench_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
    try:
        if not args.sqlite:
            started = time.perf_counter()
            _manage(bench_url, "migrate", "--noinput", "-v0", "--skip-checks")
            _manage(bench_url, "seed_demo", "--customers", str(args.customers))
            print(f"migrated and seeded in {time.perf_counter() - started:.0f} s", flush=True)
        _setup_django(bench_url)
        from django.conf import settings
        from django.core.cache import cache
        from django.db import connection
        from django.test import Client, override_settings

        storages = {**settings.STORAGES,
                    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
        with override_settings(STORAGES=storages):
            store, users = _users()
            engine = (f"PostgreSQL {connection.pg_version // 10000}" if pg
                      else f"SQLite {connection.Database.sqlite_version}")
            print(f"{engine}; store {store.code}; {args.requests} sequential GET /today/ per role; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
            rows = []
            for role, user in users.items():
                client = Client()
                client.force_login(user)
                cache.clear()  # the managers' glance (org/glance.py): counted once computed, once from the cache
                queries = f"{_count_queries(client, '/today/')}/{_count_queries(client, '/today/')}"
                times = []
                for _ in range(args.requests):
                    t0 = time.perf_counter()
                    response = client.get("/today/")
                    times.append(time.perf_counter() - t0)
                    assert response.status_code == 200, (role, response.status_code)
                rows.append((role, user.username, queries, times))
            print(_table(rows))
            if args.cards:
                print(_cards_table(users))
            print(f"load average after: {os.getloadavg()[0]:.1f}")
        worst = max(sorted(t)[max(0, int(len(t) * 0.95) - 1)] for *_x, t in rows) * 1000
        return 0 if worst < BOUND_MS else 1
    finally:
        if pg and not args.keep:
            from django.db import connections

            connections.close_all()
            _drop_database(url, args.database)
        if tmp and args.keep:
            print(f"kept {tmp}/bench.sqlite3 (--sqlite to reuse it)")
        elif tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(2)
