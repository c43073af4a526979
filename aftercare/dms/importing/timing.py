"""The import's public timing hook: how long each phase of each chunk took (for benchmarks and diagnostics).

The pipeline calls `timer.phase(name)` (a context manager) around each phase below, once per chunk (or per
writer's part of a chunk), never per row, and `timer.count(name, n)` for a few counts. By default the timer is
`NO_TIMER`, whose `phase` returns one shared no-op context manager. A caller that wants the times passes a timer:

    recorder = PhaseRecorder()
    import_file(actor=None, store=store, kind="repair_orders", path=path, timer=recorder)
    recorder.seconds["write"], recorder.calls["write"], recorder.counts["copied"]

Any object with the two methods of `Timer` will do (`bench/breakdown.py` adds `EXPLAIN` of a chunk's statements
to its "write" phase with Django's `connection.execute_wrapper`). Phases run on the thread that does the work:
"read" on the reading thread, the writers' phases on each writer's thread, so a timer must be thread-safe.
"""

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

# Every phase the pipeline reports, in the order of a chunk's life; indented ones run inside the one above them.
PHASES = {
    "read": "read and validate the next chunk of the file (on the reading thread)",
    "wait": "the writing side waits for the next validated chunk",
    "transaction": "one chunk's (or one writer's part's) transaction: write, signal, commit",
    "write": "  `ChunkWriter.write`: the chunk's statements (the steps below, and ANALYZE when due)",
    "create_tables": "    create the work tables (PostgreSQL: once per connection)",
    "load": "    load the chunk into the staging table (PostgreSQL: COPY)",
    "reject_foreign_keys": "    policies: drop policy numbers held by another store",
    "skip_unchanged": "    find the stored rows, drop the unchanged ones (one join)",
    "collect_keys": "    one row per VIN / customer key, with the stored ids",
    "customers": "    customers: numbering, insert, update",
    "vehicles": "    vehicles: insert, fill blanks",
    "ownerships": "    ownerships",
    "target": "    insert / update the kind's rows (orders, deliveries, policies)",
    "remember": "    fetch the chunk's vehicles for `KnownVehicles`",
    "copy_known": "    COPY the new orders of known vehicles into the order table",
    "statistics": "    ANALYZE the tables the planner saw (nearly) empty",
    "signal": "  `records_imported` receivers (followups: the calls for new events)",
    "record": "the chunk's counts and row errors on the batch",
}
# Counts: "writers" (once per import: the parallel writers, 1 when serial), "copied" (rows copied by `copy_known`).
COUNTS = ("writers", "copied")
# The steps inside "write" (their sum is at most the time of "write")
WRITER_STEPS = (
    "create_tables", "load", "reject_foreign_keys", "skip_unchanged", "collect_keys", "customers", "vehicles",
    "ownerships", "target", "remember", "copy_known", "statistics",
)


class Timer(Protocol):
    def phase(self, name: str) -> AbstractContextManager: ...

    def count(self, name: str, n: int) -> None: ...


class NoTimer:
    """The default timer: records nothing; `phase` returns one shared no-op context manager."""

    _nothing = contextlib.nullcontext()

    def phase(self, name: str) -> AbstractContextManager:
        return self._nothing

    def count(self, name: str, n: int) -> None:
        pass


NO_TIMER = NoTimer()


class PhaseRecorder:
    """A timer that sums, per phase, the seconds (`time.perf_counter`) and the calls; thread-safe.

    Phases of different threads overlap (the reading thread reads the next chunk while a writer writes this one),
    so the sum of all phases can exceed the import's wall-clock time; the phases of one thread cannot.
    """

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.counts: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - started
            with self._lock:
                self.seconds[name] += took
                self.calls[name] += 1

    def count(self, name: str, n: int) -> None:
        with self._lock:
            self.counts[name] += n
