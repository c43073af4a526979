"""Writes of the DMS import: record a batch, run it (chunk by chunk: `importing.pipeline`), enqueue it for the
worker."""

import datetime as dt
import logging
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.org.models import Store

from . import signals
from .choices import ImportKind, ImportStatus
from .importing import pipeline
from .importing.pipeline import Progress
from .importing.timing import NO_TIMER, Timer
from .models import ImportBatch
from .readers import ImportFileError, count_rows

CHUNK_SIZE = settings.IMPORT_CHUNK_SIZE
# an upload of at most this many rows is imported in the request; more go to the task worker (rows, not bytes: a
# small XLSX can hold a million rows)
SYNC_MAX_ROWS = settings.IMPORT_SYNC_MAX_ROWS

logger = logging.getLogger(__name__)


def import_batch_create(
    *, actor, store: Store, kind: str, filename: str, upload=None, dry_run: bool = False
) -> ImportBatch:
    """Record an import of `kind` into `store`; with `upload` the file is kept for the worker."""
    batch = ImportBatch(
        store=store,
        kind=ImportKind(kind),
        filename=os.path.basename(filename)[:255],
        created_by=actor if actor is not None and actor.is_authenticated else None,
        dry_run=dry_run,
    )
    batch.full_clean(exclude=["file"])
    if upload is not None:
        suffix = Path(filename).suffix.lower()[:10]
        batch.file.save(f"{uuid.uuid4().hex}{suffix}", upload, save=False)
    batch.save()
    return batch


def import_batch_start(*, batch: ImportBatch) -> ImportBatch:
    """Run a web/API upload: in this request when it has at most `SYNC_MAX_ROWS` rows, else on the task worker
    (`db_worker`). The rows are counted in a cheap pass that stops past the limit; a file that cannot even be
    counted is run here, so that its error is answered at once."""
    if batch.file:
        try:
            small = count_rows(batch.file.path, SYNC_MAX_ROWS) <= SYNC_MAX_ROWS
        except ImportFileError:
            small = True
        if small:
            try:
                import_batch_run(batch=batch)
            except ImportFileError:
                pass  # recorded on the batch (status failed, error)
            return batch
    from .tasks import import_batch_process

    batch_id = batch.pk
    transaction.on_commit(lambda: import_batch_process.enqueue(batch_id))
    return batch


def _fail(batch: ImportBatch, message: str) -> None:
    batch.status = ImportStatus.FAILED
    batch.error = message[:2000]
    batch.finished_at = timezone.now()
    try:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=batch.status, error=batch.error, finished_at=batch.finished_at, updated_at=timezone.now()
        )
    except Exception:  # noqa: BLE001 - e.g. inside a broken transaction: the stale-batch sweep fails it later
        logger.exception("DMS import #%s: could not record the failure", batch.pk)


def import_batches_fail_stale(*, now=None) -> int:
    """Fail the batches left `running` with no progress for `IMPORT_STALE_AFTER_SECONDS` (a worker killed midway).

    A running import records its progress (`updated_at`) after every chunk, so a batch silent for that long has
    no process behind it. Run at the start of every import and by `manage.py import_fail_stale`; returns how
    many batches it failed (each with an audit event).
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.IMPORT_STALE_AFTER_SECONDS)
    stale = ImportBatch.objects.filter(status=ImportStatus.RUNNING, updated_at__lt=cutoff)
    failed = 0
    for batch in stale.only("pk", "store_id"):
        message = _("The import stopped without finishing (its process ended); rows imported before are kept. "
                    "Upload the file again to import the rest.")
        with transaction.atomic():
            if not ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.RUNNING, updated_at__lt=cutoff).update(
                status=ImportStatus.FAILED, error=message, finished_at=now, updated_at=now
            ):
                continue
            audit_event_record(
                actor=None, action=AuditAction.UPDATE, obj=batch, changed_fields=["status", "error"],
                detail={"reason": "stale"},
            )
        failed += 1
    return failed


def import_batch_run(
    *, batch: ImportBatch, path=None, progress: Progress | None = None, chunk_size: int | None = None,
    timer: Timer = NO_TIMER,
) -> ImportBatch:
    """Import the batch's file. Each chunk is its own transaction: a later failure keeps earlier chunks.

    Raises `ImportFileError` (after recording it on the batch) when the file cannot be read. Any other failure
    also ends the batch `failed`, with a message that shows no exception text (it may name server paths), and
    is raised. A dry run validates and writes every chunk, then rolls it back: only the batch and its
    row errors are kept. `timer` (`importing.timing`) is told how long each phase of each chunk took.
    """
    import_batches_fail_stale()
    batch.status = ImportStatus.RUNNING
    batch.started_at = timezone.now()
    batch.save(update_fields=["status", "started_at", "updated_at"])
    try:
        return _run(batch, path, progress, chunk_size, timer)
    except ImportFileError as exc:
        _fail(batch, str(exc))
        raise
    except BaseException:
        logger.exception("DMS import #%s failed", batch.pk)
        _fail(batch, _("The import stopped on an unexpected error (import #%(id)s); rows imported before it are "
                       "kept. Tell your administrator.") % {"id": batch.pk})
        raise


def _run(batch: ImportBatch, path, progress: Progress | None, chunk_size: int | None, timer: Timer) -> ImportBatch:
    stored_errors = pipeline.run(
        batch, path=path or batch.file.path, chunk_size=chunk_size or CHUNK_SIZE, progress=progress, timer=timer
    )
    if not batch.dry_run and batch.kind == ImportKind.REPAIR_ORDERS:
        ImportBatch.objects.filter(pk=batch.pk).update(updated_at=timezone.now())  # alive (`import_batches_fail_stale`)
        # the apps above answer once per import (complaints: a comeback gets a CS call, first-time fix)
        signals.repair_orders_imported.send(sender=ImportBatch, store_id=batch.store_id, batch=batch)
    if not batch.dry_run and batch.kind == ImportKind.POLICIES:
        ImportBatch.objects.filter(pk=batch.pk).update(updated_at=timezone.now())
        # renewals: cases of the imported policies, and the renewals among them close their cases
        signals.policies_imported.send(sender=ImportBatch, store_id=batch.store_id, batch=batch)
    if stored_errors >= pipeline.MAX_STORED_ERRORS:
        batch.error = _("Only the first %(n)s row errors are listed.") % {"n": pipeline.MAX_STORED_ERRORS}
    batch.status = ImportStatus.DONE
    batch.total_rows = batch.processed_rows
    batch.finished_at = timezone.now()
    batch.save()
    if not batch.dry_run:
        audit_event_record(
            actor=batch.created_by,
            action=AuditAction.IMPORT,
            obj=batch,
            changed_fields=[],
            detail={
                "kind": batch.kind,
                "rows": batch.total_rows,
                "created": batch.created_count,
                "updated": batch.updated_count,
                "unchanged": batch.unchanged_count,
                "rejected": batch.rejected_count,
                "encoding": batch.encoding,
            },
        )
    return batch


def import_file(
    *, actor, store: Store, kind: str, path, dry_run: bool = False, progress: Progress | None = None,
    chunk_size: int | None = None, timer: Timer = NO_TIMER,
) -> ImportBatch:
    """Import a file from disk (the management command): create the batch and run it here."""
    batch = import_batch_create(actor=actor, store=store, kind=kind, filename=str(path), dry_run=dry_run)
    return import_batch_run(batch=batch, path=path, progress=progress, chunk_size=chunk_size, timer=timer)



def import_error_report_record(*, actor, batch: ImportBatch, fmt: str, rows: int, masked: bool) -> None:
    """Audit one download (or API read) of an import's error report: who, which import, format, rows, masked."""
    audit_event_record(
        actor=actor,
        action=AuditAction.EXPORT,
        obj=batch,
        detail={"report": "import_errors", "format": fmt, "rows": rows, "phones_masked": masked},
    )
