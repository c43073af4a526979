"""Renewal case generation benchmark: `renewal_cases_generate` against one hand-written
`INSERT … SELECT … ON CONFLICT DO NOTHING` making the same cases — the daily run and an 18-month backfill.

Needs `DATABASE_URL` pointing at a PostgreSQL server; a scratch database (default `aftercare_bench_rn`) on that
server is dropped, created and migrated. The data is made by `generate_series` in the server: `--policies` policies
(two policy years each of `--policies / 2` vehicles, the later one expiring between 400 days ago and 330 days ahead,
a third of the first years new-car policies), plus a quarter as many vehicles again with no policy on file
(delivered 1–8 years ago: estimated expiries), one customer, current ownership and repair order (settled in the
last two years, 1 in 20 internal) per vehicle, spread over `--stores` stores.

Each run starts from an empty case table (TRUNCATE); the two ways' cases are compared in the server by (vehicle,
expiry, segment, estimated) — they must be the same rows.
"""

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

from .importbench import bench_database, postgres_url

ROOT = Path(__file__).resolve().parent.parent
BACKFILL_MONTHS = 18
CHUNK = 500_000
KEY = "vehicle_id, expiry_date, segment, expiry_estimated"


def _store_of(var: str) -> str:
    return f"(%(stores)s::bigint[])[(({var} - 1) %% %(n_stores)s) + 1]"


def _h(expr: str, salt: int, mod: int) -> str:
    """A deterministic pseudo-random integer in [0, mod) from `expr`."""
    return f"((hashint4(({expr})::int + {salt}) & 2147483647) %% {mod})"


def load_data(policies: int, n_stores: int, *, today: dt.date | None = None) -> dict:
    """Org and customer data in the current database (the bench's scratch database, or a test's); returns what the
    runs need. Vehicles 1 … policies/2 have two policy years; the next quarter of that count have none."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from aftercare.customers.models import Customer, InsurancePolicy, Ownership, RepairOrder, Vehicle
    from aftercare.org.calendar import business_date
    from aftercare.org.models import DealerGroup, Region, Store

    from .followupsbench import _insert_select

    today = today or business_date()
    insured = max(1, policies // 2)
    vehicles = insured + max(1, insured // 4)
    group = DealerGroup.objects.create(code="RNBENCH", name="renewals bench")
    region = Region.objects.create(group=group, code="RB", name="renewals bench")
    stores = [
        Store.objects.create(group=group, region=region, code=f"RN{i:02d}", name=f"renewals bench {i}", brand="别克")
        for i in range(1, n_stores + 1)
    ]
    params = {"stores": [s.pk for s in stores], "n_stores": n_stores, "today": today, "insured": insured}
    with connection.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM customers_vehicle")
        base = cur.fetchone()[0]
    params["base"] = base
    # the later policy year of vehicle i expires on today − 400 … today + 329; deliveries of the others 1–8 years ago
    last_expiry = f"(%(today)s::date - 400 + {_h('i', 3, 730)})"
    delivery = (f"(CASE WHEN i <= %(insured)s THEN {last_expiry} - 729 - {_h('i', 5, 3)} * 365 "
                f"ELSE %(today)s::date - 365 - {_h('i', 7, 2555)} END)")
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # rows consistent by construction: no FK triggers
        try:
            for lo in range(1, vehicles + 1, CHUNK):
                hi = min(lo + CHUNK - 1, vehicles)
                series = "generate_series(%(lo)s, %(hi)s) i"
                p = params | {"lo": lo, "hi": hi}
                idx = "(%(base)s + i)"
                with transaction.atomic():
                    _insert_select(cur, Customer, {
                        "id": idx, "store_id": _store_of("i"), "created_at": "now()", "updated_at": "now()",
                        "number": "'RN' || lpad((%(base)s + i)::text, 9, '0')", "name": "'客户' || i",
                        "mobile": "'+86138' || lpad(i::text, 8, '0')", "source": "'service'",
                    }, series, p)
                    _insert_select(cur, Vehicle, {
                        "id": idx, "store_id": _store_of("i"), "created_at": "now()", "updated_at": "now()",
                        "vin": "'LSGRNBEN' || lpad((%(base)s + i)::text, 9, '0')", "brand": "'别克'",
                        "model": "'英朗'", "delivery_date": delivery,
                    }, series, p)
                    _insert_select(cur, Ownership, {
                        "store_id": _store_of("i"), "created_at": "now()", "updated_at": "now()", "vehicle_id": idx,
                        "customer_id": idx, "valid_from": delivery,
                    }, series, p)
                    _insert_select(cur, RepairOrder, {
                        "store_id": _store_of("i"), "created_at": "now()", "updated_at": "now()",
                        "ro_number": "'RNRO' || lpad((%(base)s + i)::text, 9, '0')", "vehicle_id": idx,
                        "customer_id": idx,
                        "settled_at": f"(%(today)s::date - {_h('i', 11, 730)})::timestamp + interval '10 hours'",
                        "kind": f"(CASE WHEN {_h('i', 13, 20)} = 0 THEN 'internal' ELSE 'maintenance' END)",
                        "amount": "100", "mileage": "10000",
                    }, series, p)
                    for year in (0, 1):  # year 0: the earlier policy, expiring a year before the later one
                        pol = f"(CASE WHEN i <= %(insured)s THEN {last_expiry} - {365 * (1 - year)} END)"
                        kind = (f"(CASE WHEN {year} = 0 AND {_h('i', 17, 3)} = 0 THEN 'new_car' ELSE 'renewal' END)")
                        _insert_select(cur, InsurancePolicy, {
                            "store_id": _store_of("i"), "created_at": "now()", "updated_at": "now()",
                            "policy_number": f"'RNP{year}' || lpad((%(base)s + i)::text, 10, '0')",
                            "vehicle_id": idx, "customer_id": idx, "insurer": "'中国人保财险'",
                            "start_date": f"{pol} - 364", "expiry_date": pol,
                            "premium": f"(3000 + {_h('i', 19, 2000)})::numeric(12, 2)", "kind": kind,
                        }, "generate_series(%(lo)s, LEAST(%(hi)s, %(insured)s)) i", p)
                print(f"  vehicles {hi:,} of {vehicles:,} ({time.perf_counter() - t0:.0f} s)", flush=True)
        finally:
            cur.execute("SET session_replication_role = origin")
        for sql in connection.ops.sequence_reset_sql(no_style(), [Customer, Vehicle, Ownership, RepairOrder,
                                                                 InsurancePolicy]):
            cur.execute(sql)
        if not connection.in_atomic_block:
            cur.execute("VACUUM ANALYZE")
        else:
            cur.execute("ANALYZE")
    return {"stores": stores, "today": today, "vehicles": vehicles, "policies": 2 * insured,
            "load_s": time.perf_counter() - t0}


# ---- the hand-written statement ---------------------------------------------------------------------------------

HAND_WRITTEN = """
INSERT INTO renewals_renewalcase (store_id, customer_id, vehicle_id, policy_id, expiry_date, expiry_estimated,
    segment, priority, previous_insurer, previous_premium, state, contacts_made, attempts, outcome, outcome_insurer,
    outcome_policy_number, outcome_reason, outcome_reason_text, created_at, updated_at)
SELECT p.store_id, COALESCE(o.customer_id, p.customer_id), p.vehicle_id, p.id, p.expiry_date, FALSE,
    CASE WHEN p.kind = 'new_car' THEN 'new_car_first' ELSE 'renewed_here' END,
    CASE WHEN p.kind = 'new_car' THEN 2 ELSE 1 END, p.insurer, p.premium, 'open', 0, 0, '', '', '', '', '', now(), now()
FROM customers_insurancepolicy p
LEFT JOIN customers_ownership o ON o.vehicle_id = p.vehicle_id AND o.valid_to IS NULL AND o.store_id = p.store_id
WHERE p.store_id = ANY(%(stores)s) AND p.expiry_date >= %(ws)s AND p.expiry_date < %(we)s
  AND NOT EXISTS (SELECT 1 FROM renewals_renewalcase c WHERE c.vehicle_id = p.vehicle_id
                  AND c.expiry_date > p.expiry_date - 60 AND c.expiry_date < p.expiry_date + 60)
UNION ALL
SELECT e.store_id, e.customer_id, e.vehicle_id, NULL, e.expiry, TRUE, e.segment,
    CASE e.segment WHEN 'lapsed_returned' THEN 3 WHEN 'insured_elsewhere' THEN 4 ELSE 5 END,
    '', NULL, 'open', 0, 0, '', '', '', '', '', now(), now()
FROM (
    SELECT a.*,
        CASE WHEN a.lapsed AND a.last_visit >= %(visit_since)s THEN 'lapsed_returned'
             WHEN a.lapsed THEN 'lapsed_lost' ELSE 'insured_elsewhere' END AS segment
    FROM (
        SELECT x.*, x.last_expiry IS NOT NULL
                    AND extract(year FROM x.expiry) - extract(year FROM x.anchor) <= 3 AS lapsed
        FROM (
            SELECT y.*, CASE WHEN (y.anchor + make_interval(years => y.yrs))::date >= %(ws)s
                             THEN (y.anchor + make_interval(years => y.yrs))::date
                             ELSE (y.anchor + make_interval(years => y.yrs + 1))::date END AS expiry
            FROM (
                SELECT v.id AS vehicle_id, v.store_id, o.customer_id, pe.last_expiry, rv.last_visit, z.anchor,
                    extract(year FROM %(ws)s::date)::int - extract(year FROM z.anchor)::int AS yrs
                FROM customers_vehicle v
                JOIN customers_ownership o ON o.vehicle_id = v.id AND o.valid_to IS NULL AND o.store_id = v.store_id
                LEFT JOIN (SELECT vehicle_id, MAX(expiry_date) AS last_expiry FROM customers_insurancepolicy
                           GROUP BY vehicle_id) pe ON pe.vehicle_id = v.id
                LEFT JOIN (SELECT vehicle_id, MAX(settled_at) AS last_visit FROM customers_repairorder
                           WHERE kind <> 'internal' GROUP BY vehicle_id) rv ON rv.vehicle_id = v.id
                CROSS JOIN LATERAL (
                    SELECT CASE WHEN to_char(COALESCE(pe.last_expiry, v.delivery_date - 1), 'MM-DD') = '02-29'
                                THEN COALESCE(pe.last_expiry, v.delivery_date - 1) - 1
                                ELSE COALESCE(pe.last_expiry, v.delivery_date - 1) END AS anchor
                ) z
                WHERE v.store_id = ANY(%(stores)s) AND (pe.last_expiry IS NULL OR pe.last_expiry < %(ws)s)
                  AND (pe.last_expiry IS NOT NULL OR v.delivery_date IS NOT NULL)
            ) y
        ) x
    ) a
    WHERE a.expiry < %(we)s AND (a.lapsed OR a.last_visit >= %(visit_since)s)
) e
WHERE NOT EXISTS (SELECT 1 FROM renewals_renewalcase c WHERE c.vehicle_id = e.vehicle_id
                  AND c.expiry_date > e.expiry - 60 AND c.expiry_date < e.expiry + 60)
ON CONFLICT DO NOTHING
"""


def _truncate() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.in_atomic_block:  # a test's transaction: check the deferred foreign keys before TRUNCATE
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("TRUNCATE renewals_renewalcase CASCADE")
        if connection.in_atomic_block:
            cur.execute("SET CONSTRAINTS ALL DEFERRED")


def _window(today: dt.date, since: dt.date | None) -> tuple[dt.date, dt.date]:
    """The default store window (`RenewalSettings`: chased 30 days after expiry, the list opens 90 days ahead)."""
    from aftercare.renewals.models import RenewalSettings

    s = RenewalSettings()
    start = today - dt.timedelta(days=s.lapse_chase_days)
    if since is not None:
        start = min(start, since)
    return start, today + dt.timedelta(days=s.list_opens_days + 1)


def run_hand_written(store_ids: list[int], today: dt.date, since: dt.date | None) -> tuple[float, int]:
    from django.db import connection, transaction

    from aftercare.org.calendar import business_day_start
    from aftercare.renewals.services.generation import VISIT_DAYS

    ws, we = _window(today, since)
    params = {"stores": store_ids, "ws": ws, "we": we,
              "visit_since": business_day_start(today - dt.timedelta(days=VISIT_DAYS))}
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(HAND_WRITTEN, params)
        made = cur.rowcount
    return time.perf_counter() - started, made


def run_ours(store_ids: list[int], today: dt.date, since: dt.date | None) -> tuple[float, int]:
    """`renewal_cases_generate` for every store of the bench (one call; with `since` for the backfill)."""
    from aftercare.renewals.services.generation import renewal_cases_generate

    started = time.perf_counter()
    made = 0
    if len(store_ids) == 1:
        made = renewal_cases_generate(store_id=store_ids[0], today=today, since=since)
    else:
        made = renewal_cases_generate(today=today, since=since)
    return time.perf_counter() - started, made


def _snapshot(name: str) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {name}")
        cur.execute(f"CREATE TEMP TABLE {name} AS SELECT {KEY} FROM renewals_renewalcase")


def _differences(a: str, b: str) -> tuple[int, int]:
    from django.db import connection

    diff = "SELECT count(*) FROM (SELECT {k} FROM {a} EXCEPT ALL SELECT {k} FROM {b}) x"
    with connection.cursor() as cur:
        cur.execute(diff.format(k=KEY, a=a, b=b))
        only_a = cur.fetchone()[0]
        cur.execute(diff.format(k=KEY, a=b, b=a))
        only_b = cur.fetchone()[0]
    return only_a, only_b


def bench(name: str, store_ids: list[int], today: dt.date, since: dt.date | None, repeats: int) -> dict:
    """`repeats` runs each way, alternating, each on an empty case table; the case sets must be equal."""
    ours, hand = [], []
    for _ in range(repeats):
        _truncate()
        secs, made_ours = run_ours(store_ids, today, since)
        ours.append(secs)
        _snapshot("bench_ours")
        _truncate()
        secs, made_hand = run_hand_written(store_ids, today, since)
        hand.append(secs)
        only_ours, only_hand = _differences("bench_ours", "renewals_renewalcase")
        if made_ours != made_hand or only_ours or only_hand:
            raise SystemExit(f"{name}: different cases: ours {made_ours}, hand-written {made_hand}, "
                             f"{only_ours} only ours, {only_hand} only hand-written")
    _truncate()
    return {"ours": ours, "hand": hand, "cases": made_ours}


def report(data: dict, results: dict[str, dict], repeats: int, out=print) -> bool:
    out(f"{data['policies']:,} policies / {data['vehicles']:,} vehicles (a fifth with no policy on file) in "
        f"{len(data['stores'])} stores (loaded in {data['load_s']:.0f} s); today {data['today']}")
    out("")
    out(f"{'run':<62} {'cases':>10} {'seconds':>9} {'vs hand-written':>16}")
    ok = True
    for label, r in results.items():
        o, h = statistics.median(r["ours"]), statistics.median(r["hand"])
        out(f"{label + ': hand-written INSERT … SELECT':<62} {r['cases']:>10,} {h:>9.2f} {'':>16}")
        out(f"{label + ': renewal_cases_generate':<62} {r['cases']:>10,} {o:>9.2f} {o / h:>15.2f}x")
        ok = ok and o <= 2 * h
    out(f"  (median of {repeats} runs each way, alternating, each on an empty case table; same rows each time)")
    out("")
    out(f"target: renewal_cases_generate within 2x of the hand-written statement: {'met' if ok else 'NOT met'}")
    return ok


def run(args) -> int:
    url = postgres_url("renewals")
    if url is None:
        return 2
    if args.policies < 100 or args.stores < 1:
        print("--policies must be at least 100 and --stores at least 1", file=sys.stderr)
        return 2
    with bench_database(url, args.database, keep=args.keep):
        data = load_data(args.policies, args.stores)
        today = data["today"]
        ids = [s.pk for s in data["stores"]]
        print(f"load average before the runs: {os.getloadavg()[0]:.1f}", flush=True)
        results = {"daily": bench("daily", ids, today, None, args.repeats)}
        print(f"  daily done: {results['daily']}", flush=True)
        since = _months_before(today, BACKFILL_MONTHS)
        results[f"backfill since {since}"] = bench("backfill", ids, today, since, args.repeats)
        print(f"  backfill done ({os.getloadavg()[0]:.1f} load)", flush=True)
        print()
        ok = report(data, results, args.repeats)
        return 0 if ok else 1


def _months_before(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(y, m + 1, min(day.day, 28))
