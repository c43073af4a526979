"""KPI catalogue benchmark: every measure of the catalogue (`aftercare.org.kpis.measures()`) computed through its
hook for one store-month, the whole group's month and the whole group's year, median of `--repeats` warm runs
each; the follow-up measures whose definition is one aggregate (satisfaction, SSI score, sales hand-over) also
against a hand-written SQL aggregate producing the same figures, same run (the run aborts when they differ).

Needs `DATABASE_URL` pointing at a PostgreSQL server; a scratch database (default `aftercare_bench_kpis`) on that
server is dropped, created and migrated. The customer data is `bench/followupsbench.py`'s loader (`generate_series`:
one customer, vehicle and delivery per vehicle over 1,500 days, five repair orders per vehicle over the last 580
days) spread over `--stores` stores; the follow-up tasks are made by `followups_generate --all`, then closed in SQL
(85 in 100 due tasks completed, 5 unreachable, within 0–59 hours of their event), one call per closed task (1 in 50
SSI calls "wrong number"), one answer sheet per completed SSI / CSI task (score 800–999, 1 in 25 dissatisfied); the
deliveries reach aftercare 0–71 hours after the delivery, five sales consultants a store, 1 in 30 customers without
an address. Complaint, renewal, appointment and care tables stay empty: their measures are timed on empty tables
(their own benchmarks load them: `renewal-measures`, `appointments`, `care-*`).
"""

import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from . import followupsbench as fb
from .importbench import _drop_database, _recreate_database

ROOT = Path(__file__).resolve().parent.parent


def load(repair_orders: int, n_stores: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from aftercare.followups.models import AnswerSheet, CallLog
    from aftercare.org.choices import Role
    from aftercare.org.models import DealerGroup, Staff

    vehicles = max(1000, repair_orders // fb.ROS_PER_VEHICLE)
    per_store, fb.VEHICLES_PER_STORE = fb.VEHICLES_PER_STORE, max(1, vehicles // n_stores)
    try:
        data = fb.load_data(vehicles)
    finally:
        fb.VEHICLES_PER_STORE = per_store
    t0 = time.perf_counter()
    fb.run_ours(all=True)
    stores, specialists = data["stores"], data["specialists"]
    user = get_user_model().objects.create(username="kpis_admin")
    staff = Staff.objects.create(user=user, group=DealerGroup.objects.get(code="BENCH"), role=Role.GROUP_ADMIN,
                                 display_name="kpis_admin")
    staff.stores.set(stores)
    params = {"stores": [s.pk for s in stores], "users": [u.pk for u in specialists], "n_stores": len(stores)}
    holder = "(%(users)s::bigint[])[array_position(%(stores)s::bigint[], t.store_id)]"
    h = "(hashint4(t.id::int) & 2147483647)"
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "UPDATE customers_salesdelivery SET created_at = delivered_at + make_interval(hours => "
            "(hashint4(id::int) & 2147483647) % 72), sales_consultant = '销售' || (id % 5)"
        )
        cur.execute("UPDATE customers_customer SET address = '广州市天河区' WHERE (hashint4(id::int + 5) & 2147483647) "
                    "% 30 <> 0")
        cur.execute(
            f"UPDATE followups_followuptask t SET status = CASE WHEN {h} %% 100 < 85 THEN 'completed' "
            f"ELSE 'unreachable' END, completed_at = t.event_at + make_interval(hours => {h} %% 60), "
            f"completed_by_id = {holder}, claimed_by_id = {holder}, claimed_at = t.event_at, attempts = 1, "
            f"outcome = CASE WHEN {h} %% 100 < 85 THEN 'completed' ELSE 'no_answer' END "
            f"WHERE t.status = 'open' AND t.due_at < now() AND {h} %% 100 < 90",
            params,
        )
        fb._insert_select(cur, CallLog, {
            "store_id": "t.store_id", "created_at": "now()", "updated_at": "now()", "task_id": "t.id",
            "customer_id": "t.customer_id", "handler_id": "t.completed_by_id", "called_at": "t.completed_at",
            "outcome": f"CASE WHEN t.kind = 'ssi' AND {h} %% 50 = 7 THEN 'wrong_number' ELSE t.outcome END",
        }, "followups_followuptask t WHERE t.completed_at IS NOT NULL", params)
        fb._insert_select(cur, AnswerSheet, {
            "store_id": "t.store_id", "created_at": "now()", "updated_at": "now()", "task_id": "t.id",
            "template_id": "t.template_id", "answered_by_id": "t.completed_by_id", "answered_at": "t.completed_at",
            "score_total": f"(800 + {h} %% 200)::numeric(7, 2)", "dissatisfied": f"{h} %% 25 = 3",
        }, "followups_followuptask t WHERE t.status = 'completed' AND t.template_id IS NOT NULL", params)
        cur.execute("SELECT count(*) FROM followups_followuptask")
        tasks = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM followups_answersheet")
        sheets = cur.fetchone()[0]
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(f"  tasks {tasks:,}, answer sheets {sheets:,}, closed and analysed in {time.perf_counter() - t0:.0f} s",
          flush=True)
    return {"stores": stores, "admin": user, "today": data["today"], "vehicles": vehicles, "tasks": tasks,
            "sheets": sheets}


# ---- hand-written aggregates: the same figures in one statement each ------------------------------------------

HAND = {
    "followups.satisfaction_rate": """
        SELECT s.store_id, count(*) FILTER (WHERE NOT s.dissatisfied), count(*) FROM followups_answersheet s
        WHERE s.store_id = ANY(%(stores)s) AND s.answered_at >= %(start)s AND s.answered_at < %(end)s
        GROUP BY s.store_id""",
    "followups.ssi_score": """
        SELECT s.store_id, sum(s.score_total), count(*) FROM followups_answersheet s
        JOIN followups_questionnairetemplate q ON q.id = s.template_id
        WHERE s.store_id = ANY(%(stores)s) AND s.answered_at >= %(start)s AND s.answered_at < %(end)s
          AND q.kind = 'ssi' AND s.score_total IS NOT NULL GROUP BY s.store_id""",
    "followups.handover_lag": """
        SELECT d.store_id, extract(epoch FROM sum(greatest(d.created_at - d.delivered_at, interval '0'))), count(*)
        FROM customers_salesdelivery d
        WHERE d.store_id = ANY(%(stores)s) AND d.delivered_at >= %(start)s AND d.delivered_at < %(end)s
        GROUP BY d.store_id""",
    "followups.handover_error_rate": """
        SELECT d.store_id, count(*) FILTER (WHERE c.mobile = '' OR c.address = '' OR EXISTS (
            SELECT 1 FROM followups_calllog l JOIN followups_followuptask t ON t.id = l.task_id
            WHERE l.store_id = d.store_id AND l.called_at >= %(start)s AND l.outcome = 'wrong_number'
              AND t.subject_type = 'delivery' AND t.subject_id = d.id)), count(*)
        FROM customers_salesdelivery d JOIN customers_customer c ON c.id = d.customer_id
        WHERE d.store_id = ANY(%(stores)s) AND d.delivered_at >= %(start)s AND d.delivered_at < %(end)s
        GROUP BY d.store_id""",
}


def _q(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def hand_values(code: str, rows) -> dict:
    """{store_id: (value, denominator)} as the catalogue computes it from the hand-written rows."""
    out = {}
    for store_id, num, den in rows:
        if code == "followups.ssi_score":
            out[store_id] = (_q(Decimal(num) / den), den)
        elif code == "followups.handover_lag":
            out[store_id] = (_q(Decimal(int(num)) / 3600 / den), den)
        else:
            out[store_id] = (_q(Decimal(num) * 100 / den), den)
    return out


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _median_ms(fn, repeats: int):
    fn()  # warm
    samples, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), result


def bench(data: dict, repeats: int) -> list[dict]:
    from django.db import connection

    from aftercare.org.calendar import month_add
    from aftercare.org.kpis import measures

    admin, store = data["admin"], data["stores"][0]
    month = month_add(data["today"].replace(day=1), -1)
    month_end = month_add(month, 1)
    year, year_end = dt.date(month.year, 1, 1), dt.date(month.year + 1, 1, 1)
    all_ids = [s.pk for s in data["stores"]]
    scopes = {
        "store_month": ([store.pk], month, month_end),
        "group_month": (None, month, month_end),
        "group_year": (None, year, year_end),
    }
    rows = []
    for m in measures():
        row = {"code": m.code}
        for name, (ids, start, end) in scopes.items():
            def ours(m=m, ids=ids, start=start, end=end):
                return m.compute(user=admin, store_ids=ids, period_start=start, period_end=end)

            row[name], values = _median_ms(ours, repeats)
            row[f"{name}_rows"] = len(values)
            if m.code in HAND:
                params = {"stores": ids or all_ids, "start": _day_start(start), "end": _day_start(end)}

                def hand(code=m.code, params=params):
                    with connection.cursor() as cur:
                        cur.execute(HAND[code], params)
                        return cur.fetchall()

                row[f"{name}_hand"], hand_rows = _median_ms(hand, repeats)
                expected = hand_values(m.code, hand_rows)
                got = {v.store_id: (v.value, v.denominator) for v in values}
                if got != expected:
                    raise SystemExit(f"{m.code} {name}: catalogue {got} != hand-written {expected}")
        rows.append(row)
        print(f"  {m.code}: {row['store_month']:.1f} / {row['group_month']:.1f} / {row['group_year']:.1f} ms",
              flush=True)
    return rows


def _cell(row, name) -> str:
    ours = f"{row[name]:.1f}"
    hand = row.get(f"{name}_hand")
    return f"{ours} (hand {hand:.1f}, {row[name] / hand:.2f}x)" if hand else ours


def run(args) -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("bench kpis needs DATABASE_URL=postgres://user@host:port/any_db (a PostgreSQL server)", file=sys.stderr)
        return 2
    bench_url = _recreate_database(url, args.database)
    try:
        env = dict(os.environ, DATABASE_URL=bench_url, DJANGO_SETTINGS_MODULE="aftercare.settings", DEBUG="0")
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0", "--skip-checks"],
                       env=env, cwd=ROOT, check=True)
        fb._setup_django(bench_url)
        print(f"load average before loading: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        data = load(args.repair_orders, args.stores)
        print(f"load average before the runs: {os.getloadavg()[0]:.1f}", flush=True)
        rows = bench(data, args.repeats)
        print()
        print(f"KPI catalogue: {len(rows)} measures, {args.stores} stores, {args.repair_orders:,} repair orders, "
              f"{data['vehicles']:,} deliveries, {data['tasks']:,} follow-up tasks, {data['sheets']:,} answer "
              f"sheets; median of {args.repeats} warm runs, ms")
        print("| measure | store-month | group-month | group-year |")
        print("| --- | ---: | ---: | ---: |")
        for row in rows:
            print(f"| `{row['code']}` | {_cell(row, 'store_month')} | {_cell(row, 'group_month')} | "
                  f"{_cell(row, 'group_year')} |")
        return 0
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            _drop_database(url, args.database)
