"""The import's public timing hook (`dms.importing.timing`): the phases it reports, and that it costs per chunk."""

import contextlib
import time

import pytest
from django.db import connection

from aftercare.dms.importing.timing import COUNTS, NO_TIMER, PHASES, WRITER_STEPS, PhaseRecorder
from aftercare.dms.services import import_file

from .helpers import RO_HEADER, ro_row, vin, write_csv
from .test_known_vehicles import HEADER, orders

pytestmark = pytest.mark.django_db


def test_it_reports_each_phase_of_an_import_with_its_time(tmp_path, store_a):
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, [ro_row(n, vin=vin(n)) for n in range(30)])
    timer = PhaseRecorder()
    started = time.perf_counter()
    batch = import_file(actor=None, store=store_a, kind="repair_orders", path=path, chunk_size=10, timer=timer)
    wall = time.perf_counter() - started
    assert batch.created_count == 30
    assert set(timer.seconds) <= set(PHASES) and set(timer.counts) <= set(COUNTS) and set(WRITER_STEPS) <= set(PHASES)
    expected = {"read", "wait", "transaction", "write", "signal", "record", "create_tables", "load",
                "reject_foreign_keys", "skip_unchanged", "collect_keys", "customers", "vehicles", "ownerships",
                "target"}
    assert expected <= set(timer.seconds)
    assert timer.calls["write"] == timer.calls["transaction"] == timer.calls["record"] == 3  # one a chunk
    assert timer.calls["read"] == 4  # three chunks, then the end of the file
    assert timer.counts["writers"] == 1 and timer.counts["copied"] == 0
    assert all(seconds >= 0 for seconds in timer.seconds.values())
    # nested phases sum within the one around them; the main thread's phases within the import's wall clock
    assert sum(timer.seconds[name] for name in WRITER_STEPS) <= timer.seconds["write"]
    assert timer.seconds["write"] + timer.seconds["signal"] <= timer.seconds["transaction"]
    assert timer.seconds["wait"] + timer.seconds["transaction"] + timer.seconds["record"] <= wall
    assert timer.seconds["transaction"] > 0


class CountingTimer:
    """Counts the timer's calls (the cost of the hook when nobody records: one call each)."""

    def __init__(self):
        self.calls = 0

    def phase(self, name):
        self.calls += 1
        return contextlib.nullcontext()

    def count(self, name, n):
        self.calls += 1


def test_it_calls_the_timer_per_chunk_not_per_row(tmp_path, store_a):
    calls = []
    for first, rows, chunk_size in ((0, 20, 10), (1000, 400, 200)):
        data = [ro_row(n, vin=vin(n)) for n in range(first, first + rows)]
        path = write_csv(tmp_path / f"ro{rows}.csv", RO_HEADER, data)
        timer = CountingTimer()
        batch = import_file(actor=None, store=store_a, kind="repair_orders", path=path, chunk_size=chunk_size,
                            timer=timer)
        assert batch.created_count == rows
        calls.append(timer.calls)
    assert calls[0] == calls[1] and calls[0] < 40  # two chunks each: the same calls for 20 rows and 400


def test_it_records_nothing_by_default():
    assert NO_TIMER.phase("write") is NO_TIMER.phase("read")  # one shared no-op context manager
    with NO_TIMER.phase("write"):
        NO_TIMER.count("copied", 3)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel writers run on PostgreSQL only")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_reports_the_phases_of_the_parallel_writers(tmp_path, store_a, settings):
    settings.IMPORT_WRITERS = 2
    timer = PhaseRecorder()
    batch = import_file(actor=None, store=store_a, kind="repair_orders",
                        path=write_csv(tmp_path / "ro.csv", HEADER, orders()), chunk_size=8, timer=timer)
    assert batch.created_count == 48
    assert timer.counts["writers"] == 2
    assert timer.counts["copied"] > 0 and timer.calls["copy_known"] >= 1  # new orders of known vehicles
    assert timer.calls["record"] == 6 and timer.calls["write"] >= 6  # each chunk's parts, written side by side
    assert {"statistics", "remember", "copy_known", "wait", "read"} <= set(timer.seconds)
    assert sum(timer.seconds[name] for name in WRITER_STEPS) <= timer.seconds["write"]
