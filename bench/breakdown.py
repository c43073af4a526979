"""`python -m bench.breakdown FILE [--chunk-size N] [--explain N]`: one import in process, timed by step.

Run by `python -m bench import --breakdown` (with DATABASE_URL set to the scratch database). Wraps the
steps of `ChunkWriter` with timers; "commit" is the time `_write_rows` spends after the chunk's
statements (PostgreSQL checks the deferred foreign keys then); "waiting for the reader" is the
time the database side waited for the reading/validating thread. `--explain N` prints
`EXPLAIN ANALYZE` of every statement of the N-th chunk (run in a savepoint that is rolled back).
"""

import argparse
import sys
import threading
import time
from collections import defaultdict

STEPS = ("_create_tables", "_load", "_skip_unchanged", "_collect_keys", "_customers", "_vehicles",
         "_ownerships", "_target_repair_orders", "_remember", "_copy_known")
LABELS = {
    "_create_tables": "create the work tables (once per connection)",
    "_load": "COPY the chunk into the staging table",
    "_skip_unchanged": "find stored orders, drop unchanged rows (one join)",
    "_collect_keys": "one row per VIN / customer key, with stored ids",
    "_customers": "customers: numbering, insert",
    "_vehicles": "vehicles: insert, fill blanks",
    "_ownerships": "ownerships",
    "_target_repair_orders": "INSERT / UPDATE repair orders",
    "_remember": "fetch the chunk's vehicles to remember",
    "_copy_known": "COPY the rows of known vehicles into the order table",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.breakdown")
    parser.add_argument("file")
    parser.add_argument("--store", default="BENCH")
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--explain", type=int, default=0, help="EXPLAIN ANALYZE the statements of this chunk")
    parser.add_argument("--slow", type=float, default=2.0, help="EXPLAIN a statement slower than this (seconds)")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.db import connection

    from aftercare.dms import services
    from aftercare.dms.importing import writer as importers
    from aftercare.org.models import Store

    spent: dict[str, float] = defaultdict(float)
    state = {"chunk": 0}

    def timed(name, method):
        def wrapper(self, *a, **kw):
            t0 = time.perf_counter()
            try:
                return method(self, *a, **kw)
            finally:
                spent[name] += time.perf_counter() - t0
        return wrapper

    for name in STEPS:
        setattr(importers.ChunkWriter, name, timed(name, getattr(importers.ChunkWriter, name)))
    copy_known = importers.ChunkWriter._copy_known

    def counted_copy_known(self, rows):
        state["direct"] = state.get("direct", 0) + len(rows)
        return copy_known(self, rows)

    importers.ChunkWriter._copy_known = counted_copy_known
    write = importers.ChunkWriter.write

    mine = threading.local()  # each writer thread's own write time (parallel writers share `spent`)

    def counted_write(self, rows, direct=None):
        state["chunk"] += 1
        t0 = time.perf_counter()
        try:
            return write(self, rows, direct)
        finally:
            took = time.perf_counter() - t0
            spent["write"] += took
            mine.write = getattr(mine, "write", 0.0) + took

    importers.ChunkWriter.write = counted_write
    real_x = importers.ChunkWriter._x

    def explained_x(self, sql, params=()):
        if state["chunk"] == args.explain:
            with connection.cursor() as cur:
                cur.execute("SAVEPOINT bench_explain")
                cur.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql.format(**self.t), params)
                plan = "\n".join("    " + r[0] for r in cur.fetchall())
                cur.execute("ROLLBACK TO SAVEPOINT bench_explain")
            print(f"--- {sql.format(**self.t)[:160]}\n{plan}", file=sys.stderr)
        t0 = time.perf_counter()
        result = real_x(self, sql, params)
        took = time.perf_counter() - t0
        if took > args.slow:  # show how the planner saw a slow statement
            with connection.cursor() as cur:
                cur.execute("EXPLAIN " + sql.format(**self.t), params)
                plan = "\n".join("    " + r[0] for r in cur.fetchall())
            print(f"--- chunk {state['chunk']}, {took:.2f} s: {sql.format(**self.t)[:160]}\n{plan}", file=sys.stderr)
        return result

    importers.ChunkWriter._x = explained_x
    write_rows = services._write_rows_once

    def timed_write_rows(*a, **kw):
        t0 = time.perf_counter()
        before = getattr(mine, "write", 0.0)
        try:
            return write_rows(*a, **kw)
        finally:
            spent["commit"] += (time.perf_counter() - t0) - (getattr(mine, "write", 0.0) - before)

    services._write_rows_once = timed_write_rows
    pipelined = services._pipelined

    def timed_pipelined(items, depth=1):
        inner = pipelined(items, depth)
        while True:
            t0 = time.perf_counter()
            try:
                item = next(inner)
            except StopIteration:
                spent["wait"] += time.perf_counter() - t0
                return
            spent["wait"] += time.perf_counter() - t0
            yield item

    services._pipelined = timed_pipelined

    writer_count = services._writer_count

    def counted_writers(*a, **kw):
        spent["writers"] = writer_count(*a, **kw)
        return spent["writers"]

    services._writer_count = counted_writers
    store = Store.objects.get(code=args.store)
    kw = {"chunk_size": args.chunk_size} if args.chunk_size else {}
    started = time.perf_counter()
    batch = services.import_file(actor=None, store=store, kind="repair_orders", path=args.file, **kw)
    total = time.perf_counter() - started
    steps = sum(spent[name] for name in STEPS)
    print(f"created={batch.created_count} updated={batch.updated_count} unchanged={batch.unchanged_count} "
          f"rejected={batch.rejected_count}; {state['chunk']} chunks; {state.get('direct', 0)} rows copied directly")
    for name in STEPS:
        print(f"  {LABELS[name]:<55} {spent[name]:7.1f} s")
    print(f"  {'ANALYZE, the rest of the chunk':<55} {spent['write'] - steps:7.1f} s")
    print(f"  {'commit (deferred foreign-key checks)':<55} {spent['commit']:7.1f} s")
    waiting = "waiting for the reading/validating thread"
    if spent["writers"] > 1:
        waiting = "main thread: waiting for the reader"
    print(f"  {waiting:<55} {spent['wait']:7.1f} s")
    if spent["writers"] > 1:
        busy = spent["write"] + spent["commit"]
        print(f"  {'(the steps above: summed over the writers)':<55} {busy:7.1f} s")
        print(f"  {'total (wall clock)':<55} {total:7.1f} s")
        return 0
    rest = total - spent["write"] - spent["commit"] - spent["wait"]
    print(f"  {'batch bookkeeping, setup, the rest':<55} {rest:7.1f} s")
    print(f"  {'total':<55} {total:7.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
