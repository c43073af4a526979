"""The year report page (`/reports/year/`): pick a store in scope and a year, download the PDF or the XLSX
appendix, served from the report archive (`YearReportFile`, built when missing or stale); the archived reports of
the stores in scope with the time each was built, and "Regenerate" (POST `/reports/year/regenerate/`, own stores).
`report.archive_all` (the managers who read every department's reports). Another store's code answers 404."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftercare.core.choices import AuditAction
from aftercare.core.exports import XLSX_CONTENT_TYPE
from aftercare.core.services import audit_event_record
from aftercare.org.calendar import business_date
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import current_store_ids, own_store_ids, visible_store_ids

from ..mail_models import YearReportFile, YearReportFormat
from .forms import YearReportForm
from .services import year_report_archived, year_report_fresh, year_report_regenerate

ARCHIVE_LIMIT = 100


@login_required
def page(request):
    require_perm(request.user, Perm.REPORT_ARCHIVE_ALL)
    store_ids = current_store_ids(request.user, request)
    stores = list(Store.objects.filter(pk__in=store_ids).order_by("code"))
    fmt = request.GET.get("format", "")
    if fmt in YearReportFormat.values and request.GET.get("store"):
        store = Store.objects.filter(code=request.GET["store"],
                                     pk__in=visible_store_ids(request.user)).first()
        if store is None:
            raise Http404
        form = YearReportForm(request.GET, stores=[store])
        if form.is_valid():
            return download(request, store, form.cleaned_data["year"], fmt)
    else:
        form = YearReportForm(request.GET or None, stores=stores,
                              initial={"year": business_date().year - (business_date().month < 3)})
    return render(request, "reports/yearly/page.html", _context(request, form, stores, store_ids),
                  status=400 if form.is_bound and form.errors else 200)


def _context(request, form, stores, store_ids) -> dict:
    archive = list(YearReportFile.objects.filter(store_id__in=store_ids).select_related("store")
                   .order_by("-year", "store__code", "language", "fmt")[:ARCHIVE_LIMIT])
    own = own_store_ids(request.user)
    for row in archive:
        row.fresh = year_report_fresh(row)
        row.may_regenerate = row.store_id in own
    return {"form": form, "stores": stores, "archive": archive}


def file_response(row: YearReportFile) -> HttpResponse:
    """The archived file as a download (read whole: a year report is a few hundred KB)."""
    with row.file.open("rb") as stored:
        data = stored.read()
    response = HttpResponse(data, content_type="application/pdf" if row.fmt == "pdf" else XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{row.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Report-Built-At"] = row.built_at.isoformat()
    return response


def download(request, store, year: int, fmt: str) -> HttpResponse:
    row = year_report_archived(actor=request.user, store=store, year=year, fmt=fmt)
    audit_event_record(actor=request.user, action=AuditAction.EXPORT, obj=store,
                       detail={"report": "year", "year": year, "format": fmt})
    return file_response(row)


@login_required
@require_POST
def regenerate(request):
    """Build a store's year report again (one format, or both) and replace the archived file; own stores only."""
    require_perm(request.user, Perm.REPORT_ARCHIVE_ALL)
    store = Store.objects.filter(code=request.POST.get("store", "")[:30], pk__in=own_store_ids(request.user)).first()
    if store is None:
        raise Http404
    form = YearReportForm(request.POST, stores=[store])
    fmt = request.POST.get("format", "")
    language = request.POST.get("language", "")
    if fmt and fmt not in YearReportFormat.values:
        form.add_error(None, _("Unknown format: give pdf or xlsx."))
    if language and language not in dict(settings.LANGUAGES):
        form.add_error(None, _("Unknown language."))
    if not form.is_valid():
        store_ids = current_store_ids(request.user, request)
        stores = list(Store.objects.filter(pk__in=store_ids).order_by("code"))
        return render(request, "reports/yearly/page.html", _context(request, form, stores, store_ids), status=400)
    for one in [fmt] if fmt else YearReportFormat.values:
        year_report_regenerate(actor=request.user, store=store, year=form.cleaned_data["year"], fmt=one,
                               language=language or None)
    messages.success(request, _("Year report %(year)s of %(store)s regenerated.") % {
        "year": form.cleaned_data["year"], "store": store.code})
    return redirect("reports:year")
