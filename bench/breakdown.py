"""`python -m bench.breakdown FILE [--chunk-size N] [--explain N]`: one import in process, timed by step.

Run by `python -m bench import --breakdown` (with DATABASE_URL set to the scratch database). The import reports
its phases to the timer it is given (`aftercare.dms.importing.timing`: the writer's steps, each chunk's
transaction, the reader); "commit" is the time of the chunks' transactions beyond their statements and signal
receivers (PostgreSQL checks the deferred foreign keys then); "waiting for the reader" is the time the database
side waited for the reading/validating thread. `--explain N` prints `EXPLAIN ANALYZE` of every statement of the
N-th chunk (run in a savepoint that is rolled back), through Django's `connection.execute_wrapper` around the
timer's "write" phase.
"""

import argparse
import contextlib
import sys
import threading
import time
from functools import partial

EXPLAINABLE = ("INSERT", "UPDATE", "DELETE", "SELECT")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.breakdown")
    parser.add_argument("file")
    parser.add_argument("--store", default="BENCH")
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--explain", type=int, default=0, help="EXPLAIN ANALYZE the statements of this chunk")
    parser.add_argument("--slow", type=float, default=2.0, help="EXPLAIN a statement slower than this (seconds)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import django

    django.setup()
    return run(args)


def explaining_timer(explain: int, slow: float):
    """A `PhaseRecorder` that, during each chunk's "write" phase, EXPLAINs the statements of chunk `explain` (with
    ANALYZE, rolled back) and those slower than `slow` seconds (the plan as the planner saw it), on stderr."""
    from django.db import connection

    from aftercare.dms.importing.timing import PhaseRecorder

    inside = threading.local()  # our own EXPLAIN statements pass through the wrapper too

    def explained(chunk, execute, sql, params, many, context):
        words = sql.lstrip()[:6].upper()
        if many or getattr(inside, "on", False) or not words.startswith(EXPLAINABLE) or "; " in sql:
            return execute(sql, params, many, context)
        inside.on = True
        try:
            if chunk == explain:
                with context["connection"].cursor() as cur:
                    cur.execute("SAVEPOINT bench_explain")
                    cur.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
                    plan = "\n".join("    " + r[0] for r in cur.fetchall())
                    cur.execute("ROLLBACK TO SAVEPOINT bench_explain")
                print(f"--- {sql[:160]}\n{plan}", file=sys.stderr)
            t0 = time.perf_counter()
            result = execute(sql, params, many, context)
            took = time.perf_counter() - t0
            if took > slow:  # show how the planner saw a slow statement
                with context["connection"].cursor() as cur:
                    cur.execute("EXPLAIN " + sql, params)
                    plan = "\n".join("    " + r[0] for r in cur.fetchall())
                print(f"--- chunk {chunk}, {took:.2f} s: {sql[:160]}\n{plan}", file=sys.stderr)
            return result
        finally:
            inside.on = False

    class ExplainingRecorder(PhaseRecorder):
        def __init__(self):
            super().__init__()
            self.chunk = 0

        @contextlib.contextmanager
        def phase(self, name: str):
            if name != "write":
                with super().phase(name):
                    yield
                return
            with self._lock:
                self.chunk += 1
                chunk = self.chunk
            # on the writing thread: its own connection
            with super().phase(name), connection.execute_wrapper(partial(explained, chunk)):
                yield

    return ExplainingRecorder()


def run(args: argparse.Namespace) -> int:
    from aftercare.dms.importing.timing import PHASES, WRITER_STEPS
    from aftercare.dms.services import import_file
    from aftercare.org.models import Store

    timer = explaining_timer(args.explain, args.slow)
    store = Store.objects.get(code=args.store)
    kw = {"chunk_size": args.chunk_size} if args.chunk_size else {}
    started = time.perf_counter()
    batch = import_file(actor=None, store=store, kind="repair_orders", path=args.file, timer=timer, **kw)
    total = time.perf_counter() - started
    spent = timer.seconds
    steps = sum(spent[name] for name in WRITER_STEPS)
    commit = spent["transaction"] - spent["write"] - spent["signal"]
    writers = timer.counts["writers"]
    print(f"created={batch.created_count} updated={batch.updated_count} unchanged={batch.unchanged_count} "
          f"rejected={batch.rejected_count}; {timer.calls['write']} chunks; {timer.counts['copied']} rows copied "
          f"directly")
    for name in WRITER_STEPS:
        print(f"  {PHASES[name].strip():<68} {spent[name]:7.1f} s")
    print(f"  {'the rest of the chunk':<68} {spent['write'] - steps:7.1f} s")
    print(f"  {PHASES['signal'].strip():<68} {spent['signal']:7.1f} s")
    print(f"  {'commit (deferred foreign-key checks)':<68} {commit:7.1f} s")
    waiting = "waiting for the reading/validating thread"
    if writers > 1:
        waiting = "main thread: waiting for the reader"
    print(f"  {waiting:<68} {spent['wait']:7.1f} s")
    print(f"  {PHASES['record']:<68} {spent['record']:7.1f} s")
    if writers > 1:
        print(f"  {'(the steps above: summed over the writers)':<68} {spent['transaction']:7.1f} s")
        print(f"  {'total (wall clock)':<68} {total:7.1f} s")
        return 0
    rest = total - spent["transaction"] - spent["wait"] - spent["record"]
    print(f"  {'setup, the rest':<68} {rest:7.1f} s")
    print(f"  {'total':<68} {total:7.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
