"""Follow-up task generation benchmark: `followups_generate` against one hand-written
`INSERT … SELECT … ON CONFLICT DO NOTHING` making the same tasks, plus the call-queue page.

Needs `DATABASE_URL` pointing at a PostgreSQL server; a scratch database (default
`aftercare_bench_fu`) on that server is dropped, created and migrated. The data is made by
`generate_series` in the server (much faster than `seed_demo --scale`): one store per 100 k
vehicles, one customer per vehicle, one delivery per vehicle spread over 1,500 days, five repair
orders per vehicle spread over the last 580 days — so one business day holds about 9 k events
(~8.6 k settled orders + ~0.7 k deliveries per 1 M vehicles). 1 in 20 orders is internal (excluded
by rule), 1 in 25 customers refused service calls (task made as `no_consent`).
"""

import datetime as dt
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .importbench import _drop_database, _recreate_database

ROOT = Path(__file__).resolve().parent.parent
TZ_NAME = "Asia/Shanghai"
VEHICLES_PER_STORE = 100_000
DELIVERY_DAYS = 1500
RO_DAYS = 580
ROS_PER_VEHICLE = 5
CHUNK = 1_000_000
# 1 in 20 internal (excluded by the CSI rule)
RO_KINDS = ["maintenance"] * 8 + ["first_free_maintenance", "mechanical", "mechanical", "mechanical", "body",
                                   "paint", "paint", "wash", "wash", "warranty_claim", "insurance_job", "internal"]


def _setup_django(bench_url: str) -> None:
    os.environ.update(DATABASE_URL=bench_url, DJANGO_SETTINGS_MODULE="aftercare.settings", DEBUG="0",
                      LOG_LEVEL="ERROR")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _insert_select(cursor, model, exprs: dict[str, str], source: str, params: dict) -> None:
    """`INSERT INTO <model table> SELECT …` with `exprs` for the given columns and the field defaults for the rest."""
    from django.db import connection

    params = dict(params)
    cols, values = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key and f.column not in exprs:
            continue  # identity
        cols.append(f.column)
        if f.column in exprs:
            values.append(exprs[f.column])
        elif f.null:
            values.append("NULL")
        else:
            default = f.get_default()
            if default is None:
                raise RuntimeError(f"bench loader: no value for {model.__name__}.{f.column}")
            params[f"d_{f.column}"] = f.get_db_prep_save(default, connection)
            values.append(f"%(d_{f.column})s")
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({', '.join(cols)}) SELECT {', '.join(values)} FROM {source}", params
    )


def _store_of(var: str) -> str:
    return f"(%(stores)s::bigint[])[(({var} - 1) %% %(n_stores)s) + 1]"


def _delivered_at(var: str) -> str:
    return (f"(%(end)s::timestamptz - make_interval(days => 1 + (hashint4({var}::int) & 2147483647) %% {DELIVERY_DAYS})"
            f" + make_interval(mins => 540 + (hashint4(-{var}::int) & 2147483647) %% 540))")


def load_data(vehicles: int) -> dict:
    """Org, users, rules and the customer data; returns ids the runs need."""
    from django.contrib.auth import get_user_model
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from aftercare.customers.models import Customer, Ownership, RepairOrder, SalesDelivery, Vehicle
    from aftercare.followups.services.rules import followup_rules_seed_defaults
    from aftercare.org.calendar import business_date
    from aftercare.org.choices import Role
    from aftercare.org.models import DealerGroup, Region, Staff, Store

    n_stores = max(1, round(vehicles / VEHICLES_PER_STORE))
    group = DealerGroup.objects.create(code="BENCH", name="bench")
    region = Region.objects.create(group=group, code="B", name="bench")
    stores = [
        Store.objects.create(group=group, region=region, code=f"BENCH{i:02d}", name=f"bench {i}", brand="别克")
        for i in range(1, n_stores + 1)
    ]
    user_model = get_user_model()
    specialists = []
    for store in stores:
        followup_rules_seed_defaults(store)
        user = user_model.objects.create(username=f"cs_{store.code.lower()}")
        user.set_unusable_password()
        user.save()
        staff = Staff.objects.create(user=user, group=group, role=Role.CS_SPECIALIST, display_name=f"专员{store.pk}")
        staff.stores.set([store])
        specialists.append(user)

    today = business_date()
    end = dt.datetime.combine(today, dt.time(0), tzinfo=dt.timezone(dt.timedelta(hours=8)))
    params = {"stores": [s.pk for s in stores], "n_stores": n_stores, "end": end, "kinds": RO_KINDS}
    day_of_delivery = f"(({_delivered_at('i')} AT TIME ZONE '{TZ_NAME}')::date)"
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # rows consistent by construction: no FK triggers
        try:
            series = "generate_series(1, %(n)s) i"
            n = {"n": vehicles}
            with transaction.atomic():
                _insert_select(cur, Customer, {
                    "id": "i", "store_id": _store_of("i"), "created_at": "now()", "updated_at": "now()",
                    "number": "'B' || lpad(i::text, 9, '0')", "name": "'客户' || i",
                    "mobile": "'+86139' || lpad(i::text, 8, '0')",
                    "consent_service_calls": "(hashint4(i + 11) & 2147483647) %% 25 <> 0",
                    "source": "'service'",
                }, series, params | n)
                _insert_select(cur, Vehicle, {
                    "id": "i", "store_id": _store_of("i"), "created_at": "now()", "updated_at": "now()",
                    "vin": "'LSGBENCH' || lpad(i::text, 9, '0')", "brand": "'别克'", "model": "'英朗'",
                    "delivery_date": day_of_delivery,
                }, series, params | n)
                _insert_select(cur, Ownership, {
                    "store_id": _store_of("i"), "created_at": "now()", "updated_at": "now()", "vehicle_id": "i",
                    "customer_id": "i", "valid_from": day_of_delivery,
                }, series, params | n)
                _insert_select(cur, SalesDelivery, {
                    "id": "i", "store_id": _store_of("i"), "created_at": "now()", "updated_at": "now()",
                    "vehicle_id": "i", "customer_id": "i", "delivered_at": _delivered_at("i"),
                    "order_number": "'SO' || i",
                }, series, params | n)
            print(f"  customers, vehicles, ownerships, deliveries: {vehicles:,} each "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
            total = vehicles * ROS_PER_VEHICLE
            for lo in range(1, total + 1, CHUNK):
                hi = min(lo + CHUNK - 1, total)
                v = f"((j - 1) %% {vehicles} + 1)"
                with transaction.atomic():
                    _insert_select(cur, RepairOrder, {
                        "id": "j", "store_id": _store_of(v), "created_at": "now()", "updated_at": "now()",
                        "ro_number": "'RO' || lpad(j::text, 9, '0')", "vehicle_id": v, "customer_id": v,
                        "settled_at": f"%(end)s::timestamptz - make_interval(days => 1 + (hashint4(j) & 2147483647)"
                                      f" %% {RO_DAYS}) + make_interval(mins => 480 + (hashint4(j + 7) & 2147483647)"
                                      f" %% 600)",
                        "kind": f"(%(kinds)s::text[])[1 + (hashint4(j + 13) & 2147483647) %% {len(RO_KINDS)}]",
                        "amount": "((hashint4(3 * j) & 65535) / 100.0)::numeric(12, 2)",
                        "mileage": "1000 + j %% 90000",
                    }, "generate_series(%(lo)s, %(hi)s) j", params | {"lo": lo, "hi": hi})
                print(f"  repair orders: {hi:,} ({time.perf_counter() - t0:.0f} s)", flush=True)
        finally:
            cur.execute("SET session_replication_role = origin")
        for sql in connection.ops.sequence_reset_sql(no_style(), [Customer, Vehicle, SalesDelivery, RepairOrder]):
            cur.execute(sql)
        cur.execute("VACUUM ANALYZE")
    print(f"  loaded and analysed in {time.perf_counter() - t0:.0f} s", flush=True)
    return {"stores": stores, "specialists": specialists, "today": today, "load_s": time.perf_counter() - t0}


# ---- the hand-written statement ---------------------------------------------------------------------------------

HAND_WRITTEN = """
INSERT INTO followups_followuptask (
    store_id, created_at, updated_at, rule_id, kind, subject_type, subject_id, customer_id, vehicle_id,
    template_id, event_at, due_at, status, status_reason, attempts, next_call_at, outcome
)
SELECT d.store_id, now(), now(), r.id, r.kind, 'delivery', d.id, d.customer_id, d.vehicle_id, r.template_id,
    d.delivered_at, d.delivered_at + interval '24 hours',
    CASE WHEN c.consent_service_calls THEN 'open' ELSE 'no_consent' END,
    CASE WHEN c.consent_service_calls THEN '' ELSE 'consent_service_calls' END, 0, d.delivered_at, ''
FROM customers_salesdelivery d
JOIN followups_followuprule r ON r.store_id = d.store_id AND r.code = 'SSI'
JOIN customers_customer c ON c.id = d.customer_id
WHERE d.delivered_at >= %(since)s AND d.delivered_at < %(until)s
UNION ALL
SELECT o.store_id, now(), now(), r.id, r.kind, 'repair_order', o.id, o.customer_id, o.vehicle_id, r.template_id,
    o.settled_at, ((o.settled_at AT TIME ZONE 'Asia/Shanghai')::date + 4)::timestamp AT TIME ZONE 'Asia/Shanghai',
    CASE WHEN c.consent_service_calls THEN 'open' ELSE 'no_consent' END,
    CASE WHEN c.consent_service_calls THEN '' ELSE 'consent_service_calls' END, 0, o.settled_at, ''
FROM customers_repairorder o
JOIN followups_followuprule r ON r.store_id = o.store_id AND r.code = 'CSI'
JOIN customers_customer c ON c.id = o.customer_id
WHERE o.settled_at >= %(since)s AND o.settled_at < %(until)s AND o.kind <> 'internal'
ON CONFLICT DO NOTHING
"""

KEY = "rule_id, subject_type, subject_id, due_at, status, status_reason, event_at, next_call_at"


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _truncate() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE followups_followuptask CASCADE")


def run_hand_written(since: dt.date, until: dt.date) -> tuple[float, int]:
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(HAND_WRITTEN, {"since": _day_start(since), "until": _day_start(until)})
        made = cur.rowcount
    return time.perf_counter() - started, made


def run_ours(**options) -> tuple[float, int]:
    """`manage.py followups_generate` in process (one transaction per store), timed."""
    from django.core.management import call_command

    out = io.StringIO()
    started = time.perf_counter()
    call_command("followups_generate", stdout=out, **options)
    elapsed = time.perf_counter() - started
    made = int(out.getvalue().split()[1])
    return elapsed, made


def _task_keys() -> set[tuple]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"SELECT {KEY} FROM followups_followuptask")
        return set(cur.fetchall())


def bench_daily(day: dt.date, repeats: int) -> dict:
    """One day of events, `repeats` times each way, alternating; the task sets must be equal."""
    ours, hand = [], []
    for _ in range(repeats):
        _truncate()
        secs, made_ours = run_ours(since=day, until=day + dt.timedelta(days=1))
        ours.append(secs)
        keys_ours = _task_keys()
        _truncate()
        secs, made_hand = run_hand_written(day, day + dt.timedelta(days=1))
        hand.append(secs)
        keys_hand = _task_keys()
        if made_ours != made_hand or keys_ours != keys_hand:
            raise SystemExit(f"daily: different tasks: ours {made_ours}, hand-written {made_hand}, "
                             f"{len(keys_ours ^ keys_hand)} keys differ")
    return {"ours": ours, "hand": hand, "tasks": made_ours}


def bench_lookback(day: dt.date) -> dict:
    """The command as cron runs it (default 14-day lookback: `day` and the 13 days before, which are already
    done), against the hand-written statement over the same 14 days."""
    first = day - dt.timedelta(days=13)
    out = {}
    for name in ("hand", "ours"):
        _truncate()
        run_hand_written(first, day)
        before = _count()
        if name == "ours":
            out[name], _made = run_ours()
        else:
            out[name], _made = run_hand_written(first, day + dt.timedelta(days=1))
        out[f"{name}_tasks"] = _count() - before
    if out["hand_tasks"] != out["ours_tasks"]:
        raise SystemExit(f"lookback: ours made {out['ours_tasks']}, hand-written {out['hand_tasks']}")
    return {"ours": out["ours"], "hand": out["hand"], "tasks": out["ours_tasks"]}


def _count() -> int:
    from aftercare.followups.models import FollowupTask

    return FollowupTask.objects.count()


def bench_backfill(first: dt.date, until: dt.date) -> dict:
    """Every event: hand-written, then ours (`--all`); compares the two task sets in the server."""
    from django.db import connection

    _truncate()
    hand_s, hand_n = run_hand_written(first, until)
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_hand")
        cur.execute(f"CREATE UNLOGGED TABLE bench_hand AS SELECT {KEY} FROM followups_followuptask")
    _truncate()
    ours_s, ours_n = run_ours(all=True)
    diff = "SELECT count(*) FROM (SELECT {k} FROM {a} EXCEPT SELECT {k} FROM {b}) x"
    with connection.cursor() as cur:
        cur.execute(diff.format(k=KEY, a="followups_followuptask", b="bench_hand"))
        only_ours = cur.fetchone()[0]
        cur.execute(diff.format(k=KEY, a="bench_hand", b="followups_followuptask"))
        only_hand = cur.fetchone()[0]
        cur.execute("DROP TABLE bench_hand")
    if hand_n != ours_n or only_ours or only_hand:
        raise SystemExit(f"backfill: different tasks: ours {ours_n}, hand-written {hand_n}, "
                         f"{only_ours} only ours, {only_hand} only hand-written")
    return {"ours": ours_s, "hand": hand_s, "tasks": ours_n}


# ---- the queue page ---------------------------------------------------------------------------------------------


def close_history(store, specialist, today: dt.date, open_days: int = 2) -> int:
    """Make the task table look like a working team's: the queue store keeps its whole history, tasks older than
    `open_days` closed (90 % completed in time, 10 % unreachable after 3 attempts). The other stores' tasks are
    dropped: rebuilding one store is much faster than updating 5 M rows in place (~5 min), and every query of the
    page filters on the store. The queue query's plan depends on the statistics (see docs/benchmarks.md): with
    this table it walks the store's (store, due_at) index over all closed tasks. Returns how many were closed."""
    from django.db import connection, transaction

    params = {"user": specialist.pk, "store": store.pk, "cut": _day_start(today - dt.timedelta(days=open_days))}
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_keep")
        cur.execute("CREATE TEMP TABLE bench_keep AS SELECT * FROM followups_followuptask"
                    " WHERE store_id = %(store)s", params)
        cur.execute(
            """
            UPDATE bench_keep
            SET status = CASE WHEN subject_id %% 10 = 0 THEN 'unreachable' ELSE 'completed' END,
                outcome = CASE WHEN subject_id %% 10 = 0 THEN 'no_answer' ELSE 'completed' END,
                attempts = CASE WHEN subject_id %% 10 = 0 THEN 3 ELSE 1 END,
                completed_at = event_at + interval '20 hours', completed_by_id = %(user)s
            WHERE store_id = %(store)s AND status = 'open' AND event_at < %(cut)s
            """,
            params,
        )
        closed = cur.rowcount
        cur.execute("SET session_replication_role = replica")  # same rows as before: no FK triggers
        try:
            with transaction.atomic():
                cur.execute("TRUNCATE followups_followuptask CASCADE")
                cur.execute("INSERT INTO followups_followuptask SELECT * FROM bench_keep")
        finally:
            cur.execute("SET session_replication_role = origin")
        cur.execute("DROP TABLE bench_keep")
        cur.execute("VACUUM ANALYZE followups_followuptask")
    return closed


def _percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples), cuts[94]


def bench_queue(store, specialist, requests: int) -> list[dict]:
    """GET the queue page and the queue API as the store's specialist; p50 / p95 and queries per request."""
    from django.db import connection
    from django.test import Client

    from aftercare.followups.selectors import followup_queue

    client = Client()
    client.force_login(specialist)
    out = []
    queue_len = followup_queue(user=specialist).count()
    for name, url in (("page GET /followups/", "/followups/"),
                      ("page GET /followups/?kind=csi&page=2", "/followups/?kind=csi&page=2"),
                      ("API GET /api/followups/queue", "/api/followups/queue")):
        for _ in range(3):  # warm up
            assert client.get(url).status_code == 200, url
        queries = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = client.get(url)
        assert response.status_code == 200, url
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(url)
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200
        p50, p95 = _percentiles(samples)
        out.append({"name": name, "p50": p50, "p95": p95, "queries": len(queries),
                    "bytes": len(response.content), "queue": queue_len})
    return out


# ---- main ------------------------------------------------------------------------------------------------------


def _fmt(ours: float, hand: float) -> str:
    return f"{ours / hand:.2f}x"


def run(args) -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("bench followups needs DATABASE_URL=postgres://user@host:port/any_db (a PostgreSQL server)",
              file=sys.stderr)
        return 2
    if args.vehicles < 1000:
        print("--vehicles must be at least 1000", file=sys.stderr)
        return 2
    bench_url = _recreate_database(url, args.database)
    try:
        env = dict(os.environ, DATABASE_URL=bench_url, DJANGO_SETTINGS_MODULE="aftercare.settings", DEBUG="0")
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0", "--skip-checks"],
                       env=env, cwd=ROOT, check=True)
        _setup_django(bench_url)
        print(f"load average before loading: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        data = load_data(args.vehicles)
        today = data["today"]
        day = today - dt.timedelta(days=1)
        print(f"load average before the runs: {os.getloadavg()[0]:.1f}", flush=True)

        daily = bench_daily(day, args.repeats)
        print(f"  daily done: {daily}", flush=True)
        lookback = bench_lookback(day)
        print(f"  14-day lookback done: {lookback}", flush=True)
        store, specialist = data["stores"][0], data["specialists"][0]
        backfill = None
        if args.no_backfill:
            _truncate()
            run_ours(all=True, store=store.code)  # the queue store's history only
        else:
            backfill = bench_backfill(today - dt.timedelta(days=DELIVERY_DAYS + 1), today)
            print(f"  backfill done: {backfill}", flush=True)
        load_after_gen = os.getloadavg()[0]

        closed = close_history(store, specialist, today)
        queue = bench_queue(store, specialist, args.requests)

        d_ours, d_hand = statistics.median(daily["ours"]), statistics.median(daily["hand"])
        print()
        print(f"{args.vehicles:,} vehicles / {args.vehicles * ROS_PER_VEHICLE:,} repair orders / "
              f"{args.vehicles:,} deliveries in {len(data['stores'])} stores (loaded in {data['load_s']:.0f} s)")
        print()
        print(f"{'run':<70} {'tasks':>10} {'seconds':>9} {'vs hand-written':>16}")
        rows = [
            (f"daily {day}: hand-written INSERT … SELECT (median of {args.repeats})", daily["tasks"], d_hand, ""),
            (f"daily {day}: followups_generate --since --until (median of {args.repeats})", daily["tasks"], d_ours,
             _fmt(d_ours, d_hand)),
            ("daily, 14 days of events, 13 done: hand-written INSERT … SELECT", lookback["tasks"], lookback["hand"],
             ""),
            ("daily, 14 days of events, 13 done: followups_generate (cron default)", lookback["tasks"],
             lookback["ours"], _fmt(lookback["ours"], lookback["hand"])),
        ]
        if backfill:
            rows += [
                ("backfill: hand-written INSERT … SELECT", backfill["tasks"], backfill["hand"], ""),
                ("backfill: followups_generate --all", backfill["tasks"], backfill["ours"],
                 _fmt(backfill["ours"], backfill["hand"])),
            ]
        for name, tasks, secs, ratio in rows:
            print(f"{name:<70} {tasks:>10,} {secs:>9.2f} {ratio:>16}")
        print(f"  all daily samples: ours {[round(x, 3) for x in daily['ours']]}, "
              f"hand-written {[round(x, 3) for x in daily['hand']]}")
        print(f"load average after generation: {load_after_gen:.1f}")
        print()
        print(f"queue of {store.code} ({args.vehicles // len(data['stores']):,} customers; {closed:,} older tasks "
              f"closed; other stores' tasks dropped; {queue[0]['queue']:,} tasks in the specialist's queue), "
              f"{args.requests} requests each:")
        print(f"{'request':<42} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'bytes':>9}")
        for q in queue:
            print(f"{q['name']:<42} {q['p50'] * 1000:>8.1f} {q['p95'] * 1000:>8.1f} {q['queries']:>8} "
                  f"{q['bytes']:>9,}")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        ok = d_ours <= 2 * d_hand and (backfill is None or backfill["ours"] <= 2 * backfill["hand"])
        print()
        print(f"target: followups_generate within 2x of the hand-written statement: {'met' if ok else 'NOT met'}")
        return 0 if ok else 1
    finally:
        if not args.keep:
            if "django" in sys.modules and os.environ.get("DJANGO_SETTINGS_MODULE"):
                from django.db import connections

                connections.close_all()
            _drop_database(url, args.database)
