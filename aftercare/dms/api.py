"""Import API: upload a DMS export (multipart), read imports and their rejected rows."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile

from aftercare.core.api import ERRORS, PathId, require_valid_form
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import store_for_write

from . import reports, selectors, services
from .choices import ImportKind, ImportStatus
from .forms import ImportUploadForm

router = Router(tags=["dms"])
MAX_ERRORS_OFFSET = 100_000_000  # more than any import stores (IMPORT_MAX_STORED_ERRORS)


class ImportBatchOut(Schema):
    id: int
    store: str
    kind: ImportKind
    filename: str
    status: ImportStatus
    dry_run: bool
    encoding: str
    total_rows: int
    processed_rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    error: str
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @staticmethod
    def from_batch(batch) -> "ImportBatchOut":
        return ImportBatchOut(
            id=batch.pk,
            store=batch.store.code,
            kind=batch.kind,
            filename=batch.filename,
            status=batch.status,
            dry_run=batch.dry_run,
            encoding=batch.encoding,
            total_rows=batch.total_rows,
            processed_rows=batch.processed_rows,
            created=batch.created_count,
            updated=batch.updated_count,
            unchanged=batch.unchanged_count,
            rejected=batch.rejected_count,
            error=batch.error,
            created_at=batch.created_at,
            finished_at=batch.finished_at,
        )


class RowErrorOut(Schema):
    row: int
    column: str
    reason: str


@router.post("/", response={200: ImportBatchOut, **ERRORS}, summary="Import a DMS export")
def import_upload(
    request,
    file: File[UploadedFile],
    store: Form[str],
    kind: Form[ImportKind],
    dry_run: Form[bool] = False,
):
    """Upload a CSV/XLSX export for a store (by code). Small files are imported before the answer
    (status `done`); larger ones are queued (status `pending`): poll `GET /api/imports/{id}`."""
    require_perm(request.user, Perm.DMS_IMPORT)
    store_obj = get_object_or_404(Store, code=store)
    store_obj = store_for_write(request.user, store_obj.pk)
    form = ImportUploadForm(
        data={"store": store_obj.pk, "kind": kind, "dry_run": dry_run},
        files={"file": file},
        user_store_ids={store_obj.pk},
    )
    require_valid_form(form)
    batch = services.import_batch_create(
        actor=request.user, store=store_obj, kind=kind, filename=file.name, upload=file, dry_run=dry_run
    )
    services.import_batch_start(batch=batch)
    batch.refresh_from_db()
    if batch.status == ImportStatus.FAILED:
        raise ValidationError({"file": [batch.error or _("The file could not be imported.")]})
    return ImportBatchOut.from_batch(batch)


@router.get("/", response={200: list[ImportBatchOut], **ERRORS}, summary="Past imports")
def import_list(request, limit: int = 50):
    batches = selectors.import_batch_list(user=request.user)[: max(1, min(limit, 500))]
    return [ImportBatchOut.from_batch(b) for b in batches]


@router.get("/{batch_id}", response={200: ImportBatchOut, **ERRORS}, summary="One import")
def import_get(request, batch_id: PathId):
    return ImportBatchOut.from_batch(selectors.import_batch_get(user=request.user, pk=batch_id))


class ErrorsQuery(Schema):
    offset: int = Field(0, ge=0, le=MAX_ERRORS_OFFSET)
    limit: int = Field(1000, ge=1, le=10_000)


@router.get("/{batch_id}/errors", response={200: list[RowErrorOut], **ERRORS}, summary="Rejected rows of an import")
def import_errors(request, batch_id: PathId, query: Query[ErrorsQuery]):
    """`offset` (0 to 100,000,000) and `limit` (1 to 10,000) page through the rejected rows. Phones in the reasons
    are masked for roles that may not reveal them; each read is audited as an export."""
    batch = selectors.import_batch_get(user=request.user, pk=batch_id)
    rows = selectors.import_row_error_list(user=request.user, batch=batch)
    page = list(rows.values_list("row", "column", "reason", "raw")[query.offset : query.offset + query.limit])
    out = [
        RowErrorOut(row=row, column=column, reason=reason)
        for row, column, reason, _raw in reports.error_report_rows(page, user=request.user)
    ]
    services.import_error_report_record(
        actor=request.user, batch=batch, fmt="api", rows=len(out), masked=not reports.may_see_phones(request.user)
    )
    return out
