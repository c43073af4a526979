"""Customer classification benchmark: `care_classify` against one hand-written SQL statement producing the same rows.

`python -m bench care-classes [--customers 1000000]` needs `DATABASE_URL` pointing at a PostgreSQL server; a scratch
database (default `aftercare_bench_cc`) on that server is dropped, created and migrated. One store; each customer
has one vehicle, a delivery 0–4 years ago and 0–6 repair orders of mixed kinds (about 10 % warranty, insurance or
free first maintenance, 5 % with amount 0) over the last three years, loaded by `INSERT … SELECT generate_series`.

1. **The limit**: one hand-written PostgreSQL statement (`FILTER` aggregates, `LEAST`, `LATERAL`, a data-modifying
   CTE for the class changes and an upsert of the profiles; written independently of ours; the data has no care
   tasks, so it leaves out the reminder rule) writing the same rows as the job: every profile's class fields and
   a class change for each customer whose class changed. Timed as of `TODAY` (first run: every profile and change
   inserted), again the same day (nothing to write) and the next day (every profile's `classified_on` rewritten),
   each with its commit; its rows are set aside and the care tables emptied.
2. **Ours**: `customers_classify` on the same three days; its profiles and class changes must equal the
   hand-written statement's (checked). Ratio = ours / limit per run (target: within 2x at 1 M customers).
3. **The classes page** `/care/classes/` of that month as the store's CS manager: queries and median time; and the
   drill-down of its largest flow cell, against the former definition (same customers, checked).
"""

import datetime as dt
import sys
import time

TODAY = dt.date(2026, 7, 15)

LOAD_SQL = [
    """INSERT INTO customers_customer (store_id, number, name, mobile, mobile2, address, region, background,
        contact_person, contact_phone, consent_service_calls, consent_marketing, source, is_active, row_hash,
        created_at, updated_at)
    SELECT %(store)s, 'C' || g, '客户' || g, '', '', '', '', '', '', '', true, false, 'other', true, '',
        %(created)s, %(created)s
    FROM generate_series(1, %(n)s) g""",
    """INSERT INTO customers_vehicle (store_id, vin, plate, brand, model, row_hash, created_at, updated_at)
    SELECT c.store_id, 'LBV' || lpad(c.id::text, 14, '0'), '', '', '', '', now(), now()
    FROM customers_customer c WHERE c.store_id = %(store)s""",
    """INSERT INTO customers_salesdelivery (store_id, vehicle_id, customer_id, delivered_at, sales_consultant,
        order_number, row_hash, created_at, updated_at)
    SELECT v.store_id, v.id, c.id, %(today)s - ((hashint(c.id, 1) %% 1460) || ' days')::interval, '', '', '', now(),
        now()
    FROM customers_customer c JOIN customers_vehicle v ON v.vin = 'LBV' || lpad(c.id::text, 14, '0')
    WHERE c.store_id = %(store)s""",
    """INSERT INTO customers_repairorder (store_id, ro_number, vehicle_id, customer_id, settled_at, kind, amount,
        service_advisor, booked, fault_description, row_hash, created_at, updated_at)
    SELECT v.store_id, 'RO' || c.id || '-' || k, v.id, c.id,
        %(today)s - ((hashint(c.id, k + 10) %% 1095) || ' days')::interval - interval '3 hours',
        (ARRAY['maintenance','maintenance','maintenance','mechanical','body','paint','maintenance','maintenance',
               'maintenance','warranty_claim','insurance_job','first_free_maintenance','maintenance','mechanical',
               'maintenance','maintenance','maintenance','maintenance','maintenance','maintenance'])
            [1 + hashint(c.id, k + 20) %% 20],
        CASE WHEN hashint(c.id, k + 30) %% 20 = 0 THEN 0 ELSE 200 + hashint(c.id, k + 40) %% 3000 END,
        '', false, '', '', now(), now()
    FROM customers_customer c JOIN customers_vehicle v ON v.vin = 'LBV' || lpad(c.id::text, 14, '0')
    CROSS JOIN generate_series(1, 6) k
    WHERE c.store_id = %(store)s AND k <= hashint(c.id, 2) %% 7""",
]

HASHINT = """CREATE OR REPLACE FUNCTION hashint(a bigint, b int) RETURNS int LANGUAGE sql IMMUTABLE AS
$$ SELECT abs(hashtext(a::text || ':' || b::text)) $$"""

# One statement, written apart from ours: the classes into a CTE (`FILTER` aggregates, `LEAST`, `LATERAL`), the
# history rows by a data-modifying CTE, the profiles by one upsert that rewrites only the profiles that differ.
HAND_SQL = """
WITH x AS (
    SELECT c.id AS customer_id, c.store_id, r.last_visit, COALESCE(r.v12, 0) AS v12,
        COALESCE(r.spend12, 0) AS spend12, z.rule, y.cls
    FROM customers_customer c
    LEFT JOIN (
        SELECT customer_id,
            max(settled_at) FILTER (WHERE kind IN ('maintenance','mechanical','body','paint')) AS last_visit,
            count(*) FILTER (WHERE kind IN ('maintenance','mechanical','body','paint') AND settled_at >= %(year)s)
                AS v12,
            sum(amount) FILTER (WHERE kind IN ('maintenance','mechanical','body','paint') AND settled_at >= %(year)s)
                AS spend12,
            count(*) FILTER (WHERE kind IN ('maintenance','mechanical','body','paint') AND settled_at >= %(year)s
                             AND amount > 0) AS paid12,
            count(*) FILTER (WHERE kind IN ('maintenance','mechanical','body','paint') AND settled_at >= %(year)s
                             AND settled_at < %(half)s) AS h1,
            count(*) FILTER (WHERE kind IN ('maintenance','mechanical','body','paint') AND settled_at >= %(half)s)
                AS h2,
            min(settled_at) AS first_ro
        FROM customers_repairorder WHERE store_id = %(store)s AND settled_at < %(end)s GROUP BY customer_id
    ) r ON r.customer_id = c.id
    LEFT JOIN (
        SELECT customer_id, min(delivered_at) AS first_dl FROM customers_salesdelivery
        WHERE store_id = %(store)s AND delivered_at < %(end)s GROUP BY customer_id
    ) d ON d.customer_id = c.id
    CROSS JOIN LATERAL (SELECT COALESCE(LEAST(r.first_ro, d.first_dl), c.created_at) AS known) k
    CROSS JOIN LATERAL (SELECT CASE
            WHEN COALESCE(r.last_visit, k.known) < %(lost_cut)s THEN 'no_visit'
            WHEN r.last_visit IS NULL THEN ''
            WHEN k.known < %(known_year)s AND r.v12 <= 1 THEN 'once_a_year'
            WHEN k.known < %(known_year)s AND r.v12 >= 1 AND r.paid12 = 0 THEN 'only_inspections'
            ELSE '' END AS rule) z
    CROSS JOIN LATERAL (SELECT CASE
            WHEN z.rule <> '' THEN 'lost'
            WHEN r.last_visit IS NULL THEN 'new'
            WHEN r.v12 >= 2 AND r.h1 > 0 AND r.h2 > 0 THEN 'loyal'
            ELSE 'regular' END AS cls) y
    WHERE c.store_id = %(store)s AND c.is_active AND c.merged_into_id IS NULL
), history AS (
    INSERT INTO care_classchange (store_id, customer_id, from_class, to_class, rule, on_date, created_at, updated_at)
    SELECT x.store_id, x.customer_id, COALESCE(p.customer_class, ''), x.cls, x.rule, %(day)s, now(), now()
    FROM x LEFT JOIN care_careprofile p ON p.customer_id = x.customer_id AND p.classified_on IS NOT NULL
    WHERE p.customer_class IS DISTINCT FROM x.cls
)
INSERT INTO care_careprofile AS p (store_id, customer_id, customer_class, lost_rule, class_since, classified_on,
    last_visit_at, visits_12m, spend_12m, created_at, updated_at)
SELECT x.store_id, x.customer_id, x.cls, x.rule, %(day)s, %(day)s, x.last_visit, x.v12, x.spend12, now(), now()
FROM x
ON CONFLICT (customer_id) DO UPDATE SET
    class_since = CASE WHEN p.classified_on IS NOT NULL AND p.customer_class = excluded.customer_class
                       THEN p.class_since ELSE excluded.class_since END,
    customer_class = excluded.customer_class, lost_rule = excluded.lost_rule, classified_on = excluded.classified_on,
    last_visit_at = excluded.last_visit_at, visits_12m = excluded.visits_12m, spend_12m = excluded.spend_12m,
    updated_at = excluded.updated_at
WHERE (p.customer_class, p.lost_rule, p.classified_on, p.last_visit_at, p.visits_12m, p.spend_12m)
    IS DISTINCT FROM (excluded.customer_class, excluded.lost_rule, excluded.classified_on, excluded.last_visit_at,
                      excluded.visits_12m, excluded.spend_12m)
"""

# The rows both ways must write alike: every profile's class fields and every class change.
SNAPSHOT_SQL = [
    """CREATE UNLOGGED TABLE bench_{who}_profiles AS SELECT customer_id, store_id, customer_class, lost_rule,
        class_since, classified_on, last_visit_at, visits_12m, spend_12m FROM care_careprofile""",
    """CREATE UNLOGGED TABLE bench_{who}_changes AS SELECT customer_id, store_id, from_class, to_class, rule, on_date
        FROM care_classchange""",
]
DIFFER_SQL = [
    """SELECT count(*) FROM bench_hand_profiles h FULL JOIN bench_ours_profiles o ON o.customer_id = h.customer_id
        WHERE h.customer_id IS NULL OR o.customer_id IS NULL
            OR (h.store_id, h.customer_class, h.lost_rule, h.class_since, h.classified_on, h.last_visit_at,
                h.visits_12m, h.spend_12m)
            IS DISTINCT FROM (o.store_id, o.customer_class, o.lost_rule, o.class_since, o.classified_on,
                o.last_visit_at, o.visits_12m, o.spend_12m)""",
    """SELECT count(*) FROM (
        (SELECT * FROM bench_hand_changes EXCEPT ALL SELECT * FROM bench_ours_changes)
        UNION ALL (SELECT * FROM bench_ours_changes EXCEPT ALL SELECT * FROM bench_hand_changes)) d""",
]


def load_data(customers: int) -> dict:
    """One store with `customers` customers, their vehicles, deliveries and repair orders (the current database)."""
    from django.db import connection, transaction

    from aftercare.org.calendar import business_day_start
    from aftercare.testing import factories as f

    started = time.perf_counter()
    store = f.StoreFactory(code="CC01", name="分类基准店")
    params = {"store": store.pk, "n": customers, "today": business_day_start(TODAY),
              "created": business_day_start(TODAY - dt.timedelta(days=2000))}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(HASHINT)
        for sql in LOAD_SQL:
            cur.execute(sql, params)
        cur.execute("ANALYZE")
        cur.execute("SELECT count(*) FROM customers_repairorder WHERE store_id = %s", [store.pk])
        orders = cur.fetchone()[0]
    return {"store": store, "customers": customers, "orders": orders, "load_s": time.perf_counter() - started}


DAYS = (("first run", TODAY), ("rerun, same day", TODAY), ("next day", TODAY + dt.timedelta(days=1)))


def _timed_days(classify, after_first=None) -> list[dict]:
    """`classify(day)` for each of `DAYS` (each its own transaction, the commit timed: the deferred keys of the
    inserted rows are checked there), with the class changes each wrote."""
    from django.db import connection

    out = []
    for name, day in DAYS:
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM care_classchange")
            before = cur.fetchone()[0]
        t = time.perf_counter()
        classify(day)
        seconds = time.perf_counter() - t
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM care_classchange")
            out.append({"run": name, "s": seconds, "changes": cur.fetchone()[0] - before})
        if after_first and len(out) == 1:
            after_first()
    return out


def _snapshot(who: str) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        for sql in SNAPSHOT_SQL:
            cur.execute(f"DROP TABLE IF EXISTS bench_{who}_{'profiles' if 'profile' in sql else 'changes'}")
            cur.execute(sql.format(who=who))


def run_hand(data: dict) -> dict:
    """The hand-written statement for each day, timed; its rows kept aside, then the care tables emptied for ours."""
    from django.db import connection, transaction

    from aftercare.care.models import ClassSettings
    from aftercare.care.services.classes import bounds

    def classify(day):
        params = {**bounds(day, ClassSettings()), "store": data["store"].pk, "day": day}
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(HAND_SQL, params)

    classes = {}

    def count_classes():
        with connection.cursor() as cur:
            cur.execute("SELECT customer_class, count(*) FROM care_careprofile GROUP BY 1 ORDER BY 1")
            classes.update(cur.fetchall())

    runs = _timed_days(classify, after_first=count_classes)
    _snapshot("hand")
    with connection.cursor() as cur:
        cur.execute("TRUNCATE care_careprofile, care_classchange")
    return {"runs": runs, "classes": classes}


def run_ours(data: dict) -> dict:
    """`customers_classify` for each day, timed (on the emptied care tables); then its rows compared with the hand-
    written statement's."""
    from django.db import connection

    from aftercare.care.services.classes import customers_classify

    runs = _timed_days(lambda day: customers_classify(today=day, store_ids=[data["store"].pk]))
    _snapshot("ours")
    with connection.cursor() as cur:
        differ = []
        for sql in DIFFER_SQL:
            cur.execute(sql)
            differ.append(cur.fetchone()[0])
    return {"runs": runs, "differ_profiles": differ[0], "differ_changes": differ[1]}


def page_user(store):
    """A CS manager of the store (care.manage)."""
    from django.contrib.auth import get_user_model

    from aftercare.org.choices import Role
    from aftercare.org.models import Staff

    user = get_user_model().objects.create(username="bench_cs_manager")
    staff = Staff.objects.create(user=user, group=store.group, role=Role.CS_MANAGER, display_name="经理")
    staff.stores.set([store])
    return user


# A year of class history for the page: two more changes a customer on days of the last 11 months (the page reads
# only `to_class` and `on_date`).
HISTORY_SQL = """
INSERT INTO care_classchange (store_id, customer_id, from_class, to_class, rule, on_date, created_at, updated_at)
SELECT c.store_id, c.id, '', (ARRAY['new','loyal','regular','lost'])[1 + hashint(c.id, 50 + k) %% 4], '',
    %(today)s - (1 + hashint(c.id, 60 + k) %% 330), now(), now()
FROM customers_customer c CROSS JOIN generate_series(1, 2) k WHERE c.store_id = %(store)s
"""


def run_page(data: dict, repeats: int = 3, history_repeats: int = 3) -> dict:
    """With a year of class history added, GET /care/classes/ for the classified month as the store's CS manager:
    its queries and median time; and the 12 months of flows read the former way (a query a month, two correlated
    subqueries a profile), timed once for comparison."""
    import statistics

    from django.conf import settings
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test import Client, override_settings

    from aftercare.care.selectors import class_month_profiles
    from aftercare.org.calendar import month_add

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(HISTORY_SQL, {"store": data["store"].pk, "today": TODAY})
        cur.execute("ANALYZE care_classchange")
        cur.execute("SELECT count(*) FROM care_classchange")
        history = cur.fetchone()[0]
    # the history was written behind the classification's back: its month summary rebuilt from it (the backfill),
    # then one month refreshed as a daily run does it (the month before it, the customers changed in it)
    from aftercare.care.services.classes import _flow_months_refresh, class_flow_months_rebuild

    t = time.perf_counter()
    months_written = class_flow_months_rebuild(store_ids=[data["store"].pk])[data["store"].pk]
    backfill_s = time.perf_counter() - t
    with connection.cursor() as cur:
        cur.execute("ANALYZE care_classflowmonth")
        cur.execute("SELECT count(*) FROM care_classflowmonth")
        summary_rows = cur.fetchone()[0]
    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        _flow_months_refresh(cur, store_id=data["store"].pk, through=TODAY)
    refresh_s = time.perf_counter() - t
    client = Client()
    manager = page_user(data["store"])
    client.force_login(manager)
    url = f"/care/classes/?month={TODAY:%Y-%m}"
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    # Static URLs are not what is measured: plain storage, so no `collectstatic` manifest is needed.
    storages = {**settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    samples = []
    with override_settings(STORAGES=storages):
        with connection.execute_wrapper(count):
            assert client.get(url).status_code == 200
        for _ in range(repeats):
            t = time.perf_counter()
            assert client.get(url).status_code == 200
            samples.append(time.perf_counter() - t)
    # the page as it was before the summary: its flows read from the class history (the oracle), same figures
    from unittest import mock

    from aftercare.care import selectors

    first = month_add(TODAY.replace(day=1), -11)
    ids = [data["store"].pk]
    same_flows = (selectors.class_flows_by_store_months(store_ids=ids, first=first, count=12)
                  == selectors.class_flows_by_store_months_history(store_ids=ids, first=first, count=12))
    history_samples = []
    with override_settings(STORAGES=storages), mock.patch.object(
            selectors, "class_flows_by_store_months", selectors.class_flows_by_store_months_history):
        for _ in range(history_repeats):
            t = time.perf_counter()
            assert client.get(url).status_code == 200
            history_samples.append(time.perf_counter() - t)
    t = time.perf_counter()
    for k in range(12):
        rows = (class_month_profiles(store_ids=[data["store"].pk], month=month_add(first, k))
                .values("store_id", "c0", "c1").annotate(n=Count("id")).order_by())
        list(rows)
    former_s = time.perf_counter() - t
    # the drill-down of the month's largest flow cell (its customers, first page), against its former definition
    from aftercare.care.selectors import NONE, class_flow_customers, class_flows_by_store

    flows = class_flows_by_store(store_ids=[data["store"].pk], month=TODAY)[data["store"].pk]["flows"]
    (c0, c1), cell_n = max(flows.items(), key=lambda kv: kv[1])
    flow_url = f"/care/classes/flow/?month={TODAY:%Y-%m}&from={c0}&to={c1}"
    flow_samples = []
    with override_settings(STORAGES=storages):
        for _ in range(repeats):
            t = time.perf_counter()
            assert client.get(flow_url).status_code == 200
            flow_samples.append(time.perf_counter() - t)
    ours_ids = list(class_flow_customers(user=manager, month=TODAY, from_class=c0, to_class=c1)
                    .values_list("customer_id", flat=True))
    t = time.perf_counter()
    former = class_month_profiles(store_ids=[data["store"].pk], month=TODAY).filter(c1=c1)
    former = former.filter(c0__isnull=True) if c0 == NONE else former.filter(c0=c0)
    former = former.order_by("-spend_12m", "customer_id")
    former.count()
    list(former.select_related("customer", "store")[:25])
    flow_former_s = time.perf_counter() - t
    same = ours_ids == list(former.values_list("customer_id", flat=True))
    return {"url": url, "queries": len(queries), "s": statistics.median(samples), "history": history,
            "former_s": former_s, "flow_url": flow_url, "flow_n": cell_n, "flow_s": statistics.median(flow_samples),
            "flow_former_s": flow_former_s, "flow_same": same and len(ours_ids) == cell_n,
            "backfill_s": backfill_s, "summary_months": months_written, "summary_rows": summary_rows,
            "refresh_s": refresh_s, "history_s": statistics.median(history_samples), "same_flows": same_flows}


def report(data: dict, ours: dict, hand: dict, page: dict | None = None, out=print) -> bool:
    out(f"1 store, {data['customers']:,} customers, {data['orders']:,} repair orders "
        f"(loaded in {data['load_s']:.0f} s); classified as of {TODAY}, then of the next day")
    out(f"classes: {', '.join(f'{k} {v:,}' for k, v in sorted(hand['classes'].items()))}")
    out("")
    out(f"{'run':<24}{'ours s':>10}{'hand s':>10}{'ratio':>8}{'changes':>12}")
    for o, h in zip(ours["runs"], hand["runs"], strict=True):
        ratio = o["s"] / h["s"] if h["s"] else float("inf")
        out(f"{o['run']:<24}{o['s']:>10.2f}{h['s']:>10.2f}{ratio:>7.2f}x{o['changes']:>12,}")
    ok = ours["differ_profiles"] == 0 and ours["differ_changes"] == 0
    ok = ok and [o["changes"] for o in ours["runs"]] == [h["changes"] for h in hand["runs"]]
    out(f"rows differing: profiles {ours['differ_profiles']:,}, class changes {ours['differ_changes']:,}")
    out("target: within 2x at 1,000,000 customers")
    if page:
        out(f"page GET {page['url']} ({page['history']:,} class changes): {page['s']:.2f} s (median), "
            f"{page['queries']} queries; its 12 months of flows the former way (12 queries): {page['former_s']:.2f} s")
        out(f"  the page before the month summary (its flows from the class history): {page['history_s']:.2f} s "
            f"(median); same figures: {'yes' if page['same_flows'] else 'NO'}")
        out(f"  month summary: backfill from the history {page['backfill_s']:.2f} s ({page['summary_months']} months, "
            f"{page['summary_rows']} rows); one month refreshed as a daily run does: {page['refresh_s']:.2f} s")
        out(f"drill-down GET {page['flow_url']} (largest cell, {page['flow_n']:,} customers): {page['flow_s']:.2f} s "
            f"(median); the former subqueries (count and first page): {page['flow_former_s']:.2f} s; "
            f"same customers: {'yes' if page['flow_same'] else 'NO'}")
        ok = ok and page["flow_same"] and page["same_flows"]
    return ok


def run(args) -> int:
    from .importbench import bench_database, postgres_url

    url = postgres_url("care-classes")
    if url is None:
        return 2
    if args.customers < 10:
        print("--customers must be at least 10", file=sys.stderr)
        return 2
    with bench_database(url, args.database, keep=args.keep):
        data = load_data(args.customers)
        hand = run_hand(data)
        ours = run_ours(data)
        page = run_page(data)
        ok = report(data, ours, hand, page)
    return 0 if ok else 1
