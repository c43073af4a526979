"""Parts-quality pages (server-rendered): the reports (list, record, detail / complete a draft), the codes, and the
batch-defect alarms. Thin: parse, check the permission, one selector or service, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from aftercare.core.charts import Series as ChartSeries
from aftercare.core.charts import line_chart
from aftercare.core.exports import XLSX_CONTENT_TYPE, attachment_header
from aftercare.core.forms import apply_errors, bound_data
from aftercare.core.htmx import render_partial_or_page
from aftercare.customers.selectors import repair_order_get
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, has_perm, require_perm
from aftercare.org.scoping import own_store_ids

from . import selectors
from .choices import OPEN_ALARM_STATUSES, AlarmStatus, ReportSource, ReportStatus
from .forms import (
    AlarmStepForm,
    ClaimImportForm,
    PartFamilyForm,
    ReportFilterForm,
    ReportForm,
    ReportPhotoForm,
    SymptomCodeForm,
)
from .services import alarms, claims, codes, reports

PAGE_SIZE = 25


@login_required
def report_list(request):
    """The parts-quality reports of the stores in scope (the engineer: the whole group), newest failure first."""
    user = request.user
    require_perm(user, Perm.QUALITY_VIEW)
    store_ids = selectors.quality_store_ids(user, request)
    stores = list(Store.objects.filter(pk__in=store_ids).order_by("code")) if len(store_ids) > 1 else []
    form = ReportFilterForm(request.GET, stores=stores)
    qs = selectors.quality_report_narrow(selectors.quality_report_list(user=user, request=request), **form.filters())
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "multi_store": len(store_ids) > 1,
        "can_report": has_perm(user, Perm.QUALITY_REPORT) and bool(own_store_ids(user)),
        "can_manage": has_perm(user, Perm.QUALITY_MANAGE),
    }
    return render_partial_or_page(request, "quality/report_list.html", "quality/_report_rows.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def report_import(request):
    """Import the carmaker's warranty-claim file into submitted reports of the user's own stores (all or nothing;
    the claims imported before are skipped)."""
    user = request.user
    require_perm(user, Perm.QUALITY_REPORT)
    if not own_store_ids(user):
        raise PermissionDenied
    form = ClaimImportForm(**bound_data(request))
    result = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            result = claims.quality_reports_import_claims(actor=user, file=upload, filename=upload.name)
            if result.ok:
                messages.success(request, _("Rows read: %(rows)s; reports created: %(created)s; skipped as already "
                                            "imported: %(skipped)s.")
                                 % {"rows": result.rows, "created": result.created, "skipped": result.skipped})
                return redirect("quality:report_import")
            if result.file_error:
                form.add_error("file", result.file_error)
        status = 400
    return render(request, "quality/report_import.html", {
        "form": form, "result": result, "columns": claims.import_columns_help(),
    }, status=status)


def _own_stores(user):
    return list(Store.objects.filter(pk__in=own_store_ids(user)).order_by("code"))


@login_required
@require_http_methods(["GET", "POST"])
def report_create(request):
    """Record a report by hand, or from a repair order (`?repair_order=<id>`: its VIN, date and mileage)."""
    user = request.user
    require_perm(user, Perm.QUALITY_REPORT)
    stores = _own_stores(user)
    if not stores:
        raise Http404
    order = None
    raw = request.GET.get("repair_order") or request.POST.get("repair_order") or ""
    if raw:
        if not raw.isdigit():
            raise Http404
        order = repair_order_get(user=user, pk=int(raw))
        if order.store_id not in own_store_ids(user):
            raise Http404
    initial = {"store": stores[0].pk}
    if order is not None:
        initial |= {
            "store": order.store_id,
            "source": ReportSource.REPAIR_ORDER,
            "vin": order.vehicle.vin,
            "mileage_km": order.mileage,
        }
    form = ReportForm(**bound_data(request), initial=initial, stores=stores)
    if request.method == "POST" and form.is_valid():
        try:
            report = reports.quality_report_create(
                actor=user,
                store_id=form.cleaned_data["store"],
                source=form.cleaned_data["source"],
                repair_order=order,
                submit="submit" in request.POST,
                **form.values(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Report #%(id)s saved.") % {"id": report.pk})
            return redirect("quality:report_detail", report_id=report.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "quality/report_form.html", {"form": form, "order": order}, status=status)


def _may_report(user, report) -> bool:
    """Whether `user` writes to `report` (its store's own staff with `quality.report`, as for changing a draft)."""
    return has_perm(user, Perm.QUALITY_REPORT) and report.store_id in own_store_ids(user)


@login_required
@require_http_methods(["GET", "POST"])
def report_detail(request, report_id: int):
    """One report; a draft of one of the user's own stores can be completed and submitted here, and photos added
    (`what=photo`, also once submitted)."""
    user = request.user
    require_perm(user, Perm.QUALITY_VIEW)
    report = selectors.quality_report_get(user=user, report_id=report_id)
    may_report = _may_report(user, report)
    if request.method == "POST" and request.POST.get("what") == "photo":
        return _report_photo_post(request, report, may_report)
    editable = report.status == ReportStatus.DRAFT and may_report
    form = None
    if editable:
        form = _draft_form(report, **bound_data(request))
    elif request.method == "POST":
        raise PermissionDenied
    if request.method == "POST" and form.is_valid():
        try:
            reports.quality_report_update(actor=user, report=report, submit="submit" in request.POST, **form.values())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Report #%(id)s saved.") % {"id": report.pk})
            return redirect("quality:report_detail", report_id=report.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "quality/report_detail.html", _report_context(report, form, may_report), status=status)


def _draft_form(report, **data) -> ReportForm:
    initial = {
        "vin": report.vin,
        "part_family": report.part_family,
        "part_number": report.part_number,
        "supplier_batch": report.supplier_batch,
        "build_month": report.build_month,
        "failure_date": report.failure_date,
        "mileage_km": report.mileage_km,
        "symptom": report.symptom,
        "symptom_text": report.symptom_text,
    }
    return ReportForm(**data, initial=initial, editing=True)


def _report_context(report, form, may_report, photo_form=None) -> dict:
    return {
        "report": report,
        "form": form,
        "photos": list(report.photos.all()),
        "photo_form": photo_form or (ReportPhotoForm() if may_report else None),
    }


def _report_photo_post(request, report, may_report):
    """Add a photo to the report (an image of at most 10 MB); a bad file is named on the form (400)."""
    if not may_report:
        raise PermissionDenied
    photo_form = ReportPhotoForm(request.POST, request.FILES)
    if photo_form.is_valid():
        try:
            reports.quality_report_photo_add(
                actor=request.user,
                report=report,
                image=photo_form.cleaned_data["image"],
                caption=photo_form.cleaned_data["caption"],
            )
        except ValidationError as exc:
            apply_errors(photo_form, exc)
        else:
            messages.success(request, _("Photo added."))
            return redirect("quality:report_detail", report_id=report.pk)
    form = _draft_form(report) if report.status == ReportStatus.DRAFT else None
    return render(
        request, "quality/report_detail.html", _report_context(report, form, True, photo_form), status=400
    )


@login_required
def report_photo(request, report_id: int, report_photo_id: int):
    """A photo of a report in scope, only ever served as a download (its content type from its name, nosniff)."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    photo = selectors.quality_report_photo_get(user=request.user, report_id=report_id, photo_id=report_photo_id)
    # nosniff: SecurityMiddleware (SECURE_CONTENT_TYPE_NOSNIFF)
    return FileResponse(photo.image.open("rb"), as_attachment=True, filename=photo.image.name.rsplit("/", 1)[-1])


@login_required
@require_http_methods(["GET", "POST"])
def codes_page(request):
    """The part-family and symptom codes; the quality engineer adds and changes them (both languages)."""
    user = request.user
    require_perm(user, Perm.QUALITY_VIEW)
    can_manage = has_perm(user, Perm.QUALITY_MANAGE)
    family_form = PartFamilyForm(prefix="family")
    symptom_form = SymptomCodeForm(prefix="symptom")
    status = 200
    if request.method == "POST":
        require_perm(user, Perm.QUALITY_MANAGE)
        kind = request.POST.get("kind")
        if kind == "family":
            row = _code_row(selectors.part_family_list(), request.POST.get("family-code"))
            form = family_form = PartFamilyForm(request.POST, instance=row, prefix="family")
            save = codes.part_family_save
            key = "family"
        elif kind == "symptom":
            row = _code_row(selectors.symptom_code_list(), request.POST.get("symptom-code"))
            form = symptom_form = SymptomCodeForm(request.POST, instance=row, prefix="symptom")
            save = codes.symptom_code_save
            key = "symptom"
        else:
            raise Http404
        if form.is_valid():
            values = {name: form.cleaned_data[name] for name in form.Meta.fields}
            original = type(row).objects.get(pk=row.pk) if row is not None else None
            try:
                saved = save(actor=user, **{key: original}, **values)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Code %(code)s saved.") % {"code": saved.code})
                return redirect("quality:codes")
        status = 400
    context = {
        "families": selectors.part_family_list(),
        "symptoms": selectors.symptom_code_list(),
        "family_form": family_form,
        "symptom_form": symptom_form,
        "can_manage": can_manage,
    }
    return render(request, "quality/codes.html", context, status=status)


def _code_row(qs, raw):
    """The existing row of the code typed (the form changes it), or None (the form adds it)."""
    code = (raw or "").strip().upper()
    return qs.filter(code=code).first() if code else None


# ---- the batch-defect alarms (the group's; `quality.group` reads, `quality.manage` works them) -----------------------


@login_required
def alarm_list(request):
    """The group's alarms, newest first; `?status=new|open|<status>` narrows them (the start card's links)."""
    user = request.user
    require_perm(user, Perm.QUALITY_GROUP)
    qs = selectors.quality_alarm_list(user=user)
    status = request.GET.get("status") or ""
    if status == "open":
        qs = qs.filter(status__in=OPEN_ALARM_STATUSES)
    elif status in AlarmStatus.values:
        qs = qs.filter(status=status)
    elif status:
        status = ""
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    stores = {s.pk: s.code for s in Store.objects.filter(group_id=user.staff.group_id)}
    for a in page.object_list:
        a.store_codes = [stores.get(pk, "?") for pk in a.store_ids]
    context = {"page": page, "status": status, "statuses": AlarmStatus.choices}
    return render(request, "quality/alarm_list.html", context)


def _alarm_chart(alarm) -> dict:
    months = [row["month"] for row in alarm.series]
    return line_chart(
        _("Failures a month: observed and expected"),
        months,
        [
            ChartSeries(_("observed"), [row["observed"] for row in alarm.series]),
            ChartSeries(_("expected"), [row["expected"] for row in alarm.series]),
            ChartSeries(_("CUSUM statistic"), [row["s"] for row in alarm.series]),
        ],
        target=alarm.threshold,
        target_label=_("CUSUM threshold h"),
        y_unit="",
    )


@login_required
@require_http_methods(["GET", "POST"])
def alarm_detail(request, alarm_id: int):
    """One alarm: what it names (family, build month, stores, batches, vehicles), the observed vs expected chart, its
    history, and the next step (`quality.manage`)."""
    user = request.user
    require_perm(user, Perm.QUALITY_GROUP)
    alarm = selectors.quality_alarm_get(user=user, alarm_id=alarm_id)
    can_manage = has_perm(user, Perm.QUALITY_MANAGE)
    steps = [(s, AlarmStatus(s).label) for s in alarms.STEPS[alarm.status]]
    form = AlarmStepForm(**bound_data(request))
    form.fields["to_status"].choices = steps
    status = 200
    if request.method == "POST":
        require_perm(user, Perm.QUALITY_MANAGE)
        if form.is_valid():
            try:
                alarms.quality_alarm_step(
                    actor=user, alarm=alarm, to_status=form.cleaned_data["to_status"], note=form.cleaned_data["note"]
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Alarm updated."))
                return redirect("quality:alarm_detail", alarm_id=alarm.pk)
        status = 400
    stores = Store.objects.filter(pk__in=alarm.store_ids).order_by("code")
    context = {
        "alarm": alarm,
        "chart": _alarm_chart(alarm),
        "events": alarm.events.select_related("actor__staff"),
        "stores": stores,
        "batches": sorted(alarm.batches.items(), key=lambda kv: -kv[1]),
        "form": form if can_manage and steps else None,
        "can_export": can_manage and alarm.status in (AlarmStatus.INVESTIGATING, AlarmStatus.CONFIRMED),
    }
    return render(request, "quality/alarm_detail.html", context, status=status)


@login_required
def alarm_export(request, alarm_id: int):
    """The affected VINs (the build month's vehicles in the group, with their failures) as XLSX."""
    user = request.user
    require_perm(user, Perm.QUALITY_MANAGE)
    alarm = selectors.quality_alarm_get(user=user, alarm_id=alarm_id)
    try:
        content, _n = alarms.quality_alarm_vins_export(actor=user, alarm=alarm)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("quality:alarm_detail", alarm_id=alarm.pk)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    filename = f"alarm-{alarm.pk}-{alarm.part_family.code}-{alarm.build_month:%Y-%m}-vins.xlsx"
    response["Content-Disposition"] = attachment_header(filename)
    return response
