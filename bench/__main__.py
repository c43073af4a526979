"""`python -m bench import --rows N [--kind repair_orders]`, `python -m bench followups [--vehicles N]`,
`python -m bench renewals [--policies N]`, `python -m bench appointments [--bookings N]`,
`python -m bench read_audit [--requests N]`, `python -m bench load [--database-url URL] [--duration S]`,
`python -m bench renewal-measures [--policies N] [--stores N]`, `python -m bench care-classes [--customers N]`,
`python -m bench kpis [--repair-orders N] [--stores N]`, `python -m bench today [--requests N]`,
`python -m bench quality-alarm [--vehicles N] [--repair-orders N] [--stores N]`
— see docs/benchmarks.md."""

import argparse
import os
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="aftercare benchmarks")
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="DMS import against a raw COPY of the same rows (PostgreSQL)")
    imp.add_argument("--rows", type=int, default=100_000)
    imp.add_argument("--kind", default="repair_orders", choices=["repair_orders"])
    imp.add_argument("--database", default="aftercare_bench", help="scratch database (dropped and re-created)")
    imp.add_argument("--keep", action="store_true", help="keep the CSV and the scratch database")
    imp.add_argument("--chunk-size", type=int, default=None)
    imp.add_argument("--breakdown", action="store_true", help="run the imports in process, timed by step")
    imp.add_argument("--explain", type=int, default=0, help="with --breakdown: EXPLAIN ANALYZE chunk N")
    fu = sub.add_parser("followups", help="followups_generate against a hand-written INSERT … SELECT; queue page")
    fu.add_argument("--vehicles", type=int, default=1_000_000, help="vehicles (≈ customers, deliveries; 5 ROs each)")
    fu.add_argument("--database", default="aftercare_bench_fu", help="scratch database (dropped and re-created)")
    fu.add_argument("--keep", action="store_true", help="keep the scratch database")
    fu.add_argument("--repeats", type=int, default=5, help="daily runs each way (median reported)")
    fu.add_argument("--requests", type=int, default=60, help="queue requests per URL")
    fu.add_argument("--no-backfill", action="store_true", help="skip the full backfill (only the queue store's tasks)")
    rn = sub.add_parser("renewals", help="renewal_cases_generate (daily, backfill) against a hand-written INSERT … "
                        "SELECT")
    rn.add_argument("--policies", type=int, default=1_000_000, help="policies (two policy years per vehicle)")
    rn.add_argument("--stores", type=int, default=20)
    rn.add_argument("--database", default="aftercare_bench_rn", help="scratch database (dropped and re-created)")
    rn.add_argument("--keep", action="store_true", help="keep the scratch database")
    rn.add_argument("--repeats", type=int, default=3, help="runs each way (median reported)")
    ap = sub.add_parser("appointments", help="the month availability view (p95) and booking throughput, each against "
                        "a hand-written limit (PostgreSQL)")
    ap.add_argument("--bookings", type=int, default=15_000, help="bookings of the store over a year")
    ap.add_argument("--runs", type=int, default=20, help="month views timed (p50, p95)")
    ap.add_argument("--count", type=int, default=300, help="bookings made each way for the throughput")
    ap.add_argument("--database", default="aftercare_bench_ap", help="scratch database (dropped and re-created)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    ra = sub.add_parser("read_audit", help="customer-360 page p50 with and without the `view` audit event")
    ra.add_argument("--requests", type=int, default=300, help="timed rounds per URL, each way (at least 200)")
    ra.add_argument("--files", type=int, default=50, help="customer files of the first store opened in turn")
    ra.add_argument("--customers", type=int, default=2000, help="demo size given to seed_demo")
    ra.add_argument("--prior-views", type=int, default=2000, help="then: earlier view events per file (0: skip)")
    ra.add_argument("--database", default="aftercare_audit_bench", help="PostgreSQL scratch database")
    ra.add_argument("--keep", action="store_true", help="keep the scratch database")
    ra.add_argument("--reuse", action="store_true", help="PostgreSQL: use the kept scratch database as it is")
    ld = sub.add_parser("load", help="queue, customer-360 and complaint pages under load through gunicorn")
    ld.add_argument("--database-url", default="", help="a PostgreSQL server (postgres://user@host:port/any_db); "
                    "default: SQLite with the demo")
    ld.add_argument("--database", default="aftercare_loadbench", help="PostgreSQL scratch database (dropped and "
                    "re-created)")
    ld.add_argument("--customers", type=int, default=100_000, help="PostgreSQL: customers of the store GZ01")
    ld.add_argument("--demo-customers", type=int, default=2000, help="demo size given to seed_demo")
    ld.add_argument("--keep", action="store_true", help="keep the PostgreSQL scratch database")
    ld.add_argument("--reuse", action="store_true", help="PostgreSQL: use the kept scratch database as it is")
    ld.add_argument("--sqlite", default="", help="SQLite: use this seeded database file as it is (no demo seeding)")
    ld.add_argument("--mode", default="both", choices=["saturation", "users", "both"])
    ld.add_argument("--duration", type=float, default=300, help="seconds a run (each saturation step, the users run)")
    ld.add_argument("--pages", default="queue,customer360,complaints", help="comma-separated: queue, customer360, "
                    "complaints")
    ld.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")),
                    help="gunicorn workers (default: WEB_WORKERS or 2, as make run)")
    ld.add_argument("--max-clients", type=int, default=32, help="saturation: last step at most this many clients")
    ld.add_argument("--users", type=int, default=30, help="simulated users of the open-loop run")
    ld.add_argument("--think", type=float, default=3.0, help="mean seconds between a user's requests")
    ld.add_argument("--password", default="demo1234", help="the demo logins' password")
    ld.add_argument("--plain-static", action="store_true", help="skip collectstatic (plain static URLs; quick runs)")
    ld.add_argument("--json", action="store_true", help="also write the results to bench/out/")
    rm = sub.add_parser("renewal-measures", help="the monthly renewal table against a hand-written SQL aggregate")
    rm.add_argument("--policies", type=int, default=1_000_000, help="policies (four policy years a vehicle)")
    rm.add_argument("--stores", type=int, default=20)
    rm.add_argument("--repeats", type=int, default=5, help="runs each way (median reported)")
    rm.add_argument("--database", default="aftercare_bench_rm", help="scratch database (dropped and re-created)")
    rm.add_argument("--keep", action="store_true", help="keep the scratch database")
    rm.add_argument("--reuse", action="store_true", help="use the kept scratch database as it is (no loading)")
    kp = sub.add_parser("kpis", help="every KPI catalogue measure: store-month, group-month, group-year")
    kp.add_argument("--repair-orders", type=int, default=200_000, help="repair orders (one delivery per five)")
    kp.add_argument("--stores", type=int, default=10)
    kp.add_argument("--repeats", type=int, default=5, help="warm runs per measure and scope (median reported)")
    kp.add_argument("--database", default="aftercare_bench_kpis", help="scratch database (dropped and re-created)")
    kp.add_argument("--keep", action="store_true", help="keep the scratch database")
    # ---- classes: care_classify against one hand-written statement ----
    cc = sub.add_parser("care-classes", help="customer classification against one hand-written SQL statement")
    cc.add_argument("--customers", type=int, default=1_000_000, help="customers of the one store")
    cc.add_argument("--database", default="aftercare_bench_cc", help="scratch database (dropped and re-created)")
    cc.add_argument("--keep", action="store_true", help="keep the scratch database")
    # ---- end classes ----
    qa = sub.add_parser("quality-alarm", help="the batch-defect alarm job against a hand-written aggregate of its "
                        "inputs; the dealer scorecard (PostgreSQL)")
    qa.add_argument("--vehicles", type=int, default=2_000_000, help="vehicles (one customer and delivery each)")
    qa.add_argument("--repair-orders", type=int, default=10_000_000, help="repair orders (1.5 %% reported)")
    qa.add_argument("--stores", type=int, default=100, help="stores of the one dealer group")
    qa.add_argument("--repeats", type=int, default=3, help="reruns each way (median reported)")
    qa.add_argument("--runs", type=int, default=20, help="scorecard runs (p50, p95)")
    qa.add_argument("--database", default="aftercare_bench_qa", help="scratch database (dropped and re-created)")
    qa.add_argument("--keep", action="store_true", help="keep the scratch database")
    qa.add_argument("--reuse", action="store_true", help="use the kept scratch database as it is (no loading)")
    td = sub.add_parser("today", help="the start page per role: 200 sequential GET /today/ each, p95 < 150 ms")
    td.add_argument("--requests", type=int, default=200, help="sequential requests per role")
    td.add_argument("--customers", type=int, default=2000, help="demo size given to seed_demo")
    td.add_argument("--database", default="aftercare_bench_today", help="PostgreSQL scratch database")
    td.add_argument("--keep", action="store_true", help="keep the scratch database (SQLite: its file)")
    td.add_argument("--sqlite", default="", help="SQLite: use this seeded database file as it is (no seeding)")
    td.add_argument("--cards", action="store_true", help="also time each card's numbers per role")
    args = parser.parse_args(argv)
    if args.command == "today":
        from .todaybench import run as run_today

        return run_today(args)
    if args.command == "care-classes":  # ---- classes ----
        from .care_classesbench import run as run_care_classes

        return run_care_classes(args)
    if args.command == "quality-alarm":
        from .quality_alarmbench import run as run_quality_alarm

        return run_quality_alarm(args)
    if args.command == "import":
        from .importbench import run

        return run(args)
    if args.command == "followups":
        from .followupsbench import run as run_followups

        return run_followups(args)
    if args.command == "renewals":
        from .renewalsbench import run as run_renewals

        return run_renewals(args)
    if args.command == "appointments":
        from .appointmentsbench import run as run_appointments

        return run_appointments(args)
    if args.command == "read_audit":
        from .readauditbench import run as run_read_audit

        return run_read_audit(args)
    if args.command == "renewal-measures":
        from .renewalmeasuresbench import run as run_renewal_measures

        return run_renewal_measures(args)
    if args.command == "kpis":
        from .kpisbench import run as run_kpis

        return run_kpis(args)
    if args.command == "load":
        from .loadbench import run as run_load

        return run_load(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
