"""Import pages: upload with progress, past imports, error reports. Thin: parse, call, render."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from aftercare.core.scoping import current_store_ids, own_store_ids, store_for_write
from aftercare.org.permissions import Perm, require_perm

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
    form = ImportUploadForm(request.POST or None, request.FILES or None, user_store_ids=store_ids)
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
        messages.info(request, _("Import #%(id)s received.") % {"id": batch.pk})
        return redirect("dms:detail", pk=batch.pk)
    batches = selectors.import_batch_list(user=request.user, store_ids=current_store_ids(request.user, request))
    page = Paginator(batches, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "dms/import_index.html", {"form": form, "page": page, "kinds": KINDS})


@login_required
def import_detail(request, pk: int):
    """One import: progress (polled with HTMX while it runs), counts and the first rejected rows."""
    batch = selectors.import_batch_get(user=request.user, pk=pk)
    errors = list(selectors.import_row_errors(user=request.user, batch=batch)[:ERROR_PREVIEW])
    return render(request, "dms/import_detail.html", {"batch": batch, "errors": errors, "preview": ERROR_PREVIEW})


@login_required
def import_progress(request, pk: int):
    """The progress fragment; stops polling (HTTP 286) once the import has finished."""
    batch = selectors.import_batch_get(user=request.user, pk=pk)
    response = render(request, "dms/_progress.html", {"batch": batch})
    if request.htmx and batch.status in (ImportStatus.DONE, ImportStatus.FAILED):
        response.status_code = 286  # htmx: stop polling
    return response


class _Echo:
    def write(self, value):
        return value


@login_required
def import_errors(request, pk: int, fmt: str):
    """The error report of an import as CSV (UTF-8 with BOM, opens in Excel) or XLSX."""
    batch = selectors.import_batch_get(user=request.user, pk=pk)
    rows = selectors.import_row_errors(user=request.user, batch=batch).values_list("row", "column", "reason", "raw")
    header = [_("Row"), _("Column"), _("Reason"), _("Row as in the file")]
    filename = f"import-{batch.pk}-errors.{fmt}"
    if fmt == "csv":
        writer = csv.writer(_Echo())

        def lines():
            yield "\ufeff" + writer.writerow(header)
            for row in rows.iterator(chunk_size=2000):
                yield writer.writerow(row)

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = HttpResponse(
            reports.error_report_xlsx(header, rows.iterator(chunk_size=2000)),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
