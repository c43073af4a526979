"""The year report page (`/reports/year/`): pick a store in scope and a year, download the PDF or the XLSX
appendix. Generated on demand (nothing stored); `report.archive_all` (the managers who read every department's
reports). Another store's code answers 404."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from aftercare.core.choices import AuditAction
from aftercare.core.exports import XLSX_CONTENT_TYPE
from aftercare.core.services import audit_event_record
from aftercare.org.calendar import business_date
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import current_store_ids, visible_store_ids

from .forms import YearReportForm
from .services import year_report_file


@login_required
def page(request):
    require_perm(request.user, Perm.REPORT_ARCHIVE_ALL)
    stores = list(Store.objects.filter(pk__in=current_store_ids(request.user, request)).order_by("code"))
    fmt = request.GET.get("format", "")
    if fmt in ("pdf", "xlsx") and request.GET.get("store"):
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
    return render(request, "reports/yearly/page.html", {"form": form, "stores": stores},
                  status=400 if form.is_bound and form.errors else 200)


def download(request, store, year: int, fmt: str) -> HttpResponse:
    data, name = year_report_file(store=store, year=year, fmt=fmt)
    audit_event_record(actor=request.user, action=AuditAction.EXPORT, obj=store,
                       detail={"report": "year", "year": year, "format": fmt})
    response = HttpResponse(data, content_type="application/pdf" if fmt == "pdf" else XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
