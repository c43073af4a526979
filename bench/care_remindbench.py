"""Care reminder generation benchmark: `reminders_make` (aftercare/care/services/remind.py, every store) against one
hand-written `INSERT … SELECT … ON CONFLICT DO NOTHING` making the same reminder rows.

    DATABASE_URL=postgres://user@host:port/any_db python -m bench.care_remindbench --vehicles 100000

Needs `DATABASE_URL` pointing at a PostgreSQL server; a scratch database (default `aftercare_bench_cr`) on that server
is dropped, created and migrated. The data is made by `generate_series` in the server: `--vehicles` vehicles over
`--stores` stores, each with its customer (one in ten refused service calls) and current ownership, delivered 30 days
to 6 years ago, a warranty of three years, two in three with a maintenance repair order in the last 400 days (one in
five of those vehicles with its own 3-month interval). The rules: first maintenance 3 months after delivery and
periodic maintenance every 6 months (by time: the km projection is a per-vehicle regression the statement leaves
out), warranty end and annual inspection; birthdays off. Each run starts from an empty reminder table; the two ways'
rows are compared in the server by (vehicle, kind, due date, made on, state, came until) — they must be the same.
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time

CHUNK = 500_000
KEY = "vehicle_id, kind, due_on, made_on, state, came_until"


def _store_of(var: str) -> str:
    return f"(%(stores)s::bigint[])[(({var} - 1) %% %(n_stores)s) + 1]"


def _h(expr: str, salt: int, mod: int) -> str:
    return f"((hashint4(({expr})::int + {salt}) & 2147483647) %% {mod})"


def load_data(vehicles: int, n_stores: int, *, today: dt.date) -> dict:
    """Org, customers, vehicles, ownerships and maintenance orders in the current database; the stores' rules."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from aftercare.care.choices import ReminderAction, ReminderKind
    from aftercare.care.models import ReminderRule
    from aftercare.care.services.remind import reminder_rules_ensure
    from aftercare.customers.models import Customer, Ownership, RepairOrder, Vehicle
    from aftercare.org.models import DealerGroup, Region, Store

    from .followupsbench import _insert_select

    group = DealerGroup.objects.create(code="CRBENCH", name="care reminders bench")
    region = Region.objects.create(group=group, code="CR", name="care reminders bench")
    stores = [Store.objects.create(group=group, region=region, code=f"CR{i:02d}", name=f"care bench {i}", brand="别克")
              for i in range(1, n_stores + 1)]
    with connection.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM customers_vehicle")
        base = cur.fetchone()[0]
    params = {"stores": [s.pk for s in stores], "n_stores": n_stores, "today": today, "base": base}
    delivery = f"(%(today)s::date - 30 - {_h('i', 5, 2160)})"
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        try:
            for lo in range(1, vehicles + 1, CHUNK):
                hi = min(lo + CHUNK - 1, vehicles)
                series = "generate_series(%(lo)s, %(hi)s) i"
                p = params | {"lo": lo, "hi": hi}
                idx = "(%(base)s + i)"
                common = {"store_id": _store_of("i"), "created_at": "now()", "updated_at": "now()"}
                with transaction.atomic():
                    _insert_select(cur, Customer, common | {
                        "id": idx, "number": "'CR' || lpad((%(base)s + i)::text, 9, '0')", "name": "'客户' || i",
                        "mobile": "'+86139' || lpad(i::text, 8, '0')", "source": "'service'",
                        "consent_service_calls": f"({_h('i', 3, 10)} <> 0)",
                    }, series, p)
                    _insert_select(cur, Vehicle, common | {
                        "id": idx, "vin": "'LSGCRBEN' || lpad((%(base)s + i)::text, 9, '0')", "brand": "'别克'",
                        "model": "'英朗'", "delivery_date": delivery,
                        "warranty_end": f"({delivery} + interval '3 years')::date",
                        "maintenance_interval_months": f"(CASE WHEN {_h('i', 7, 5)} = 0 THEN 3 END)",
                    }, series, p)
                    _insert_select(cur, Ownership, common | {
                        "vehicle_id": idx, "customer_id": idx, "valid_from": delivery,
                    }, series, p)
                    _insert_select(cur, RepairOrder, common | {
                        "ro_number": "'CRRO' || lpad((%(base)s + i)::text, 9, '0')", "vehicle_id": idx,
                        "customer_id": idx, "kind": "'maintenance'", "amount": "100", "mileage": "NULL",
                        "settled_at": f"(%(today)s::date - {_h('i', 11, 400)})::timestamp + interval '2 hours'",
                    }, f"{series} WHERE {_h('i', 13, 3)} <> 0 AND {_h('i', 5, 2160)} > {_h('i', 11, 400)}", p)
                print(f"  vehicles {hi:,} of {vehicles:,} ({time.perf_counter() - t0:.0f} s)", flush=True)
        finally:
            cur.execute("SET session_replication_role = origin")
        for sql in connection.ops.sequence_reset_sql(no_style(), [Customer, Vehicle, Ownership, RepairOrder]):
            cur.execute(sql)
        cur.execute("ANALYZE")
    reminder_rules_ensure([s.pk for s in stores])
    rules = ReminderRule.objects.filter(store__in=stores)
    rules.filter(kind=ReminderKind.BIRTHDAY).update(is_active=False)
    rules.filter(kind__in=[ReminderKind.FIRST_MAINTENANCE, ReminderKind.MAINTENANCE]).update(km=None)
    rules.filter(kind=ReminderKind.INSPECTION).update(action=ReminderAction.SMS)
    return {"stores": stores, "today": today, "vehicles": vehicles, "load_s": time.perf_counter() - t0}


_COLS = "v.store_id, v.customer_id, v.vehicle_id, v.consent, r.kind, r.lead_days, r.came_days, r.action"
HAND_WRITTEN = """
WITH v AS (
    SELECT o.store_id, o.customer_id, v.id AS vehicle_id, v.delivery_date, v.warranty_end,
        v.maintenance_interval_months AS own_months, c.consent_service_calls AS consent,
        (SELECT (MAX(r.settled_at) AT TIME ZONE 'Asia/Shanghai')::date FROM customers_repairorder r
         WHERE r.vehicle_id = v.id AND r.store_id = o.store_id
           AND r.kind IN ('maintenance', 'first_free_maintenance')) AS last_m
    FROM customers_ownership o
    JOIN customers_vehicle v ON v.id = o.vehicle_id AND v.store_id = o.store_id
    JOIN customers_customer c ON c.id = o.customer_id
    WHERE o.store_id = ANY(%(stores)s) AND o.valid_to IS NULL
), r AS (
    SELECT store_id, kind, lead_days, came_days, months, action FROM care_reminderrule
    WHERE is_active AND store_id = ANY(%(stores)s)
), dues AS (
    SELECT {cols}, (v.delivery_date + make_interval(months => r.months))::date AS due
    FROM v JOIN r ON r.store_id = v.store_id AND r.kind = 'first_maintenance'
    WHERE v.last_m IS NULL AND v.delivery_date IS NOT NULL AND r.months IS NOT NULL
    UNION ALL
    SELECT {cols}, (v.last_m + make_interval(months => COALESCE(v.own_months, r.months)))::date
    FROM v JOIN r ON r.store_id = v.store_id AND r.kind = 'maintenance'
    WHERE v.last_m IS NOT NULL AND COALESCE(v.own_months, r.months) IS NOT NULL
    UNION ALL
    SELECT {cols}, v.warranty_end
    FROM v JOIN r ON r.store_id = v.store_id AND r.kind = 'warranty_end' WHERE v.warranty_end IS NOT NULL
    UNION ALL
    SELECT {cols}, CASE
        WHEN (v.delivery_date + make_interval(years => GREATEST(1, EXTRACT(YEAR FROM %(today)s::date)::int
              - EXTRACT(YEAR FROM v.delivery_date)::int)))::date < %(today)s::date - 7
        THEN (v.delivery_date + make_interval(years => GREATEST(1, EXTRACT(YEAR FROM %(today)s::date)::int
              - EXTRACT(YEAR FROM v.delivery_date)::int) + 1))::date
        ELSE (v.delivery_date + make_interval(years => GREATEST(1, EXTRACT(YEAR FROM %(today)s::date)::int
              - EXTRACT(YEAR FROM v.delivery_date)::int)))::date END
    FROM v JOIN r ON r.store_id = v.store_id AND r.kind = 'inspection' WHERE v.delivery_date IS NOT NULL
)
INSERT INTO care_reminder (store_id, customer_id, vehicle_id, kind, due_on, made_on, action, state, came_until,
    task_id, letter_id, created_at, updated_at)
SELECT store_id, customer_id, vehicle_id, kind, due, %(today)s, action,
    CASE WHEN NOT consent THEN 'no_consent' WHEN action = 'call' THEN 'call' ELSE 'sms_pending' END,
    due + came_days, NULL, NULL, now(), now()
FROM dues
WHERE due - lead_days <= %(today)s::date AND %(today)s::date <= due + 7
ON CONFLICT DO NOTHING
""".replace("{cols}", _COLS)


def _truncate() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.in_atomic_block:  # a test's transaction: check the deferred foreign keys before TRUNCATE
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("TRUNCATE care_reminder")
        if connection.in_atomic_block:
            cur.execute("SET CONSTRAINTS ALL DEFERRED")


def run_hand_written(store_ids: list[int], today: dt.date) -> tuple[float, int]:
    from django.db import connection, transaction

    _truncate()
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(HAND_WRITTEN, {"stores": store_ids, "today": today})
        n = cur.rowcount
    return time.perf_counter() - t0, n


def run_ours(store_ids: list[int], today: dt.date) -> tuple[float, int]:
    from aftercare.care.services.remind import reminders_make

    _truncate()
    t0 = time.perf_counter()
    n = sum(reminders_make(store_id=sid, today=today) for sid in store_ids)
    return time.perf_counter() - t0, n


def _snapshot(name: str) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {name}")
        cur.execute(f"CREATE TEMP TABLE {name} AS SELECT {KEY} FROM care_reminder")


def _differences(a: str, b: str) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"SELECT (SELECT COUNT(*) FROM (SELECT * FROM {a} EXCEPT SELECT * FROM {b}) x) "
                    f"+ (SELECT COUNT(*) FROM (SELECT * FROM {b} EXCEPT SELECT * FROM {a}) y)")
        return cur.fetchone()[0]


def bench(store_ids: list[int], today: dt.date, repeats: int) -> dict:
    """Both ways `repeats` times, alternating; the rows must be the same (SystemExit otherwise)."""
    ours, hand, n = [], [], 0
    for _ in range(repeats):
        s, n = run_ours(store_ids, today)
        ours.append(s)
        _snapshot("bench_ours")
        s, m = run_hand_written(store_ids, today)
        hand.append(s)
        _snapshot("bench_hand")
        diff = _differences("bench_ours", "bench_hand")
        if diff or m != n:
            raise SystemExit(f"different reminders: {diff} rows differ ({n:,} ours, {m:,} hand-written)")
    return {"reminders": n, "ours": statistics.median(ours), "hand": statistics.median(hand)}


def report(data: dict, result: dict, repeats: int, out=print) -> bool:
    o, h = result["ours"], result["hand"]
    out(f"care reminders: {data['vehicles']:,} vehicles in {len(data['stores'])} stores, as of {data['today']}")
    out(f"{'':<48} {'reminders':>10} {'seconds':>9} {'ours / hand':>15}")
    out(f"{'hand-written INSERT … SELECT':<48} {result['reminders']:>10,} {h:>9.2f}")
    out(f"{'reminders_make (every store)':<48} {result['reminders']:>10,} {o:>9.2f} {o / h:>14.2f}x")
    out(f"  (median of {repeats} runs each way, alternating, each on an empty reminder table; same rows each time)")
    ok = o <= 2 * h
    out(f"target: reminders_make within 2x of the hand-written statement: {'met' if ok else 'NOT met'}")
    return ok


def main(argv=None) -> int:
    from .importbench import bench_database, postgres_url

    parser = argparse.ArgumentParser(prog="python -m bench.care_remindbench", description=__doc__.split("\n")[0])
    parser.add_argument("--vehicles", type=int, default=100_000)
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database", default="aftercare_bench_cr")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    url = postgres_url("care_remind")
    if url is None:
        return 2
    with bench_database(url, args.database, keep=args.keep):
        from aftercare.org.calendar import business_date

        data = load_data(args.vehicles, args.stores, today=business_date())
        print(f"load average before the runs: {os.getloadavg()[0]:.1f}", flush=True)
        result = bench([s.pk for s in data["stores"]], data["today"], args.repeats)
        print()
        return 0 if report(data, result, args.repeats) else 1


if __name__ == "__main__":
    sys.exit(main())
