"""Renewal measures benchmark: the monthly renewal table (`aftercare.renewals.measures.renewal_monthly_table`) for one
store and for the whole group, against one hand-written SQL aggregate producing the same figures, same run.

Needs `DATABASE_URL` pointing at a PostgreSQL server; a scratch database (default `aftercare_bench_rm`) on that
server is dropped, created and migrated. The data is made by `generate_series` in the server: `--stores` stores,
one customer and vehicle per four policies, each vehicle with four consecutive policy years (a new-car policy, then
three renewals) starting between three years ago and now, premiums ¥3,000–7,000, a few insurers; and one renewal
case per policy expiring last year or this year, inserted directly (the case-generation benchmark is
`bench/renewalsbench.py`): 1 in 10 an estimated expiry without a policy (insured elsewhere or lapsed), states by
a fixed mix (closed cases before today, open ones after), holders, contacts, reasons and insurers of the losses.

The figures compared: per month of the year, new-car and renewal policies by start month (count, premium), cases
by expiry month (expiring, renewed here / elsewhere, not renewed, lapsed, open, with an effective contact, filed
and renewed among the filed). The run aborts when they differ.
"""

import datetime as dt
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICY_YEARS = 4
INSURERS = ["中国人保", "平安", "太平洋", "国寿财险", "大地"]
REASONS = ["price", "price", "price", "claims_experience", "sold_car", "moved", "unreachable", "other"]
FIELDS = ("new_car_count", "new_car_premium", "renewal_count", "renewal_premium", "expiring", "renewed_here",
          "renewed_elsewhere", "not_renewed", "lapsed", "open", "effective", "expiring_filed", "renewed_filed")


# ---- data ------------------------------------------------------------------------------------------------------


def load_data(policies: int, n_stores: int, *, analyze: bool = True) -> dict:
    """Org, one group admin and a renewal specialist per store, customers, vehicles, policies and cases (PostgreSQL:
    `generate_series`). Returns the stores, the admin and the year of the table."""
    from django.contrib.auth import get_user_model
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from aftercare.customers.models import Customer, InsurancePolicy, Vehicle
    from aftercare.org.calendar import business_date
    from aftercare.org.choices import Role
    from aftercare.org.models import DealerGroup, Region, Staff, Store
    from aftercare.renewals.models import RenewalCase

    from .followupsbench import _insert_select

    vehicles = max(1, policies // POLICY_YEARS)
    group = DealerGroup.objects.create(code="BENCHRM", name="bench renewals")
    region = Region.objects.create(group=group, code="BRM", name="bench")
    stores = [
        Store.objects.create(group=group, region=region, code=f"BRM{i:02d}", name=f"bench {i}", brand="别克")
        for i in range(1, n_stores + 1)
    ]
    user_model = get_user_model()

    def staff(username, role, store_list):
        user = user_model.objects.create(username=username)
        user.set_unusable_password()
        user.save()
        member = Staff.objects.create(user=user, group=group, role=role, display_name=username)
        member.stores.set(store_list)
        return user

    admin = staff("brm_admin", Role.GROUP_ADMIN, [])
    holders = [staff(f"brm_renewal_{s.code.lower()}", Role.RENEWAL_SPECIALIST, [s]).pk for s in stores]
    today = business_date()
    year = today.year
    params = {
        "stores": [s.pk for s in stores], "holders": holders, "n_stores": n_stores, "n": vehicles,
        "first": dt.date(year - 3, 1, 1), "today": today, "insurers": INSURERS, "reasons": REASONS,
        "since": dt.date(year - 1, 1, 1), "until": dt.date(year + 1, 1, 1),
    }
    store_of = "(%(stores)s::bigint[])[((v - 1) %% %(n_stores)s) + 1]"
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # rows consistent by construction: no FK triggers
        try:
            with transaction.atomic():
                series = "generate_series(1, %(n)s) v"
                _insert_select(cur, Customer, {
                    "id": "v", "store_id": store_of, "created_at": "now()", "updated_at": "now()",
                    "number": "'R' || lpad(v::text, 9, '0')", "name": "'客户' || v",
                    "mobile": "'+86138' || lpad(v::text, 8, '0')", "source": "'sales'",
                }, series, params)
                _insert_select(cur, Vehicle, {
                    "id": "v", "store_id": store_of, "created_at": "now()", "updated_at": "now()",
                    "vin": "'LSGRENEW' || lpad(v::text, 9, '0')", "brand": "'别克'", "model": "'英朗'",
                    "delivery_date": "%(first)s::date + (hashint4(v) & 2147483647) %% 365",
                }, series, params)
                start = "(%(first)s::date + (hashint4(v) & 2147483647) %% 365 + make_interval(years => k))::date"
                _insert_select(cur, InsurancePolicy, {
                    "id": f"(v - 1) * {POLICY_YEARS} + k + 1", "store_id": store_of, "created_at": "now()",
                    "updated_at": "now()", "policy_number": "'PRM' || lpad(((v - 1) * 4 + k + 1)::text, 10, '0')",
                    "vehicle_id": "v", "customer_id": "v",
                    "insurer": "(%(insurers)s::text[])[1 + (hashint4(v + k) & 2147483647) %% 5]",
                    "start_date": start, "expiry_date": f"({start} + interval '1 year' - interval '1 day')::date",
                    "premium": "(3000 + (hashint4(7 * v + k) & 2147483647) %% 400000 / 100.0)::numeric(12, 2)",
                    "kind": "CASE WHEN k = 0 THEN 'new_car' ELSE 'renewal' END",
                }, f"generate_series(1, %(n)s) v CROSS JOIN generate_series(0, {POLICY_YEARS - 1}) k", params)
                h = "((hashint4(p.id::int + 101) & 2147483647) %% 100)"
                estimated = f"({h} %% 10 = 0)"
                state = (f"CASE WHEN p.expiry_date >= %(today)s THEN 'open' WHEN {h} < 55 THEN 'renewed_here' "
                         f"WHEN {h} < 70 THEN 'renewed_elsewhere' WHEN {h} < 85 THEN 'not_renewed' ELSE 'lapsed' END")
                lost = f"(p.expiry_date < %(today)s AND {h} >= 55 AND {h} < 85)"
                _insert_select(cur, RenewalCase, {
                    "store_id": "p.store_id", "created_at": "now()", "updated_at": "now()",
                    "customer_id": "p.customer_id", "vehicle_id": "p.vehicle_id",
                    "policy_id": f"CASE WHEN {estimated} THEN NULL ELSE p.id END",
                    "expiry_date": "p.expiry_date", "expiry_estimated": estimated,
                    "segment": (f"CASE WHEN {estimated} THEN (ARRAY['insured_elsewhere', 'lapsed_returned', "
                                f"'lapsed_lost'])[1 + {h} %% 3] WHEN p.kind = 'new_car' THEN 'new_car_first' "
                                "ELSE 'renewed_here' END"),
                    "priority": "2", "previous_insurer": "p.insurer", "state": state,
                    "holder_id": (f"CASE WHEN {h} %% 4 = 0 THEN NULL ELSE (%(holders)s::bigint[])"
                                  f"[array_position(%(stores)s::bigint[], p.store_id)] END"),
                    "contacts_made": f"{h} %% 3", "attempts": f"{h} %% 5",
                    "outcome": (f"CASE WHEN ({state}) IN ('renewed_here', 'renewed_elsewhere', 'not_renewed') "
                                f"THEN ({state}) ELSE '' END"),
                    "outcome_reason": f"CASE WHEN {lost} THEN (%(reasons)s::text[])[1 + {h} %% 8] ELSE '' END",
                    "outcome_insurer": (f"CASE WHEN p.expiry_date < %(today)s AND {h} >= 55 AND {h} < 70 "
                                        f"THEN (%(insurers)s::text[])[1 + {h} %% 5] ELSE '' END"),
                    "outcome_premium": (f"CASE WHEN p.expiry_date < %(today)s AND {h} < 55 THEN p.premium "
                                        "ELSE NULL END"),
                }, "customers_insurancepolicy p WHERE p.expiry_date >= %(since)s AND p.expiry_date < %(until)s",
                    params)
        finally:
            cur.execute("SET session_replication_role = origin")
        for sql in connection.ops.sequence_reset_sql(no_style(), [Customer, Vehicle, InsurancePolicy, RenewalCase]):
            cur.execute(sql)
        if analyze:
            cur.execute("VACUUM ANALYZE")
        cur.execute("SELECT count(*) FROM renewals_renewalcase WHERE store_id = ANY(%s)", [params["stores"]])
        cases = cur.fetchone()[0]
    return {"stores": stores, "admin": admin, "year": year, "policies": vehicles * POLICY_YEARS, "cases": cases,
            "load_s": time.perf_counter() - t0}


def reuse_data() -> dict:
    """What `load_data` returned, read back from a kept scratch database (`--reuse`); statistics refreshed."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from aftercare.customers.models import InsurancePolicy
    from aftercare.org.calendar import business_date
    from aftercare.org.models import Store
    from aftercare.renewals.models import RenewalCase

    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    stores = list(Store.objects.filter(code__startswith="BRM").order_by("code"))
    return {"stores": stores, "admin": get_user_model().objects.get(username="brm_admin"),
            "year": business_date().year, "policies": InsurancePolicy.objects.filter(store__in=stores).count(),
            "cases": RenewalCase.objects.filter(store__in=stores).count(), "load_s": time.perf_counter() - t0}


# ---- the two sides ---------------------------------------------------------------------------------------------


def _month_sql(column: str, pg: bool) -> str:
    return f"CAST(date_trunc('month', {column}) AS date)" if pg else f"strftime('%%Y-%%m-01', {column})"


def hand_written_sql(store_ids: list[int], pg: bool) -> str:
    """One statement: policies by start month and cases by expiry month, each aggregated once, joined by month."""
    stores = ", ".join(str(int(s)) for s in store_ids)
    return f"""
WITH p AS (
    SELECT {_month_sql('start_date', pg)} AS m,
        count(*) FILTER (WHERE kind = 'new_car') AS new_car_count,
        coalesce(sum(premium) FILTER (WHERE kind = 'new_car'), 0) AS new_car_premium,
        count(*) FILTER (WHERE kind = 'renewal') AS renewal_count,
        coalesce(sum(premium) FILTER (WHERE kind = 'renewal'), 0) AS renewal_premium
    FROM customers_insurancepolicy
    WHERE store_id IN ({stores}) AND start_date >= %(since)s AND start_date < %(until)s
    GROUP BY 1
), c AS (
    SELECT {_month_sql('expiry_date', pg)} AS m, count(*) AS expiring,
        count(*) FILTER (WHERE state = 'renewed_here') AS renewed_here,
        count(*) FILTER (WHERE state = 'renewed_elsewhere') AS renewed_elsewhere,
        count(*) FILTER (WHERE state = 'not_renewed') AS not_renewed,
        count(*) FILTER (WHERE state = 'lapsed') AS lapsed,
        count(*) FILTER (WHERE state = 'open') AS open,
        count(*) FILTER (WHERE contacts_made >= 1) AS effective,
        count(*) FILTER (WHERE NOT expiry_estimated) AS expiring_filed,
        count(*) FILTER (WHERE NOT expiry_estimated AND state = 'renewed_here') AS renewed_filed
    FROM renewals_renewalcase
    WHERE store_id IN ({stores}) AND expiry_date >= %(since)s AND expiry_date < %(until)s
    GROUP BY 1
)
SELECT coalesce(p.m, c.m), {', '.join(f'coalesce({"p" if i < 4 else "c"}.{name}, 0)' for i, name in enumerate(FIELDS))}
FROM p FULL OUTER JOIN c ON c.m = p.m
"""


def run_hand_written(store_ids: list[int], year: int) -> tuple[float, dict]:
    """The hand-written aggregate, timed; `{month: {field: value}}`."""
    from django.db import connection

    pg = connection.vendor == "postgresql"
    params = {"since": dt.date(year, 1, 1), "until": dt.date(year + 1, 1, 1)}
    if not pg:
        params = {k: v.isoformat() for k, v in params.items()}
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(hand_written_sql(store_ids, pg), params)
        rows = cur.fetchall()
    elapsed = time.perf_counter() - started
    out = {}
    for row in rows:
        month = row[0] if isinstance(row[0], dt.date) else dt.date.fromisoformat(row[0])
        out[month] = {name: (Decimal(str(v)).quantize(Decimal("0.01")) if "premium" in name else int(v))
                      for name, v in zip(FIELDS, row[1:], strict=True)}
    return elapsed, out


def run_ours(user, store_ids: list[int] | None, year: int) -> tuple[float, dict]:
    """`renewal_monthly_table` (the page's two queries and their sums per store, segment and month), timed."""
    from aftercare.renewals.measures import renewal_monthly_table

    started = time.perf_counter()
    table = renewal_monthly_table(user=user, store_ids=store_ids, year=year)
    elapsed = time.perf_counter() - started
    return elapsed, table["total"]


def _same(ours: dict, hand: dict) -> list[str]:
    """What differs between the two tables (months without any figure count as zeros)."""
    problems = []
    for month, figures in ours.items():
        other = hand.get(month)
        for name in FIELDS:
            mine = Decimal(figures[name]).quantize(Decimal("0.01")) if "premium" in name else figures[name]
            theirs = other[name] if other else (Decimal("0.00") if "premium" in name else 0)
            if mine != theirs:
                problems.append(f"{month:%Y-%m} {name}: ours {mine}, hand-written {theirs}")
    problems += [f"{m}: only hand-written" for m in hand if m not in ours]
    return problems


def compare(user, store_ids: list[int], year: int, repeats: int, *, whole_group: bool = False) -> dict:
    """Both sides `repeats` times, alternating (the hand-written first); the figures must be equal. Medians."""
    ours_s, hand_s = [], []
    for _ in range(repeats):
        secs, hand = run_hand_written(store_ids, year)
        hand_s.append(secs)
        secs, ours = run_ours(user, None if whole_group else store_ids, year)
        ours_s.append(secs)
        problems = _same(ours, hand)
        if problems:
            raise SystemExit("renewal measures: different figures:\n" + "\n".join(problems[:20]))
    expiring = sum(f["expiring"] for f in ours.values())
    sold = sum(f["new_car_count"] + f["renewal_count"] for f in ours.values())
    return {"ours": statistics.median(ours_s), "hand": statistics.median(hand_s), "ours_all": ours_s,
            "hand_all": hand_s, "cases": expiring, "policies": sold}


def time_page(user, store_ids, year: int, repeats: int) -> float:
    """The whole page's data (`renewal_measures_page`: table, targets, breakdowns), median seconds — for the record."""
    from aftercare.renewals.kpis import renewal_measures_page

    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        renewal_measures_page(user=user, store_ids=store_ids, year=year, month=dt.date(year, 6, 1),
                              today=dt.date(year, 6, 15))
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


# ---- main ------------------------------------------------------------------------------------------------------


def report(results: list[tuple[str, dict]], target: float = 1.5) -> tuple[str, bool]:
    lines = [f"{'run':<52} {'cases':>9} {'policies':>9} {'hand s':>8} {'ours s':>8} {'ours / hand':>11}"]
    ok = True
    for name, r in results:
        ratio = r["ours"] / r["hand"] if r["hand"] else float("inf")
        ok = ok and ratio <= target
        lines.append(f"{name:<52} {r['cases']:>9,} {r['policies']:>9,} {r['hand']:>8.3f} {r['ours']:>8.3f} "
                     f"{ratio:>10.2f}x")
    lines.append(f"target: the monthly table within {target}x of the hand-written aggregate: "
                 f"{'met' if ok else 'NOT met'}")
    return "\n".join(lines), ok


def run(args) -> int:
    from .importbench import bench_database, postgres_url

    url = postgres_url("renewal-measures")
    if url is None:
        return 2
    if args.policies < 100 or args.stores < 1:
        print("--policies must be at least 100 and --stores at least 1", file=sys.stderr)
        return 2
    with bench_database(url, args.database, reuse=args.reuse, keep=args.keep):
        data = reuse_data() if args.reuse else load_data(args.policies, args.stores)
        args.stores = len(data["stores"])
        print(f"  {data['policies']:,} policies, {data['cases']:,} cases in {args.stores} stores "
              f"(loaded in {data['load_s']:.0f} s)", flush=True)
        user, year = data["admin"], data["year"]
        all_ids = [s.pk for s in data["stores"]]
        run_ours(user, None, year)  # warm up: the caches of both sides' tables
        run_hand_written(all_ids, year)
        one = compare(user, all_ids[:1], year, args.repeats)
        group = compare(user, all_ids, year, args.repeats, whole_group=True)
        page_one = time_page(user, all_ids[:1], year, args.repeats)
        page_group = time_page(user, all_ids, year, args.repeats)
        print()
        text, ok = report([
            (f"one store ({data['stores'][0].code}), {year}, median of {args.repeats}", one),
            (f"whole group ({args.stores} stores), {year}, median of {args.repeats}", group),
        ])
        print(text)
        print(f"  samples, one store: ours {[round(x, 3) for x in one['ours_all']]}, "
              f"hand-written {[round(x, 3) for x in one['hand_all']]}")
        print(f"  samples, group: ours {[round(x, 3) for x in group['ours_all']]}, "
              f"hand-written {[round(x, 3) for x in group['hand_all']]}")
        print(f"the whole page's data (table, targets, five breakdown queries), median: one store "
              f"{page_one:.3f} s, group {page_group:.3f} s")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        return 0 if ok else 1
