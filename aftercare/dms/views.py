"""Import pages: upload with progress, past imports, error reports. Thin: parse, call, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from aftercare.core.exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, csv_lines, xlsx_bytes
from aftercare.core.forms import bound_data
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import current_store_ids, own_store_ids, store_for_write

from . import reports, selectors, services
from .choices import ImportStatus
from .fields import KINDS
from .forms import ImportUploadForm

PAGE_SIZE = 25
ERROR_PREVIEW = 50


@login_required
def import_index(request):
    """The upload form and the list of past imports."""
    require_perm(request.user, Perm.DMS_IMPORT)
    store_ids = own_store_ids(request.user)
    form = ImportUploadForm(**bound_data(request), user_store_ids=store_ids)
    if request.method == "POST" and form.is_valid():
        store = store_for_write(request.user, form.cleaned_data["store"].pk)
        upload = form.cleaned_data["file"]
        batch = services.import_batch_create(
            actor=request.user,
            store=store,
            kind=form.cleaned_data["kind"],
            filename=upload.name,
            upload=upload,
            dry_run=form.cleaned_data["dry_run"],
        )
        services.import_batch_start(batch=batch)
        if batch.status == ImportStatus.FAILED:  # the file could not be read: say why on the form
            form.add_error("file", _("Import #%(id)s failed: %(error)s") % {"id": batch.pk, "error": batch.error})
        else:
            messages.info(request, _("Import #%(id)s received.") % {"id": batch.pk})
            return redirect("dms:detail", pk=batch.pk)
    batches = selectors.import_batch_list(user=request.user, store_ids=current_store_ids(request.user, request))
    page = Paginator(batches, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "dms/import_index.html", {"form": form, "page": page, "kinds": KINDS})


@login_required
def import_detail(request, pk: int):
    """One import: progress (polled with HTMX while it runs), counts and the first rejected rows."""
    batch = selectors.import_batch_get(user=request.user, pk=pk)
    errors = list(selectors.import_row_error_list(user=request.user, batch=batch)[:ERROR_PREVIEW])
    if not reports.may_see_phones(request.user):
        for error in errors:
            error.reason = reports.mask_phones(error.reason)
    return render(request, "dms/import_detail.html", {"batch": batch, "errors": errors, "preview": ERROR_PREVIEW})


@login_required
def import_progress(request, pk: int):
    """The progress fragment; stops polling (HTTP 286) once the import has finished."""
    batch = selectors.import_batch_get(user=request.user, pk=pk)
    response = render(request, "dms/_progress.html", {"batch": batch})
    if request.htmx and batch.status in (ImportStatus.DONE, ImportStatus.FAILED):
        response.status_code = 286  # htmx: stop polling
    return response


@login_required
def import_errors(request, pk: int, fmt: str):
    """The error report of an import as CSV (UTF-8 with BOM, opens in Excel) or XLSX; audited, phones masked for
    roles that may not reveal them."""
    if fmt not in ("csv", "xlsx"):
        raise Http404
    batch = selectors.import_batch_get(user=request.user, pk=pk)
    errors = selectors.import_row_error_list(user=request.user, batch=batch)
    rows = reports.error_report_rows(
        errors.values_list("row", "column", "reason", "raw").iterator(chunk_size=2000), user=request.user
    )
    header = reports.error_report_header()
    masked = not reports.may_see_phones(request.user)
    if fmt == "csv":
        services.import_error_report_record(
            actor=request.user, batch=batch, fmt=fmt, rows=errors.count(), masked=masked
        )
        response = StreamingHttpResponse(csv_lines(header, rows), content_type=CSV_CONTENT_TYPE)
    else:
        content, n = xlsx_bytes(_("Errors"), header, rows)
        services.import_error_report_record(actor=request.user, batch=batch, fmt=fmt, rows=n, masked=masked)
        response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-errors.{fmt}"'
    return response
