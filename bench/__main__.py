"""`python -m bench import --rows N [--kind repair_orders]` — see docs/benchmarks.md."""

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
    args = parser.parse_args(argv)
    if args.command == "import":
        from .importbench import run

        return run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
