"""Racing threads against the test database, as production runs (used by `renewals/tests/test_claim_race.py` and
`appointments/tests/test_race.py`).

On SQLite the racers run against a file copy of the test database, opened as in production (WAL, `BEGIN
IMMEDIATE`, a busy timeout: `aftercare/settings.py`): the in-memory test database shares one cache between
connections, whose table locks wait for nobody ("database table is locked"), which no deployment uses. On
PostgreSQL they use the test database itself (the test must be `transaction=True`)."""

import contextlib
import sqlite3
import threading

from django.db import connection, connections


@contextlib.contextmanager
def production_like_database(tmp_path):
    """SQLite: the threads' connections open a file copy of the test database; PostgreSQL: the test database."""
    if connection.vendor != "sqlite":
        yield
        return
    path = tmp_path / "race.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    connection.connection.backup(target)
    # in WAL already, as a deployed file is after its first connection (`migrate`): the racers' first connections
    # would otherwise switch it at once, and that switch takes the file without waiting ("database is locked")
    target.execute("PRAGMA journal_mode=WAL")
    target.close()
    settings = connections.settings["default"]
    memory = settings["NAME"]
    settings["NAME"] = str(path)  # new connections (each thread's) open the file; this thread's stays in memory
    try:
        yield
    finally:
        settings["NAME"] = memory


def in_thread(fn):
    """Run `fn` on a connection of its own (the racers' database) and return its result."""
    out = []

    def run():
        try:
            out.append(fn())
        finally:
            connection.close()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out[0]


def race(target, racers) -> list[str]:
    """Start `target(racer)` for every racer at once (a barrier), each on its own connection; their results, or
    `error: …` for anything raised."""
    barrier = threading.Barrier(len(racers))
    results: list[str] = []

    def run(racer):
        try:
            barrier.wait()
            results.append(target(racer))
        except Exception as exc:  # anything else is a failure the caller's assertion shows
            results.append(f"error: {exc!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(r,)) for r in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
