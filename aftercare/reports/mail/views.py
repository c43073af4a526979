"""The report archive (`/reports/archive/`): the reports of the stores in scope by store, department and period,
their PDF and XLSX, the deliveries, re-send with a reason and generate-now. Thin: `selectors` read, `services`
write."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from aftercare.core.choices import AuditAction
from aftercare.core.exports import XLSX_CONTENT_TYPE
from aftercare.core.forms import apply_errors
from aftercare.core.services import audit_event_record
from aftercare.org.models import Department, Store
from aftercare.org.permissions import Perm, has_perm, require_perm
from aftercare.org.scoping import current_store_ids, own_store_ids

from . import selectors, services
from .forms import STORE_MANAGER, ArchiveFilterForm, GenerateForm, ResendForm

LIST_LIMIT = 200


def _choices(user, request):
    ids = current_store_ids(user, request)
    stores = list(Store.objects.filter(pk__in=ids).order_by("code"))
    departments = list(Department.objects.filter(store_id__in=ids).select_related("store")
                       .order_by("store__code", "kind"))
    return stores, departments


@login_required
def archive(request):
    """Reports of the stores in scope, newest period first (a designee or supervisor: their department's)."""
    require_perm(request.user, Perm.REPORT_ARCHIVE)
    stores, departments = _choices(request.user, request)
    if not has_perm(request.user, Perm.REPORT_ARCHIVE_ALL):
        departments = []
    form = ArchiveFilterForm(request.GET or None, stores=stores, departments=departments)
    store_id = department = kind = None
    if form.is_bound and form.is_valid():
        store_id, department, kind = (form.cleaned_data[k] for k in ("store", "department", "kind"))
    qs = selectors.report_list(
        user=request.user, store_ids=[store_id] if store_id else current_store_ids(request.user, request),
        department_id=int(department) if department and department != STORE_MANAGER else None,
        store_manager=department == STORE_MANAGER, kind=kind or "",
    )
    rows = list(qs[:LIST_LIMIT + 1])
    may_send = has_perm(request.user, Perm.REPORT_SEND)
    generate = None
    if may_send:
        own = own_store_ids(request.user)
        generate = GenerateForm(stores=[s for s in stores if s.pk in own],
                                departments=[d for d in departments if d.store_id in own])
    return render(request, "reports/mail/archive.html", {
        "form": form, "rows": rows[:LIST_LIMIT], "more": len(rows) > LIST_LIMIT, "may_send": may_send,
        "generate_form": generate, "may_year": has_perm(request.user, Perm.REPORT_ARCHIVE_ALL),
    })


@login_required
def report_detail(request, report_id: int):
    """One report: its figures, files, deliveries and (for `report.send`) the re-send form."""
    require_perm(request.user, Perm.REPORT_ARCHIVE)
    report = selectors.report_get(user=request.user, pk=report_id)
    may_send = has_perm(request.user, Perm.REPORT_SEND) and report.store_id in own_store_ids(request.user)
    return render(request, "reports/mail/detail.html", {
        "report": report, "deliveries": list(report.deliveries.all()), "may_send": may_send,
        "resend_form": ResendForm() if may_send else None,
        "recipients": services.report_recipients(report) if may_send else [],
    })


def report_download(user, report_id: int, fmt: str) -> FileResponse:
    """The archived report's PDF or XLSX as a download, audited as an export (this page and the API); another
    store's report, or a format it was not rendered in, answers 404."""
    require_perm(user, Perm.REPORT_ARCHIVE)
    report = selectors.report_get(user=user, pk=report_id)
    stored = report.pdf if fmt == "pdf" else report.xlsx
    if not stored:
        raise Http404
    audit_event_record(actor=user, action=AuditAction.EXPORT, obj=report, detail={"format": fmt})
    name = f"report-{report.kind}-{report.period_start:%Y%m%d}-{report.pk}.{fmt}"
    return FileResponse(stored.open("rb"), as_attachment=True, filename=name,
                        content_type="application/pdf" if fmt == "pdf" else XLSX_CONTENT_TYPE)


@login_required
def report_file(request, report_id: int, fmt: str):
    """The report's PDF or XLSX, as a download; audited (nosniff: SecurityMiddleware)."""
    return report_download(request.user, report_id, fmt)


@login_required
@require_POST
def report_resend(request, report_id: int):
    """Send a report again to its recipients, with a reason (`report.send`, own stores)."""
    require_perm(request.user, Perm.REPORT_SEND)
    report = selectors.report_get(user=request.user, pk=report_id)
    if report.store_id not in own_store_ids(request.user):
        raise Http404
    form = ResendForm(request.POST)
    if form.is_valid():
        try:
            rows = services.report_resend(actor=request.user, report=report, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                ngettext("Sent again to %(n)s recipient.", "Sent again to %(n)s recipients.", len(rows))
                % {"n": len(rows)},
            )
            return redirect("reports:mail_report", report_id=report.pk)
    return render(request, "reports/mail/detail.html", {
        "report": report, "deliveries": list(report.deliveries.all()), "may_send": True, "resend_form": form,
        "recipients": services.report_recipients(report),
    }, status=400)


@login_required
@require_POST
def report_generate(request):
    """Generate now the report of a past period (`report.send`, own stores); it is not mailed."""
    require_perm(request.user, Perm.REPORT_SEND)
    stores, departments = _choices(request.user, request)
    own = own_store_ids(request.user)
    form = GenerateForm(request.POST, stores=[s for s in stores if s.pk in own],
                        departments=[d for d in departments if d.store_id in own])
    if form.is_valid():
        data = form.cleaned_data
        department_id = int(data["department"]) if data["department"] else None
        try:
            report = services.report_generate_now(actor=request.user, store_id=data["store"],
                                                  department_id=department_id, kind=data["kind"], day=data["day"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Report generated."))
            return redirect("reports:mail_report", report_id=report.pk)
    for error in [*form.non_field_errors(), *[e for f in form for e in f.errors]]:
        messages.error(request, error)
    return redirect(reverse("reports:mail_archive"))
