"""Customer classification benchmark: `care_classify` against one hand-written SQL statement producing the same rows.

`python -m bench care-classes [--customers 1000000]` needs `DATABASE_URL` pointing at a PostgreSQL server; a scratch
database (default `aftercare_bench_cc`) on that server is dropped, created and migrated. One store; each customer
has one vehicle, a delivery 0–4 years ago and 0–6 repair orders of mixed kinds (about 10 % warranty, insurance or
free first maintenance, 5 % with amount 0) over the last three years, loaded by `INSERT … SELECT generate_series`.

1. **Ours**: `customers_classify(today=…)` — the first run (every profile and change inserted) and a rerun of the
   same day (every profile compared and updated, no change written), each timed.
2. **The limit**: one hand-written PostgreSQL statement (`FILTER` aggregates, `LEAST`, `LATERAL`; written
   independently of ours; the data has no care tasks, so it leaves out the reminder rule) computing every
   customer's class and rule into a table; its rows must equal the profiles' (checked). Ratio = ours / limit
   (target: within 2x at 1 M customers).
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

HAND_SQL = """
CREATE UNLOGGED TABLE bench_hand AS
SELECT c.id AS customer_id, x.cls, x.rule
FROM customers_customer c
LEFT JOIN (
    SELECT customer_id,
        max(settled_at) FILTER (WHERE kind IN ('maintenance','mechanical','body','paint')) AS last_visit,
        count(*) FILTER (WHERE kind IN ('maintenance','mechanical','body','paint') AND settled_at >= %(year)s) AS v12,
        count(*) FILTER (WHERE kind IN ('maintenance','mechanical','body','paint') AND settled_at >= %(year)s
                         AND amount > 0) AS paid12,
        count(*) FILTER (WHERE kind IN ('maintenance','mechanical','body','paint') AND settled_at >= %(year)s
                         AND settled_at < %(half)s) AS h1,
        count(*) FILTER (WHERE kind IN ('maintenance','mechanical','body','paint') AND settled_at >= %(half)s) AS h2,
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
CROSS JOIN LATERAL (SELECT z.rule, CASE
        WHEN z.rule <> '' THEN 'lost'
        WHEN r.last_visit IS NULL THEN 'new'
        WHEN r.v12 >= 2 AND r.h1 > 0 AND r.h2 > 0 THEN 'loyal'
        ELSE 'regular' END AS cls) x
WHERE c.store_id = %(store)s AND c.is_active AND c.merged_into_id IS NULL
"""


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


def run_ours(data: dict) -> dict:
    """The first run and a rerun of the same day, timed."""
    from aftercare.care.services.classes import customers_classify

    t = time.perf_counter()
    first = customers_classify(today=TODAY, store_ids=[data["store"].pk])
    first_s = time.perf_counter() - t
    t = time.perf_counter()
    again = customers_classify(today=TODAY, store_ids=[data["store"].pk])
    rerun_s = time.perf_counter() - t
    return {"first_s": first_s, "rerun_s": rerun_s, "changes": sum(first.values()),
            "rerun_changes": sum(again.values())}


def run_hand(data: dict) -> dict:
    """The hand-written statement, timed; then its rows compared with the profiles."""
    from django.db import connection, transaction

    from aftercare.care.models import ClassSettings
    from aftercare.care.services.classes import bounds

    params = {**bounds(TODAY, ClassSettings()), "store": data["store"].pk}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_hand")
        t = time.perf_counter()
        cur.execute(HAND_SQL, params)
        hand_s = time.perf_counter() - t
        cur.execute("""SELECT count(*) FROM bench_hand h
            FULL JOIN care_careprofile p ON p.customer_id = h.customer_id
            WHERE h.customer_id IS NULL OR p.customer_id IS NULL OR h.cls <> p.customer_class
                OR h.rule <> p.lost_rule""")
        differ = cur.fetchone()[0]
        cur.execute("SELECT cls, count(*) FROM bench_hand GROUP BY cls ORDER BY cls")
        classes = dict(cur.fetchall())
        cur.execute("DROP TABLE bench_hand")
    return {"hand_s": hand_s, "differ": differ, "classes": classes}


def report(data: dict, ours: dict, hand: dict, out=print) -> bool:
    ratio = ours["first_s"] / hand["hand_s"] if hand["hand_s"] else float("inf")
    out(f"1 store, {data['customers']:,} customers, {data['orders']:,} repair orders "
        f"(loaded in {data['load_s']:.0f} s); classified as of {TODAY}")
    out(f"classes: {', '.join(f'{k} {v:,}' for k, v in sorted(hand['classes'].items()))}")
    out("")
    out(f"{'run':<44}{'seconds':>10}{'changes':>12}")
    out(f"{'customers_classify (first run)':<44}{ours['first_s']:>10.2f}{ours['changes']:>12,}")
    out(f"{'customers_classify (rerun, same day)':<44}{ours['rerun_s']:>10.2f}{ours['rerun_changes']:>12,}")
    out(f"{'hand-written SQL (one statement, the limit)':<44}{hand['hand_s']:>10.2f}{'':>12}")
    out(f"ratio (first run / hand-written): {ratio:.2f}x; rows differing: {hand['differ']:,}")
    out("target: within 2x at 1,000,000 customers")
    return hand["differ"] == 0


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
        ours = run_ours(data)
        hand = run_hand(data)
        ok = report(data, ours, hand)
    return 0 if ok else 1
