"""The import pipeline: the file read and validated on a thread, each chunk written in its own transaction (by one
writer, or by parallel writers on PostgreSQL), and each chunk's counts and row errors recorded on the batch.

`dms.services.import_batch_run` marks the batch running, calls `run`, then finishes the batch (status, audit,
the `repair_orders_imported` signal). The phases are reported to the caller's timer (`importing.timing`).
"""

import contextlib
import gc
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    DataError,
    IntegrityError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from aftercare.customers import signals as customer_signals
from aftercare.customers.models import InsurancePolicy, RepairOrder
from aftercare.customers.services import customer_numbers_allocate
from aftercare.org.models import Store

from ..choices import ImportKind
from ..fields import KINDS
from ..models import ImportBatch, ImportRowError
from ..readers import ImportFileError, open_table
from .known_vehicles import KnownVehicles
from .staging import KEY_FIELD, Chunk, ChunkResult, RowError, flag_firsts
from .timing import NO_TIMER, Timer
from .validation import RowValidator
from .writer import ChunkWriter, TableGrowth

try:
    from psycopg.errors import DeadlockDetected, SerializationFailure
except ImportError:  # SQLite only
    DeadlockDetected = SerializationFailure = ()

MAX_STORED_ERRORS = settings.IMPORT_MAX_STORED_ERRORS
# (VIN, customer key) pairs an import remembers to copy their later repair orders directly (`KnownVehicles`;
# ~130 bytes each: 250,000 ≈ 33 MB)
KNOWN_VEHICLES_MAX = settings.IMPORT_KNOWN_VEHICLES_MAX
# While the reader thread runs, the GIL is handed over every 0.5 ms instead of every 5 ms (see `_pipelined`).
PIPELINE_SWITCH_INTERVAL = 0.0005

Progress = Callable[[int, int], None]
_END = object()


def run(batch: ImportBatch, *, path, chunk_size: int, progress: Progress | None = None, timer: Timer = NO_TIMER) -> int:
    """Read, validate and write the batch's file chunk by chunk, each chunk in its own transaction, and record each
    chunk's counts and row errors on the batch; returns how many row errors were stored (`MAX_STORED_ERRORS` at
    most). Raises `ImportFileError` when the file cannot be read or lacks a required column."""
    spec = KINDS[batch.kind]
    store = Store.objects.get(pk=batch.store_id)
    table = open_table(path, spec.aliases)
    with table, gc_relaxed():
        validator = RowValidator(table, spec)
        missing = validator.missing_required()
        if missing:
            raise ImportFileError(_("Missing required column(s): %(columns)s") % {"columns": ", ".join(missing)})
        batch.encoding = table.encoding
        batch.total_rows = table.total_estimate
        batch.save(update_fields=["encoding", "total_rows", "updated_at"])
        key_header = validator.header(KEY_FIELD[spec.kind])
        writers = _writer_count(batch, chunk_size)
        timer.count("writers", writers)
        stored_errors = 0
        if writers > 1:
            validator.precheck = _stored_rows_precheck(spec.kind, store)
            known = None
            if spec.kind == ImportKind.REPAIR_ORDERS:  # new orders of vehicles earlier chunks wrote: copied
                known = KnownVehicles(KNOWN_VEHICLES_MAX)
                validator.use_known(known, store.pk)
            written = _written_in_parallel(
                _timed(validator.chunks(chunk_size, parts=writers), timer, "read"), spec, store, validator.columns,
                key_header, batch.dry_run, writers, known, timer,
            )
        else:
            writer = ChunkWriter(spec, store, validator.columns, key_header, timer=timer)
            written = (
                (chunk, _write_rows(writer, chunk.rows, batch.dry_run, key_header))
                for chunk in _timed(_pipelined(_timed(validator.chunks(chunk_size), timer, "read")), timer, "wait")
            )
        for chunk, result in written:
            with timer.phase("record"):
                stored_errors = _record_chunk(batch, chunk, result, stored_errors)
            if progress:
                progress(batch.processed_rows, batch.total_rows)
    return stored_errors


def _timed(items: Iterable, timer: Timer, name: str) -> Iterator:
    """`items`, each `next` timed as the phase `name`; closing this closes `items`."""
    items = iter(items)
    try:
        while True:
            with timer.phase(name):
                item = next(items, _END)
            if item is _END:
                return
            yield item
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple = ()  # (the three thresholds, whether the import froze the objects alive before it)


@contextlib.contextmanager
def gc_relaxed() -> Iterator[None]:
    """Collect cyclic garbage rarely while an import runs (restored after the last running import ends).

    An import allocates millions of tuples and lists but makes almost no reference cycles; with the default
    thresholds the collector runs every 700 allocations and walks the young objects each time (~10 % of the
    validation's CPU). The objects alive before the import are frozen out of the collector's walks.
    """
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            # (thresholds, whether we froze: not if the process froze objects itself, e.g. before forking)
            _gc_saved = (*gc.get_threshold(), gc.get_freeze_count() == 0)
            if _gc_saved[-1]:
                gc.freeze()
            gc.set_threshold(100_000, 50, 1_000)
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved[:3])
                if _gc_saved[-1]:
                    gc.unfreeze()


def _writer_count(batch: ImportBatch, chunk_size: int) -> int:
    """How many chunk writers (database connections) an import uses.

    PostgreSQL runs one connection's statements on one CPU core; a big import writes each chunk's
    customer keys in `IMPORT_WRITERS` parts side by side. One writer on SQLite (one writer at a time),
    inside a caller's transaction (other connections would not see its rows), for a dry run (numbers
    reserved outside the chunk's transaction would be used up) and for a file of one chunk.
    """
    writers = settings.IMPORT_WRITERS
    if (
        writers < 2
        or connection.vendor != "postgresql"
        or connection.in_atomic_block
        or batch.dry_run
        or batch.total_rows <= chunk_size
    ):
        return 1
    return writers


def _stored_rows_precheck(kind: str, store: Store) -> Callable[[list[str]], dict[str, str]] | None:
    """For a big import into a store that has rows of `kind`: ask which rows are stored, and with which row hash,
    before they are validated (`RowValidator.precheck`), on the reading thread's own connection.

    Same file again: a stored row with the same row hash is counted and skipped (most of a daily
    export); the writers' own comparison still decides for the rest. None when nothing can match.
    """
    model = {ImportKind.REPAIR_ORDERS: RepairOrder, ImportKind.POLICIES: InsurancePolicy}.get(kind)
    if model is None or not model.objects.filter(store=store).exists():
        return None
    key = KEY_FIELD[kind]
    sql = (
        f"SELECT s.k, r.row_hash FROM unnest(%s::text[]) AS s(k) JOIN {model._meta.db_table} r "
        f"ON r.store_id = %s AND r.{key} = s.k"
    )

    def precheck(keys: list[str]) -> dict[str, str]:
        with connection.cursor() as cur:
            cur.execute(sql, [keys, store.pk])
            return dict(cur.fetchall())

    return precheck


def _written_in_parallel(
    chunks: Iterator[Chunk], spec, store: Store, columns: tuple[str, ...], key_header: str, dry_run: bool,
    writers: int, known: KnownVehicles | None = None, timer: Timer = NO_TIMER,
) -> Iterator[tuple[Chunk, ChunkResult]]:
    """Write each chunk's parts on their own threads and connections; yield (chunk, result) in file order.

    Part i of every chunk goes to thread i, so a customer key always meets the same writer; the next
    chunk starts when every part of this one is committed (as with one writer, a chunk sees the
    files the chunks before it made), before this one's counts are recorded. Each thread has its own
    `ChunkWriter` and connection and reserves customer numbers on one more
    (`customer_numbers_allocate(using=…)`). The reader reads on meanwhile.
    """
    language = translation.get_language()
    local = threading.local()
    growth = TableGrowth()

    def write(rows: list[tuple], direct: tuple[list, list] | None) -> ChunkResult:
        writer = getattr(local, "writer", None)
        if writer is None:
            if language:
                translation.activate(language)
            local.numbering = connections.create_connection(DEFAULT_DB_ALIAS)
            with local.numbering.cursor() as cur:
                # its reservations need not wait for the WAL flush: the chunk that uses the numbers commits
                # after them, and the WAL is flushed in order (if that commit survives a crash, they do too)
                cur.execute("SET synchronous_commit = off")
            writer = local.writer = ChunkWriter(
                spec, store, columns, key_header, numbers=partial(customer_numbers_allocate, using=local.numbering),
                growth=growth, known=known, timer=timer,
            )
        return _write_rows(writer, rows, dry_run, key_header, direct)

    def close() -> None:
        connection.close()
        if numbering := getattr(local, "numbering", None):
            numbering.close()

    def submit(chunk: Chunk) -> list:
        # a chunk that could not be split (see `RowValidator.chunks`) goes whole to the first writer
        parts = chunk.parts or [chunk.rows]
        directs = chunk.direct or [None] * len(parts)
        futures = [
            pool.submit(write, part, direct)
            for pool, part, direct in zip(pools[: len(parts)], parts, directs, strict=True)
        ]
        chunk.rows, chunk.parts, chunk.direct = [], [], []  # the writers hold them; the caller needs only the counts
        return futures

    pools = [ThreadPoolExecutor(1, thread_name_prefix=f"dms-writer-{i}") for i in range(writers)]
    ready = _timed(_pipelined(chunks), timer, "wait")
    try:
        chunk = next(ready, None)
        futures = submit(chunk) if chunk is not None else []
        while chunk is not None:
            result = ChunkResult.merged(future.result() for future in futures)
            # the next chunk goes to the writers before this one is recorded (the batch row's update and the
            # row errors would otherwise keep both writers waiting, ~20 ms a chunk)
            following = next(ready, None)
            if following is not None:
                futures = submit(following)
            yield chunk, result
            chunk = following
    finally:
        ready.close()  # stops the reading thread
        for pool in pools:
            pool.submit(close)
            pool.shutdown(wait=True)


def _write_rows(
    writer: ChunkWriter, rows: list[tuple], dry_run: bool, key_header: str, direct: tuple[list, list] | None = None
) -> ChunkResult:
    """`_write_rows_once`, again (up to 3 times) when PostgreSQL broke a deadlock between parallel writers."""
    for attempt in range(3):
        try:
            return _write_rows_once(writer, rows, dry_run, key_header, direct)
        except OperationalError as exc:
            if attempt == 2 or not isinstance(exc.__cause__, (DeadlockDetected, SerializationFailure)):
                raise
    raise AssertionError("unreachable")


def _write_rows_once(
    writer: ChunkWriter, rows: list[tuple], dry_run: bool, key_header: str, direct: tuple[list, list] | None = None
) -> ChunkResult:
    """Write rows in one transaction; if the database refuses one, split and retry to isolate the bad row.

    `direct` (`Chunk.direct`: rows copied without a search) that the database refuses are written again with the
    others, searched: a row that another import stored meanwhile is then updated, not refused.
    """
    if direct and direct[0]:
        try:
            return _write_rows_attempt(writer, rows, dry_run, direct)
        except (IntegrityError, DataError):
            rows = flag_firsts(rows + direct[0], writer.columns)
    if not rows:
        return ChunkResult()
    try:
        return _write_rows_attempt(writer, rows, dry_run)
    except (IntegrityError, DataError) as exc:
        if len(rows) == 1:
            reason = _("The database refused this row: %(error)s") % {"error": str(exc).splitlines()[0][:200]}
            return ChunkResult(errors=[RowError(rows[0][0], key_header, reason)])
    middle = len(rows) // 2
    return ChunkResult.merged(
        _write_rows(writer, flag_firsts(half, writer.columns), dry_run, key_header)
        for half in (rows[:middle], rows[middle:])
    )


def _write_rows_attempt(
    writer: ChunkWriter, rows: list[tuple], dry_run: bool, direct: tuple[list, list] | None = None
) -> ChunkResult:
    """One transaction: the rows, the follow-up calls for the new events; the writer remembers after the commit."""
    timer = writer.timer
    with timer.phase("transaction"):
        with transaction.atomic():
            with timer.phase("write"):
                result = writer.write(rows, direct)
            if dry_run:
                transaction.set_rollback(True)
            else:  # the apps above answer in the same transaction as the rows (followups: calls for the new events)
                with timer.phase("signal"):
                    customer_signals.records_imported.send(
                        sender=ImportBatch, store_id=writer.store_id, kind=writer.kind
                    )
        if not dry_run:  # only committed vehicles may be remembered
            writer.remember()
    return result


def _record_chunk(batch: ImportBatch, chunk: Chunk, result: ChunkResult, stored: int) -> int:
    errors = chunk.errors + result.errors
    rejected = chunk.rejected + len({e.row for e in result.errors})
    room = max(MAX_STORED_ERRORS - stored, 0)
    if errors and room:
        ImportRowError.objects.bulk_create(
            ImportRowError(batch=batch, row=e.row, column=e.column[:50], reason=e.reason[:255], raw=e.raw)
            for e in sorted(errors, key=lambda e: e.row)[:room]
        )
    batch.processed_rows += chunk.read
    batch.total_rows = max(batch.total_rows, batch.processed_rows)
    batch.created_count += result.created
    batch.updated_count += result.updated
    batch.unchanged_count += result.unchanged + chunk.unchanged
    batch.rejected_count += rejected
    ImportBatch.objects.filter(pk=batch.pk).update(
        processed_rows=batch.processed_rows,
        total_rows=batch.total_rows,
        created_count=batch.created_count,
        updated_count=batch.updated_count,
        unchanged_count=batch.unchanged_count,
        rejected_count=batch.rejected_count,
        updated_at=timezone.now(),
    )
    return stored + min(len(errors), room)


def _pipelined(items: Iterator, depth: int = 1) -> Iterator:
    """Run `items` (reading + validating, pure Python) in a thread while the caller writes to the database.

    The thread starts on the next item only when fewer than `depth` wait to be taken: while the caller writes
    item N, the thread builds item N + 1 and then waits (with a queue alone it would also build N + 2 and hold
    it: one more chunk of rows in memory, and a chunk split with what `KnownVehicles` knew one chunk earlier).
    """
    channel: queue.Queue = queue.Queue()
    room = threading.Semaphore(depth)
    stop = threading.Event()
    language = translation.get_language()

    def put(message) -> bool:
        while not stop.is_set():
            if room.acquire(timeout=0.2):
                channel.put(message)
                return True
        return False

    def produce() -> None:
        if language:
            translation.activate(language)
        try:
            while True:
                while not room.acquire(timeout=0.2):  # wait for room before building the next item
                    if stop.is_set():
                        return
                room.release()
                item = next(items, _END)
                if item is _END:
                    break
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(("error", exc))
        finally:
            connections.close_all()  # this thread's own, if it asked the database (`_stored_rows_precheck`)

    # The writing thread waits for the database most of the time and, each time an answer comes, must
    # take the GIL back from the reading thread, which is busy in Python and yields it only every
    # `sys.getswitchinterval()` (5 ms by default): dozens of waits per chunk (COPY, each statement)
    # that made the database side slower than the work itself. A shorter interval while both run.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, PIPELINE_SWITCH_INTERVAL))
    worker = threading.Thread(target=produce, name="dms-reader", daemon=True)
    worker.start()
    try:
        while True:
            tag, value = channel.get()
            room.release()
            if tag == "item":
                yield value
            elif tag == "end":
                return
            else:
                raise value
    finally:
        stop.set()
        worker.join(timeout=10)
        sys.setswitchinterval(interval)
