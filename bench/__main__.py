"""`python -m bench import --rows N [--kind repair_orders]`, `python -m bench followups [--vehicles N]`,
`python -m bench read_audit [--requests N]` — see docs/benchmarks.md."""

import argparse
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
    ra = sub.add_parser("read_audit", help="customer-360 page p50 with and without the `view` audit event")
    ra.add_argument("--requests", type=int, default=300, help="timed rounds per URL, each way (at least 200)")
    ra.add_argument("--files", type=int, default=50, help="customer files of the first store opened in turn")
    ra.add_argument("--customers", type=int, default=2000, help="demo size given to seed_demo")
    ra.add_argument("--prior-views", type=int, default=2000, help="then: earlier view events per file (0: skip)")
    ra.add_argument("--database", default="aftercare_audit_bench", help="PostgreSQL scratch database")
    ra.add_argument("--keep", action="store_true", help="keep the scratch database")
    ra.add_argument("--reuse", action="store_true", help="PostgreSQL: use the kept scratch database as it is")
    args = parser.parse_args(argv)
    if args.command == "import":
        from .importbench import run

        return run(args)
    if args.command == "followups":
        from .followupsbench import run as run_followups

        return run_followups(args)
    if args.command == "read_audit":
        from .readauditbench import run as run_read_audit

        return run_read_audit(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
