"""Batch-defect alarm benchmark (issue 20): `quality_alarm_run` against a hand-written SQL aggregate of its inputs,
and the dealer scorecard of one month over the group's stores.

`python -m bench quality-alarm [--vehicles 2000000] [--repair-orders 10000000] [--stores 100]` needs `DATABASE_URL`
pointing at a PostgreSQL server; a scratch database (default `aftercare_bench_qa`) on that server is dropped,
created and migrated. One dealer group of `--stores` stores; one customer, vehicle and sales delivery per vehicle,
delivered over the five years before July 2026 (1 vehicle in 20 without a delivery date in the vehicle file: its
build month is the month of its first sales delivery); `--repair-orders` repair orders of those vehicles after their
delivery (mixed kinds, 1 in 3 booked); a parts-quality report (submitted, one of the seven part families, 1 in 3 with
a supplier batch) for 1.5 % of the repair orders, and a defect: the family of position 1 fails twice as often in
the vehicles built in March 2025 from six months in service on. Loaded by `INSERT … SELECT generate_series`.

1. **The limit**: one hand-written statement for each input of the job: the vehicles by build month (the vehicle
   file's delivery month, else the first sales delivery's), and the submitted reports by family × build month ×
   months in service pooled across the stores, with the stores and supplier batches of each series (`GROUPING
   SETS`, one scan). Checked equal to what the job reads.
2. **Ours**: `quality_alarm_run` as of 2026-07-15 (the last complete month June 2026): the first run (the
   thresholds' cache empty; it opens the alarms) and reruns (nothing written: idempotent), median of `--repeats`.
   Ratio = ours / limit (target: within 2x). And where the job's time goes (its reads, the series, the thresholds,
   the two tests).
3. **The scorecard** (`scorecard_month`, the group admin, June 2026, every store): p50 / p95 of `--runs` runs, and
   the page `/quality/scorecard/?month=2026-06`; against hand-written aggregates of the inputs that hold rows here
   (the repair orders of the appointment rate, the parts-shipment months). The follow-up, complaint, renewal and
   booking tables stay empty: those measures are timed on empty tables (their own benchmarks load them).
"""

import datetime as dt
import statistics
import sys
import time

TODAY = dt.date(2026, 7, 15)  # the last complete month: June 2026
LAST_DAY = dt.date(2026, 6, 30)  # the last delivery day
DELIVERY_DAYS = 1826  # five years of deliveries
DEFECT_BUILD = dt.date(2025, 3, 1)
REPORTS_PER_MILLE = 15  # parts-quality reports per 1000 repair orders
TZ = "Asia/Shanghai"


def _h(expr: str, salt: int) -> str:
    """A non-negative pseudo-random int of `expr` (bigint) and `salt`."""
    return f"(hashint8(({expr})::bigint * 64 + {salt}) & 2147483647)"


def _delivery(cid: str) -> str:
    """The delivery date of the vehicle of customer `cid`."""
    return f"(%(last_day)s::date - {_h(cid, 1)} %% {DELIVERY_DAYS})"


KINDS = ("ARRAY['maintenance','maintenance','maintenance','maintenance','maintenance','mechanical','mechanical',"
         "'body','paint','warranty_claim','insurance_job','first_free_maintenance','wash','internal','maintenance',"
         "'maintenance']")


def _without_secondary_indexes(cur, table: str):
    """Drop `table`'s indexes that no foreign key uses (its plain indexes and unique constraints), and return the
    statements that put them back: a bulk load then appends to the heap, and each index is built once, sorted,
    instead of taking 10 M random inserts through 128 MB of buffers."""
    cur.execute(
        """
        SELECT i.indexrelid::regclass::text, c.conname, pg_get_indexdef(i.indexrelid),
               pg_get_constraintdef(c.oid)
          FROM pg_index i
          LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
         WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
           AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid)
        """,
        [table],
    )
    restore = []
    for index, constraint, index_def, constraint_def in cur.fetchall():
        if constraint:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
            restore.append(f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {constraint_def}')
        else:
            cur.execute(f"DROP INDEX {index}")
            restore.append(index_def)
    return restore


def load_data(vehicles: int, repair_orders: int, n_stores: int) -> dict:
    """The group, its stores, customers, vehicles, deliveries, repair orders, parts-quality reports and twelve months
    of parts shipments (the current database)."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from aftercare.customers.models import Customer, RepairOrder, SalesDelivery, Vehicle
    from aftercare.org.choices import Role
    from aftercare.org.models import Staff
    from aftercare.quality.models import PartFamily, QualityReport
    from aftercare.quality.shipment_models import PartsShipmentMonth
    from aftercare.testing import factories as f

    from .followupsbench import _insert_select

    started = time.perf_counter()
    group = f.DealerGroupFactory(code="QB", name="质量基准集团")
    region = f.RegionFactory(group=group, code="QB")
    stores = [f.StoreFactory(code=f"QB{i:03d}", name=f"质量基准店{i}", group=group, region=region)
              for i in range(n_stores)]
    user = get_user_model().objects.create(username="bench_quality_admin")
    staff = Staff.objects.create(user=user, group=group, role=Role.GROUP_ADMIN, display_name="质量")
    staff.stores.set(stores)
    families = list(PartFamily.objects.filter(active=True).order_by("position").values_list("pk", flat=True))
    params = {"stores": [s.pk for s in stores], "n_stores": n_stores, "v": vehicles, "r": repair_orders,
              "last_day": LAST_DAY, "families": families, "n_fam": len(families), "user": user.pk,
              "defect_build": DEFECT_BUILD, "june": LAST_DAY.replace(day=1), "defect_from": dt.date(2025, 9, 1),
              "tz": TZ}
    steps = {}
    with connection.cursor() as cur:
        def step(name, fn):
            t = time.perf_counter()
            with transaction.atomic():
                fn()
            steps[name] = time.perf_counter() - t
            print(f"  {name}: {steps[name]:.0f} s", flush=True)

        # generated consistent: the keys' triggers (the deferred (store, customer) checks, one a row) are skipped
        cur.execute("SET session_replication_role = replica")
        now = "now()"
        step("customers", lambda: _insert_select(cur, Customer, {
            "store_id": "(%(stores)s::bigint[])[1 + g %% %(n_stores)s]", "number": "'Q' || g", "name": "'客户' || g",
            "mobile": "''", "is_active": "true", "created_at": now, "updated_at": now,
        }, "generate_series(1, %(v)s) g", params))
        cur.execute("SELECT min(id) FROM customers_customer")
        cmin = cur.fetchone()[0]
        params["cmin"] = cmin
        step("vehicles", lambda: _insert_select(cur, Vehicle, {
            "store_id": "c.store_id", "vin": "'LSJ' || lpad(c.id::text, 14, '0')", "model": "'英朗'",
            "delivery_date": f"CASE WHEN {_h('c.id', 2)} %% 20 = 0 THEN NULL ELSE {_delivery('c.id')} END",
            "created_at": now, "updated_at": now,
        }, "customers_customer c ORDER BY c.id", params))
        cur.execute("SELECT min(id) FROM customers_vehicle")
        params["off"] = cmin - cur.fetchone()[0]  # customer id = vehicle id + off
        step("deliveries", lambda: _insert_select(cur, SalesDelivery, {
            "store_id": "v.store_id", "vehicle_id": "v.id", "customer_id": "v.id + %(off)s",
            "delivered_at": f"({_delivery('v.id + %(off)s')} + time '10:00') AT TIME ZONE %(tz)s",
            "created_at": now, "updated_at": now,
        }, "customers_vehicle v", params))
        # repair orders: a vehicle drawn at random, settled on a day between its delivery and 2026-07-14
        ro_vehicle = f"(%(cmin)s - %(off)s + {_h('g', 3)} %% %(v)s)"
        restore = _without_secondary_indexes(cur, RepairOrder._meta.db_table)
        step("repair orders", lambda: _insert_select(cur, RepairOrder, {
            "store_id": "v.store_id", "ro_number": "'R' || g", "vehicle_id": "v.id", "customer_id": "v.id + %(off)s",
            "settled_at": f"(d.day + 1 + {_h('g', 4)} %% greatest(%(today)s::date - 1 - d.day, 1) "
                          f"+ make_time(9 + {_h('g', 5)} %% 9, 0, 0)) AT TIME ZONE %(tz)s",
            "kind": f"({KINDS})[1 + {_h('g', 6)} %% 16]", "amount": f"(100 + {_h('g', 7)} %% 3000)::numeric",
            "booked": f"{_h('g', 8)} %% 3 = 0", "created_at": now, "updated_at": now,
        }, f"generate_series(1, %(r)s) g JOIN customers_vehicle v ON v.id = {ro_vehicle} "
           f"CROSS JOIN LATERAL (SELECT {_delivery('v.id + %(off)s')} AS day) d", {**params, "today": TODAY}))
        cur.execute("SET maintenance_work_mem = '512MB'")

        def indexes():
            for statement in restore:
                cur.execute(statement)

        step("repair orders' indexes", indexes)
        # the reports: 1.5 % of the repair orders, plus the defect (the family at position 1, built in March 2025,
        # twice its rate from September 2025)
        report = {
            "store_id": "o.store_id", "status": "'submitted'", "source": "'repair_order'", "vehicle_id": "o.vehicle_id",
            "vin": "v.vin", "vehicle_model": "v.model",
            "build_month": f"date_trunc('month', {_delivery('o.vehicle_id + %(off)s')})::date",
            "part_family_id": f"(%(families)s::bigint[])[1 + {_h('o.id', 10)} %% %(n_fam)s]",
            "supplier_batch": f"CASE WHEN {_h('o.id', 11)} %% 3 = 0 THEN 'B' || "
                              f"to_char({_delivery('o.vehicle_id + %(off)s')}, 'YYMM') ELSE '' END",
            "failure_date": "(o.settled_at AT TIME ZONE %(tz)s)::date", "symptom_text": "''",
            "repair_order_id": "o.id", "created_by_id": "%(user)s", "submitted_at": "o.settled_at",
            "created_at": now, "updated_at": now,
        }
        source = "customers_repairorder o JOIN customers_vehicle v ON v.id = o.vehicle_id"

        def reports():
            _insert_select(cur, QualityReport, report,
                           f"{source} WHERE {_h('o.id', 9)} %% 1000 < {REPORTS_PER_MILLE}", params)
            _insert_select(cur, QualityReport, {**report, "part_family_id": "(%(families)s::bigint[])[1]"},
                           f"{source} WHERE {_h('o.id', 12)} %% 1000 * %(n_fam)s < {REPORTS_PER_MILLE} "
                           f"AND date_trunc('month', {_delivery('o.vehicle_id + %(off)s')})::date = %(defect_build)s "
                           "AND o.settled_at >= %(defect_from)s", params)

        step("reports", reports)
        step("parts shipments", lambda: _insert_select(cur, PartsShipmentMonth, {
            "store_id": "s", "month": "(%(june)s::date - make_interval(months => k))::date",
            "lines_shipped": f"400 + {_h('s * 100 + k', 13)} %% 400",
            "lines_right": f"400 - {_h('s * 100 + k', 14)} %% 30", "source_file": "''",
            "created_at": now, "updated_at": now,
        }, "unnest(%(stores)s::bigint[]) s CROSS JOIN generate_series(0, 11) k", params))
        cur.execute("SET session_replication_role = DEFAULT")
        t = time.perf_counter()
        cur.execute("VACUUM ANALYZE")
        steps["vacuum analyze"] = time.perf_counter() - t
        counts = {}
        for name, table in (("vehicles", "customers_vehicle"), ("orders", "customers_repairorder"),
                            ("reports", "quality_qualityreport")):
            cur.execute(f"SELECT count(*) FROM {table}")
            counts[name] = cur.fetchone()[0]
    return {"group": group, "stores": stores, "admin": user, **counts, "steps": steps,
            "load_s": time.perf_counter() - started}


def existing_data() -> dict:
    """The data of a kept scratch database (`--reuse`), its alarms removed so that a first run opens them again."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from aftercare.org.models import DealerGroup, Store
    from aftercare.quality.models import QualityAlarm

    group = DealerGroup.objects.get(code="QB")
    QualityAlarm.objects.filter(group=group).delete()
    counts = {}
    with connection.cursor() as cur:
        for name, table in (("vehicles", "customers_vehicle"), ("orders", "customers_repairorder"),
                            ("reports", "quality_qualityreport")):
            cur.execute(f"SELECT count(*) FROM {table}")
            counts[name] = cur.fetchone()[0]
    return {"group": group, "stores": list(Store.objects.filter(group=group).order_by("code")),
            "admin": get_user_model().objects.get(username="bench_quality_admin"), **counts, "steps": {},
            "load_s": 0.0}


# ---- the limit: the job's inputs, hand-written ------------------------------------------------------------------

HAND_VEHICLES = """
SELECT m, sum(n)::int FROM (
    SELECT date_trunc('month', v.delivery_date)::date AS m, count(*) AS n FROM customers_vehicle v
    WHERE v.store_id = ANY(%(stores)s) AND v.delivery_date IS NOT NULL GROUP BY 1
    UNION ALL
    SELECT date_trunc('month', f.first AT TIME ZONE %(tz)s)::date, count(*) FROM (
        SELECT d.vehicle_id, min(d.delivered_at) AS first FROM customers_salesdelivery d
        JOIN customers_vehicle v ON v.id = d.vehicle_id
        WHERE d.store_id = ANY(%(stores)s) AND v.delivery_date IS NULL GROUP BY d.vehicle_id) f
    GROUP BY 1) x
GROUP BY m"""

HAND_FAILURES = """
SELECT part_family_id, build_month, age, store_id, supplier_batch, count(*)::int,
       GROUPING(age, store_id, supplier_batch)
FROM (SELECT r.part_family_id, r.build_month, r.store_id, r.supplier_batch,
             (extract(year FROM r.failure_date) * 12 + extract(month FROM r.failure_date)
              - extract(year FROM r.build_month) * 12 - extract(month FROM r.build_month))::int AS age
      FROM quality_qualityreport r
      WHERE r.store_id = ANY(%(stores)s) AND r.status = 'submitted' AND r.failure_date < %(end)s) r
GROUP BY GROUPING SETS ((part_family_id, build_month, age), (part_family_id, build_month, store_id),
                        (part_family_id, build_month, supplier_batch))"""


def hand_inputs(store_ids, last: dt.date) -> dict:
    """The job's inputs by the two hand-written statements: {build month: vehicles}, {(family, build month): {age:
    n}}, the stores and the supplier batches of each series."""
    from collections import Counter, defaultdict

    from django.db import connection

    from aftercare.org.calendar import month_add

    params = {"stores": list(store_ids), "tz": TZ, "end": month_add(last, 1)}
    counts, stores, batches = defaultdict(Counter), defaultdict(set), defaultdict(Counter)
    with connection.cursor() as cur:
        cur.execute(HAND_VEHICLES, params)
        vehicles = Counter(dict(cur.fetchall()))
        cur.execute(HAND_FAILURES, params)
        for family, build, age, store, batch, n, grouping in cur.fetchall():
            key = (family, build)
            if grouping == 3:  # (family, build month, age)
                counts[key][age] += n
            elif grouping == 5:  # (family, build month, store)
                stores[key].add(store)
            elif batch:
                batches[key][batch] += n
    return {"vehicles": vehicles, "counts": counts, "stores": stores, "batches": batches}


def job_inputs(store_ids, last: dt.date) -> dict:
    """The same, as the job reads them (`vehicles_by_build_month`, `failures`), the months turned into ages."""
    from collections import Counter

    from aftercare.quality.services import alarms

    vehicles = alarms.vehicles_by_build_month(store_ids)
    counts, stores, batches = alarms.failures(store_ids, last)
    by_age = {}
    for (family, build), months in counts.items():
        by_age[(family, build)] = Counter({alarms._index(m) - alarms._index(build): n for m, n in months.items()})
    return {"vehicles": vehicles, "counts": by_age, "stores": {k: set(v) for k, v in stores.items()},
            "batches": {k: Counter(v) for k, v in batches.items()}}


def _same(a: dict, b: dict) -> bool:
    return all({k: v for k, v in a[name].items() if v} == {k: v for k, v in b[name].items() if v}
               for name in ("vehicles", "counts", "stores", "batches"))


def _median_runs(fn, repeats: int) -> tuple[float, list[float]]:
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples), samples


def run_alarm(data: dict, repeats: int = 3) -> dict:
    """The limit (first run, then the median of `repeats`), the job's first run (empty threshold cache) and its
    reruns (median of `repeats`), the inputs checked equal, and a breakdown of the job's time."""
    from aftercare.org.calendar import month_add
    from aftercare.quality.models import QualityAlarm
    from aftercare.quality.services import alarms

    ids = [s.pk for s in data["stores"]]
    last = month_add(TODAY.replace(day=1), -1)
    t = time.perf_counter()
    hand = hand_inputs(ids, last)
    hand_first = time.perf_counter() - t
    hand_s, _ = _median_runs(lambda: hand_inputs(ids, last), repeats)
    # the job's first run: the thresholds computed afresh (as in a new worker process); the URL configuration (an
    # alarm's link), which a worker process loads once, whichever job needs it first, is timed apart
    from django.urls import get_resolver

    t = time.perf_counter()
    get_resolver().url_patterns  # noqa: B018 (loads every app's URLs and the API's schemas)
    urls_s = time.perf_counter() - t
    alarms._h_for.cache_clear()
    t = time.perf_counter()
    first = alarms.quality_alarm_run(today=TODAY, group_ids=[data["group"].pk])
    first_s = time.perf_counter() - t
    reruns = []

    def rerun():
        reruns.append(alarms.quality_alarm_run(today=TODAY, group_ids=[data["group"].pk]))

    rerun_s, _ = _median_runs(rerun, repeats)
    # where the time goes: the reads, the series, the thresholds (cold cache), the two tests
    parts = {"URLs (once a process)": urls_s}
    t = time.perf_counter()
    ours = job_inputs(ids, last)
    parts["reads"] = time.perf_counter() - t
    t = time.perf_counter()
    series = alarms.build_series(store_ids=ids, last=last,
                                 family_ids=list(alarms.PartFamily.objects.filter(active=True)
                                                 .values_list("pk", flat=True)))
    parts["reads + series"] = time.perf_counter() - t
    target = alarms.arl_target(len(series))
    alarms._h_for.cache_clear()
    t = time.perf_counter()
    hs = [alarms.series_threshold(s.expected, target) for s in series]
    parts["thresholds (cold)"] = time.perf_counter() - t
    parts["threshold keys"] = alarms._h_for.cache_info().currsize
    t = time.perf_counter()
    for s, h in zip(series, hs, strict=True):
        alarms.stat.monitor(s.observed, s.expected, h, alpha=alarms.tail_alpha(target), head_start=alarms.HEAD_START)
    parts["tests"] = time.perf_counter() - t
    open_alarms = list(QualityAlarm.objects.filter(group=data["group"]).values_list("part_family__position",
                                                                                   "build_month"))
    return {"hand_first": hand_first, "hand_s": hand_s, "first_s": first_s, "first": first, "rerun_s": rerun_s,
            "reruns": reruns, "same_inputs": _same(hand, ours), "parts": parts, "series": len(series),
            "alarms": open_alarms, "defect_found": (1, DEFECT_BUILD) in open_alarms}


# ---- the scorecard -----------------------------------------------------------------------------------------------

HAND_SCORECARD = [
    # the appointment rate's repair orders: per store, the month's orders (no wash, no internal) and the booked ones
    """SELECT o.store_id, count(*), count(*) FILTER (WHERE o.booked) FROM customers_repairorder o
       WHERE o.store_id = ANY(%(stores)s) AND o.settled_at >= %(lo)s AND o.settled_at < %(hi)s
         AND o.kind NOT IN ('wash', 'internal') GROUP BY o.store_id""",
    # first-time fix: per store, the month's orders of the counting kinds and those a repeat repair followed
    """SELECT o.store_id, count(*), count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM complaints_repeatrepair r WHERE r.original_id = o.id))
       FROM customers_repairorder o
       WHERE o.store_id = ANY(%(stores)s) AND o.settled_at >= %(lo)s AND o.settled_at < %(hi)s
         AND o.kind IN ('mechanical', 'body', 'paint', 'warranty_claim') GROUP BY o.store_id""",
    # the parts-shipment accuracy: the month's lines right and shipped per store
    """SELECT s.store_id, sum(s.lines_right), sum(s.lines_shipped) FROM quality_partsshipmentmonth s
       WHERE s.store_id = ANY(%(stores)s) AND s.month >= %(start)s AND s.month < %(end)s GROUP BY s.store_id""",
]


def _pct(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run_scorecard(data: dict, runs: int = 20, page_runs: int = 5) -> dict:
    """`scorecard_month` for June 2026 as the group admin: p50 / p95 of `runs` (after one warm-up), its queries;
    the page (median of `page_runs`); the hand-written aggregates of the inputs with rows, p50 / p95 of `runs`."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings

    from aftercare.org.calendar import business_day_start, month_add
    from aftercare.quality.selectors_scorecard import scorecard_month

    month = month_add(TODAY.replace(day=1), -1)
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        card = scorecard_month(user=data["admin"], month=month, today=TODAY)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        scorecard_month(user=data["admin"], month=month, today=TODAY)
        samples.append(time.perf_counter() - t)
    params = {"stores": [s.pk for s in data["stores"]], "lo": business_day_start(month),
              "hi": business_day_start(month_add(month, 1)), "start": month, "end": month_add(month, 1)}

    def hand():
        with connection.cursor() as cur:
            for sql in HAND_SCORECARD:
                cur.execute(sql, params)
                cur.fetchall()

    hand()
    hand_samples = []
    for _ in range(runs):
        t = time.perf_counter()
        hand()
        hand_samples.append(time.perf_counter() - t)
    storages = {**settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    client = Client()
    client.force_login(data["admin"])
    url = f"/quality/scorecard/?month={month:%Y-%m}"
    page_samples = []
    with override_settings(STORAGES=storages):
        assert client.get(url).status_code == 200
        for _ in range(page_runs):
            t = time.perf_counter()
            assert client.get(url).status_code == 200
            page_samples.append(time.perf_counter() - t)
    ranked = sum(1 for r in card.rows if r.rank is not None)
    return {"month": month, "stores": len(card.rows), "ranked": ranked, "measures": len(card.measures),
            "queries": len(queries), "p50": _pct(samples, 0.5), "p95": _pct(samples, 0.95),
            "hand_p50": _pct(hand_samples, 0.5), "hand_p95": _pct(hand_samples, 0.95), "url": url,
            "page_p50": statistics.median(page_samples), "runs": runs, "page_runs": page_runs}


def report(data: dict, alarm: dict, card: dict | None = None, out=print) -> bool:
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in data["steps"].items()) or "kept database"
    out(f"1 group, {len(data['stores'])} stores, {data['vehicles']:,} vehicles, {data['orders']:,} repair orders, "
        f"{data['reports']:,} parts-quality reports (loaded in {data['load_s']:.0f} s: {steps})")
    out(f"{alarm['series']} series; alarms: {len(alarm['alarms'])} (the injected defect "
        f"{'found' if alarm['defect_found'] else 'NOT found'}); inputs identical: "
        f"{'yes' if alarm['same_inputs'] else 'NO'}")
    out("")
    out(f"{'run':<36}{'ours ms':>10}{'limit ms':>10}{'ratio':>8}")
    for name, ours, hand in (("first run (opens the alarms)", alarm["first_s"], alarm["hand_first"]),
                             ("rerun (median, writes nothing)", alarm["rerun_s"], alarm["hand_s"])):
        out(f"{name:<36}{ours * 1000:>10.0f}{hand * 1000:>10.0f}{ours / hand:>7.2f}x")
    parts = alarm["parts"]
    out("the job's time: " + ", ".join(f"{k} {v * 1000:.0f} ms" if isinstance(v, float) else f"{k} {v}"
                                       for k, v in parts.items()))
    out(f"first run {alarm['first']}; reruns {alarm['reruns'][0] if alarm['reruns'] else {}}")
    ok = alarm["same_inputs"] and all(not r.get("created") for r in alarm["reruns"])
    if card:
        out("")
        out(f"scorecard {card['month']:%Y-%m}, {card['stores']} stores ({card['ranked']} ranked), "
            f"{card['measures']} measures, {card['queries']} queries: p50 {card['p50'] * 1000:.0f} ms, "
            f"p95 {card['p95'] * 1000:.0f} ms ({card['runs']} runs); hand-written inputs with rows p50 "
            f"{card['hand_p50'] * 1000:.0f} ms, p95 {card['hand_p95'] * 1000:.0f} ms")
        out(f"page GET {card['url']}: {card['page_p50'] * 1000:.0f} ms (median of {card['page_runs']})")
    return ok


def run(args) -> int:
    from .importbench import bench_database, postgres_url

    url = postgres_url("quality-alarm")
    if url is None:
        return 2
    if args.vehicles < 100 or args.repair_orders < 100 or args.stores < 1:
        print("--vehicles and --repair-orders must be at least 100, --stores at least 1", file=sys.stderr)
        return 2
    with bench_database(url, args.database, keep=args.keep, reuse=args.reuse):
        data = existing_data() if args.reuse else load_data(args.vehicles, args.repair_orders, args.stores)
        alarm = run_alarm(data, args.repeats)
        card = run_scorecard(data, args.runs)
        ok = report(data, alarm, card)
    return 0 if ok else 1
