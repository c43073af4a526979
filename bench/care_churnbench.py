"""Churn-risk scoring benchmark: `churn_scores_write` over N customers on PostgreSQL, timed per phase (reading the
features in one statement streamed by binary COPY into numpy, scoring with the model and its top reasons, writing
the scores: binary COPY into a temporary table, then TRUNCATE and one INSERT … SELECT into the narrow
`care_churnscore`), with the machine's load average.

    DATABASE_URL=postgres://user@host:port/any_db python -m bench.care_churnbench --customers 100000
    DATABASE_URL=postgres://user@host:port/any_db python -m bench.care_churnbench --customers 1000 --legacy

`--legacy` also times the previous write in the same run, alternating with the current one: the scores as three
columns of the wide care profiles (re-created in the scratch database with their index), written by one
`UPDATE … FROM` of the profiles (`legacy_scores_write`), and reports the ratio of the best totals and writes.

A scratch database (default `aftercare_bench_churn`) is dropped, created and migrated. The data is made by
`generate_series` in the server: one store per 100 k customers, one vehicle each, five repair orders per customer
over the last 580 days (the kinds of `followupsbench.RO_KINDS`), a complaint for 1 in 20 customers and a care
profile with a distance for every customer. The model is trained on a simulated history (`care/churnsim.py`): the
benchmark times scoring, not training. Target (issue 18): 1 M customers in under 60 s.
"""

import argparse
import os
import subprocess
import sys
import time

from .followupsbench import RO_DAYS, RO_KINDS, ROOT, _insert_select, _setup_django, _store_of
from .importbench import _drop_database, _recreate_database

CUSTOMERS_PER_STORE = 100_000
ROS_PER_CUSTOMER = 5
CHUNK = 1_000_000
TARGET_S = 60.0
TARGET_N = 1_000_000


def load_data(customers: int) -> dict:
    """Stores and the customer data in the current (PostgreSQL) database."""

    from django.core.management.color import no_style
    from django.db import connection, transaction

    from aftercare.care.models import CareProfile
    from aftercare.customers.models import Customer, Ownership, RepairOrder, Vehicle
    from aftercare.org.calendar import business_date, business_day_start
    from aftercare.org.models import DealerGroup, Region, Store

    n_stores = max(1, round(customers / CUSTOMERS_PER_STORE))
    group = DealerGroup.objects.create(code="CHURN", name="churn bench")
    region = Region.objects.create(group=group, code="C", name="bench")
    stores = [Store.objects.create(group=group, region=region, code=f"CH{i:02d}", name=f"bench {i}", brand="别克")
              for i in range(1, n_stores + 1)]
    today = business_date()
    end = business_day_start(today)
    params = {"stores": [s.pk for s in stores], "n_stores": n_stores, "end": end, "kinds": RO_KINDS,
              "n": customers}
    series = "generate_series(1, %(n)s) i"
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # consistent by construction: no FK triggers
        try:
            with transaction.atomic():
                _insert_select(cur, Customer, {
                    "id": "i", "store_id": _store_of("i"), "created_at": "now()", "updated_at": "now()",
                    "number": "'C' || lpad(i::text, 9, '0')", "name": "'客户' || i",
                    "mobile": "'+86137' || lpad(i::text, 8, '0')", "source": "'service'",
                }, series, params)
                _insert_select(cur, Vehicle, {
                    "id": "i", "store_id": _store_of("i"), "created_at": "now()", "updated_at": "now()",
                    "vin": "'LSGCHURN' || lpad(i::text, 9, '0')", "brand": "'别克'", "model": "'英朗'",
                    "delivery_date": "(%(end)s::date - 200 - (hashint4(i) & 2147483647) %% 2500)",
                    "warranty_end": "(%(end)s::date - 200 - (hashint4(i) & 2147483647) %% 2500 + 1095)",
                }, series, params)
                _insert_select(cur, Ownership, {
                    "store_id": _store_of("i"), "created_at": "now()", "updated_at": "now()", "vehicle_id": "i",
                    "customer_id": "i", "valid_from": "(%(end)s::date - 3000)",
                }, series, params)
                _insert_select(cur, CareProfile, {
                    "store_id": _store_of("i"), "created_at": "now()", "updated_at": "now()", "customer_id": "i",
                    "distance_km": "((hashint4(i + 5) & 2147483647) %% 800) / 10.0",
                    "books_appointments": "(hashint4(i + 9) & 2147483647) %% 5 < 2",
                }, series, params)
            total = customers * ROS_PER_CUSTOMER
            for lo in range(1, total + 1, CHUNK):
                hi = min(lo + CHUNK - 1, total)
                c = f"((j - 1) %% {customers} + 1)"
                with transaction.atomic():
                    _insert_select(cur, RepairOrder, {
                        "id": "j", "store_id": _store_of(c), "created_at": "now()", "updated_at": "now()",
                        "ro_number": "'RO' || lpad(j::text, 9, '0')", "vehicle_id": c, "customer_id": c,
                        "settled_at": f"%(end)s::timestamptz - make_interval(days => 1 + (hashint4(j) & 2147483647)"
                                      f" %% {RO_DAYS}) + make_interval(mins => 480 + (hashint4(j + 7) & 2147483647)"
                                      f" %% 600)",
                        "kind": f"(%(kinds)s::text[])[1 + (hashint4(j + 13) & 2147483647) %% {len(RO_KINDS)}]",
                        "amount": "((hashint4(3 * j) & 65535) / 100.0)::numeric(12, 2)",
                        "mileage": "1000 + (j / %(n)s) * 5000 + (hashint4(j + 3) & 1023)",
                        "booked": "(hashint4(j + 17) & 3) = 0",
                    }, "generate_series(%(lo)s, %(hi)s) j", params | {"lo": lo, "hi": hi})
        finally:
            cur.execute("SET session_replication_role = origin")
        for sql in connection.ops.sequence_reset_sql(no_style(), [Customer, Vehicle, RepairOrder]):
            cur.execute(sql)
        cur.execute("VACUUM ANALYZE")
    return {"stores": stores, "today": today, "customers": customers, "load_s": time.perf_counter() - t0}


def train_model() -> None:
    """A model trained on a small simulated history, stored as the newest `ChurnModel`."""
    import datetime as dt

    from django.utils import timezone

    from aftercare.care.churnsim import backtest
    from aftercare.care.models import ChurnModel

    r = backtest(seed=0, customers=600)
    m = r["model"]
    ChurnModel.objects.create(trained_at=timezone.now(), cutoff=dt.date.today(), feature_names=list(m.feature_names),
                              coefficients=m.coefficients(), model=m.dumps(), metrics={"auc_model": r["auc_model"]})


def legacy_prepare() -> None:
    """The previous layout in the scratch database: the score as three columns of the care profiles, with the
    index and check they had (migration care 0006 moved them to `care_churnscore`)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ALTER TABLE care_careprofile ADD COLUMN churn_risk double precision, "
                    "ADD COLUMN churn_reasons jsonb NOT NULL DEFAULT '[]', ADD COLUMN scored_on date, "
                    "ADD CONSTRAINT care_profile_churn_risk_0_1 CHECK (churn_risk IS NULL OR "
                    "(churn_risk >= 0 AND churn_risk <= 1))")
        cur.execute("CREATE INDEX care_profile_store_risk_idx ON care_careprofile (store_id, churn_risk)")
        cur.execute("VACUUM ANALYZE care_careprofile")


def legacy_scores_write(ids, risk, why, codes: list[str], model_id: int, today) -> None:
    """The previous write (before the scores had a table of their own), in place of `churn._scores_copy`: binary
    COPY into a temporary table, one `UPDATE … FROM` of the existing profiles, one `INSERT` of missing ones, then
    the scores of customers no longer active cleared."""
    import numpy as np
    from django.db import connection
    from django.utils import timezone

    from aftercare.care.services.churn import _PGCOPY_HEADER, COPY_ROWS

    now = timezone.now()
    params: dict = {"today": today, "now": now, "codes": codes}
    reasons = "to_jsonb(array_remove(ARRAY[(%(codes)s::text[])[s.r1], (%(codes)s::text[])[s.r2], " \
              "(%(codes)s::text[])[s.r3]], NULL))"
    row = np.dtype([("fields", ">i2"), ("l1", ">i4"), ("customer", ">i8"), ("l3", ">i4"), ("risk", ">f8"),
                    ("l4", ">i4"), ("r1", ">i2"), ("l5", ">i4"), ("r2", ">i2"), ("l6", ">i4"), ("r3", ">i2")])
    data = np.zeros(len(ids), dtype=row)
    data["fields"] = 5
    for length, names in ((8, ("l1", "l3")), (2, ("l4", "l5", "l6"))):
        for name in names:
            data[name] = length
    data["customer"], data["risk"] = ids, risk
    for k in range(3):
        data[f"r{k + 1}"] = why[:, k] if why.shape[1] > k else 0
    with connection.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE care_churn_scores (customer_id bigint, risk double precision, "
                    "r1 smallint, r2 smallint, r3 smallint) ON COMMIT DROP")
        with cur.copy("COPY care_churn_scores FROM STDIN (FORMAT binary)") as copy:
            copy.write(_PGCOPY_HEADER + bytes(8))
            for i in range(0, len(data), COPY_ROWS):
                copy.write(data[i:i + COPY_ROWS].tobytes())
            copy.write(b"\xff\xff")
        cur.execute("ANALYZE care_churn_scores")
        cur.execute(
            f"UPDATE care_careprofile p SET churn_risk = s.risk, churn_reasons = {reasons}, scored_on = %(today)s, "
            f"updated_at = %(now)s FROM care_churn_scores s WHERE p.customer_id = s.customer_id", params)
        cur.execute(
            f"INSERT INTO care_careprofile (store_id, customer_id, churn_risk, churn_reasons, scored_on, "
            f"customer_class, lost_rule, visits_12m, spend_12m, created_at, updated_at) "
            f"SELECT c.store_id, s.customer_id, s.risk, {reasons}, %(today)s, 'new', '', 0, 0, %(now)s, %(now)s "
            f"FROM care_churn_scores s JOIN customers_customer c ON c.id = s.customer_id "
            f"WHERE NOT EXISTS (SELECT 1 FROM care_careprofile p WHERE p.customer_id = s.customer_id)", params)
        cur.execute("UPDATE care_careprofile SET churn_risk = NULL, churn_reasons = '[]', scored_on = %(today)s "
                    "WHERE churn_risk IS NOT NULL AND scored_on <> %(today)s", params)
        cur.execute("DROP TABLE care_churn_scores")


def _one_run(today, version: str) -> dict:
    from aftercare.care.services import churn

    timings: dict = {}
    current = churn._scores_copy
    if version == "legacy":
        churn._scores_copy = legacy_scores_write
    try:
        t0 = time.perf_counter()
        n = churn.churn_scores_write(today=today, timings=timings)
        total = time.perf_counter() - t0
    finally:
        churn._scores_copy = current
    return timings | {"version": version, "total": total, "scored": n, "load": os.getloadavg()[0]}


def bench_scoring(today, runs: int = 1, legacy: bool = False) -> list[dict]:
    """`runs` runs of the current scoring; with `legacy`, each preceded by one of the previous write (same read and
    scoring), so both see the same load."""
    out = []
    for _ in range(runs):
        if legacy:
            out.append(_one_run(today, "legacy"))
        out.append(_one_run(today, "current"))
    return out


def report(data: dict, results: list[dict], out=print) -> None:
    n = data["customers"]
    out(f"{n:,} customers, {n * ROS_PER_CUSTOMER:,} repair orders in {len(data['stores'])} stores "
        f"(loaded in {data['load_s']:.0f} s)")
    out(f"{'run':<4} {'version':<8} {'scored':>10} {'read s':>8} {'score s':>8} {'write s':>8} {'total s':>8} "
        f"{'load':>6}")
    for i, r in enumerate(results, 1):
        out(f"{i:<4} {r['version']:<8} {r['scored']:>10,} {r['read']:>8.2f} {r['score']:>8.2f} {r['write']:>8.2f} "
            f"{r['total']:>8.2f} {r['load']:>6.1f}")
    old = [r for r in results if r["version"] == "legacy"]
    results = [r for r in results if r["version"] == "current"]
    if old:
        for key in ("write", "total"):
            was, now = min(r[key] for r in old), min(r[key] for r in results)
            out(f"{key}: legacy best {was:.2f} s, current best {now:.2f} s, ratio legacy / current "
                f"{was / max(now, 1e-9):.1f}x")
    best = min(r["total"] for r in results)
    linear = best * TARGET_N / max(n, 1)
    out(f"linear extrapolation to {TARGET_N:,} customers: {linear:.0f} s "
        f"(target: 1 M customers under {TARGET_S:.0f} s; load: 1-minute load average at the end of each run, "
        f"on {os.cpu_count()} CPUs)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.care_churnbench", description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2, help="scoring runs (the second rewrites the same scores)")
    parser.add_argument("--database", default="aftercare_bench_churn", help="scratch database (dropped, re-created)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--legacy", action="store_true",
                        help="also time the previous write (the scores on the care profiles), alternating")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("the churn benchmark needs DATABASE_URL=postgres://user@host:port/any_db", file=sys.stderr)
        return 2
    if args.customers < 100:
        print("--customers must be at least 100", file=sys.stderr)
        return 2
    bench_url = _recreate_database(url, args.database)
    try:
        env = dict(os.environ, DATABASE_URL=bench_url, DJANGO_SETTINGS_MODULE="aftercare.settings", DEBUG="0")
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0", "--skip-checks"],
                       env=env, cwd=ROOT, check=True)
        _setup_django(bench_url)
        data = load_data(args.customers)
        train_model()
        if args.legacy:
            legacy_prepare()
        report(data, bench_scoring(data["today"], args.runs, legacy=args.legacy))
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            _drop_database(url, args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
