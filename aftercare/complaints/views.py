"""Complaint pages: list and export, recording, the electronic complaint form with its action panels, the
designee's inbox, the CS manager's board, store settings, PDF and documents.

Thin: parse, check the permission, call one service or selector, render. Service errors show next to the field.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from aftercare.core.exports import XLSX_CONTENT_TYPE
from aftercare.core.forms import apply_errors
from aftercare.core.htmx import is_partial, render_partial_or_page
from aftercare.customers import selectors as customer_selectors
from aftercare.followups.forms import RateFilterForm
from aftercare.org.calendar import business_date, day_range, deadline_day, month_start, working_days_between
from aftercare.org.drill import drill_list_page
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, has_perm, require_perm, role_of
from aftercare.org.scoping import (
    current_store_ids,
    own_store_ids,
    settings_store,
    settings_stores,
)

from . import kpis, selectors
from .choices import FINAL_STATUSES, SUPERVISOR_LEVEL_ROLES, FeedbackStatus
from .forms import (
    AttachmentForm,
    ComplaintMeasureRowsForm,
    ComplaintSettingsForm,
    DeadlineGridForm,
    DesigneeForm,
    EscalationTiersForm,
    FeedbackCreateForm,
    FeedbackSearchForm,
    FirstTimeFixRowsForm,
    HandlingForm,
    NoteForm,
    PauseForm,
    RouteForm,
    VerifyForm,
)
from .services import attachments, configuration, exports, pdf, workflow

PAGE_SIZE = 25
UNREACHED_TASK_STATUSES = ("unreachable", "refused", "no_consent")


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


# ---- list and export -------------------------------------------------------------------------------------------


def _search(request):
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    store_ids = current_store_ids(request.user, request)
    departments = list(selectors.department_list(user=request.user, store_ids=store_ids))
    form = FeedbackSearchForm(request.GET, departments=departments, multi_store=len(store_ids) > 1)
    since, until = day_range(form.value("since"), form.value("until"))
    qs = selectors.feedback_list(user=request.user, store_ids=store_ids, since=since, until=until, **form.filters())
    qs = selectors.feedback_narrow(qs, **form.narrow())
    return form, qs, store_ids


@login_required
def feedback_list(request):
    """Complaints, grievances and suggestions of the stores in scope; an HTMX request gets the table only."""
    form, qs, store_ids = _search(request)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "multi_store": len(store_ids) > 1,
        "now": timezone.now(),
        "can_create": has_perm(request.user, Perm.FEEDBACK_CREATE),
    }
    return render_partial_or_page(
        request, "complaints/feedback_list.html", "complaints/_feedback_results.html", context
    )


@login_required
def feedback_export(request):
    """The list as filtered on the page, as XLSX (scoped, audited)."""
    form, qs, _ids = _search(request)
    content = exports.feedback_export_xlsx(actor=request.user, feedback=qs)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="feedback-{business_date():%Y%m%d}.xlsx"'
    return response


# ---- recording -------------------------------------------------------------------------------------------------


def _resolve_vehicle(request, form, customer, text: str):
    text = (text or "").strip().upper().replace(" ", "")
    if not text or customer is None:
        return None
    for vehicle in customer_selectors.customer_vehicles(user=request.user, customer=customer):
        if text in {(vehicle.plate or "").upper().replace(" ", ""), (vehicle.vin or "").upper()}:
            return vehicle
    form.add_error("vehicle", _("The customer has no vehicle with this plate or VIN."))
    return None


@login_required
def feedback_create(request):
    """Record feedback heard on an inbound call, a walk-in, the carmaker hotline or online."""
    require_perm(request.user, Perm.FEEDBACK_CREATE)
    own = own_store_ids(request.user)
    departments = list(selectors.department_list(user=request.user, store_ids=own))
    form = FeedbackCreateForm(
        request.POST if request.method == "POST" else None,
        initial={"customer_number": request.GET.get("customer", "")},
        departments=departments,
        multi_store=len(own) > 1,
    )
    if request.method == "POST":
        valid = form.is_valid()
        data = getattr(form, "cleaned_data", {})
        customer = None
        if data.get("customer_number"):
            customer = customer_selectors.customer_by_number(user=request.user, number=data["customer_number"])
            if customer is None or customer.store_id not in own:
                customer = None
                form.add_error("customer_number", _("No customer with this number in your stores."))
        vehicle = _resolve_vehicle(request, form, customer, data.get("vehicle", ""))
        if valid and not form.errors:
            department = next((d for d in departments if d.pk == data["department"]), None)
            try:
                feedback = workflow.feedback_create(
                    actor=request.user,
                    customer=customer,
                    kind=data["kind"],
                    source=data["source"],
                    category=data["category"],
                    severity=data["severity"],
                    department=department,
                    vehicle=vehicle,
                    person_concerned=data["person_concerned"],
                    text=data["text"],
                )
            except PermissionDenied:
                form.add_error("customer_number", _("No customer with this number in your stores."))
            except ValidationError as exc:
                apply_errors(form, exc, rename={"customer": "customer_number"})
            else:
                messages.success(request, _("Feedback #%(id)s recorded.") % {"id": feedback.pk})
                return redirect("complaints:detail", pk=feedback.pk)
    return render(request, "complaints/feedback_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def customer_search(request):
    """HTMX: customers of the user's own stores matching a name, number, mobile or plate (to pick one)."""
    require_perm(request.user, Perm.FEEDBACK_CREATE)
    q = request.GET.get("q", "").strip()
    rows = []
    if len(q) >= 2:
        rows = list(
            customer_selectors.customer_list(user=request.user, store_ids=own_store_ids(request.user), q=q)[:10]
        )
    return render(request, "complaints/_customer_choices.html", {"rows": rows, "q": q})


# ---- the complaint form ----------------------------------------------------------------------------------------


def _clock(feedback, now: dt.datetime) -> dict:
    """Deadline state for the form's header: overdue / due soon / paused and working days left."""
    if feedback.deadline_at is None or feedback.status != FeedbackStatus.ROUTED:
        return {}
    due = deadline_day(feedback.deadline_at)
    return {
        "due_date": due,
        "paused": feedback.paused_at is not None,
        "overdue": feedback.paused_at is None and now >= feedback.deadline_at,
        "due_soon": feedback.paused_at is None
        and feedback.warn_at is not None
        and feedback.warn_at <= now < feedback.deadline_at,
        "working_days_left": working_days_between(feedback.store, business_date(now), due),
        "hours_left": int((feedback.deadline_at - now).total_seconds() // 3600),
    }


def _panels(user, feedback) -> dict:
    """Which action panels the user sees on this form (stage + permission; the services check again)."""
    status = feedback.status
    if status in FINAL_STATUSES:
        return {}
    is_assignee = feedback.assignee_id == user.pk
    supervisor = role_of(user) in SUPERVISOR_LEVEL_ROLES
    handle = has_perm(user, Perm.FEEDBACK_HANDLE) and (is_assignee or supervisor)
    routed = status == FeedbackStatus.ROUTED
    task = feedback.verification_task
    return {
        "route": has_perm(user, Perm.FEEDBACK_ROUTE) and status in (FeedbackStatus.NEW, FeedbackStatus.ROUTED),
        "take_over": routed and supervisor and has_perm(user, Perm.FEEDBACK_HANDLE) and not is_assignee,
        "report": routed and is_assignee and not supervisor,
        "pause": routed and handle and feedback.paused_at is None,
        "resume": routed and handle and feedback.paused_at is not None,
        "handling": routed and handle,
        "attachment": routed and handle,
        "return": routed and handle,
        "verify": status == FeedbackStatus.HANDLED and has_perm(user, Perm.FEEDBACK_VERIFY),
        "archive": has_perm(user, Perm.FEEDBACK_ARCHIVE)
        and (
            status == FeedbackStatus.VERIFIED
            or (status == FeedbackStatus.HANDLED and task is not None and task.status in UNREACHED_TASK_STATUSES)
        ),
        "close": has_perm(user, Perm.FEEDBACK_ARCHIVE) and status in (FeedbackStatus.NEW, FeedbackStatus.ROUTED),
    }


def _detail_context(request, feedback, *, bound: tuple[str, object] | None = None) -> dict:
    user = request.user
    panels = _panels(user, feedback)
    forms = {}
    if panels.get("route"):
        forms["route"] = RouteForm(
            departments=selectors.department_list(user=user, store_ids=[feedback.store_id]),
            handlers=selectors.feedback_handler_choices(user=user, store_ids=[feedback.store_id]),
            initial={"department": feedback.department_id, "assignee": feedback.assignee_id},
        )
    for name, form_class in (
        ("report", NoteForm),
        ("resume", NoteForm),
        ("pause", PauseForm),
        ("close", NoteForm),
        ("archive", NoteForm),
        ("take_over", NoteForm),
        ("attachment", AttachmentForm),
        ("verify", VerifyForm),
    ):
        if panels.get(name):
            forms[name] = form_class(auto_id=f"{name}_%s")
    handling = {name: getattr(feedback, name) for name in ("actions_taken", "root_cause", "result")}
    if panels.get("handling"):
        forms["handling"] = HandlingForm(initial=handling, auto_id="handling_%s")
    if panels.get("return"):
        forms["return"] = HandlingForm(initial=handling, auto_id="return_%s")
    if bound is not None:
        forms[bound[0]] = bound[1]
        panels[bound[0]] = True
    now = timezone.now()
    return {
        "feedback": feedback,
        "events": list(selectors.feedback_event_list(user=user, feedback=feedback)),
        "attachments": list(selectors.feedback_attachment_list(user=user, feedback=feedback)),
        "panels": panels,
        "forms": forms,
        "clock": _clock(feedback, now),
        "read_only": feedback.status in FINAL_STATUSES,
        "now": now,
    }


@login_required
def feedback_detail(request, pk: int):
    """The electronic complaint form: the record, handling, documents, history and the actions of its stage."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    feedback = selectors.feedback_get(user=request.user, pk=pk)
    return render(request, "complaints/feedback_detail.html", _detail_context(request, feedback))


def _do_route(request, feedback, data):
    department = None
    if data["department"]:
        departments = selectors.department_list(user=request.user, store_ids=[feedback.store_id])
        department = departments.filter(pk=data["department"]).first()
    assignee = None
    if data["assignee"]:
        handlers = selectors.feedback_handler_choices(user=request.user, store_ids=[feedback.store_id])
        assignee = handlers.filter(pk=data["assignee"]).first()
    workflow.feedback_route(
        actor=request.user, feedback=feedback, department=department, assignee=assignee, note=data["note"]
    )


# action name → (form class, the service call, success message)
ACTIONS = {
    "route": (RouteForm, _do_route, gettext_lazy("Form sent to the department.")),
    "take_over": (
        NoteForm,
        lambda r, fb, d: workflow.feedback_take_over(actor=r.user, feedback=fb),
        gettext_lazy("You took over the form."),
    ),
    "report": (
        NoteForm,
        lambda r, fb, d: workflow.feedback_report_to_supervisor(actor=r.user, feedback=fb, note=d["note"]),
        gettext_lazy("Reported to the supervisors."),
    ),
    "pause": (
        PauseForm,
        lambda r, fb, d: workflow.feedback_pause(actor=r.user, feedback=fb, reason=d["reason"], note=d["note"]),
        gettext_lazy("Clock paused."),
    ),
    "resume": (
        NoteForm,
        lambda r, fb, d: workflow.feedback_resume(actor=r.user, feedback=fb, note=d["note"]),
        gettext_lazy("Clock resumed."),
    ),
    "handling": (
        HandlingForm,
        lambda r, fb, d: workflow.feedback_handling_save(actor=r.user, feedback=fb, **d),
        gettext_lazy("Handling saved."),
    ),
    "attachment": (
        AttachmentForm,
        lambda r, fb, d: attachments.feedback_attachment_add(actor=r.user, feedback=fb, upload=d["file"]),
        gettext_lazy("Document added."),
    ),
    "return": (
        HandlingForm,
        lambda r, fb, d: workflow.feedback_return(actor=r.user, feedback=fb, **d),
        gettext_lazy("Returned to customer service; a verification call is planned."),
    ),
    "archive": (
        NoteForm,
        lambda r, fb, d: workflow.feedback_archive(actor=r.user, feedback=fb, note=d["note"]),
        gettext_lazy("Form archived."),
    ),
    "close": (
        NoteForm,
        lambda r, fb, d: workflow.feedback_close(actor=r.user, feedback=fb, note=d["note"]),
        gettext_lazy("Form closed without action."),
    ),
}


def _form_for(name: str, request, feedback):
    form_class = ACTIONS[name][0]
    kwargs = {"auto_id": f"{name}_%s"}
    if name == "route":
        kwargs = {
            "departments": selectors.department_list(user=request.user, store_ids=[feedback.store_id]),
            "handlers": selectors.feedback_handler_choices(user=request.user, store_ids=[feedback.store_id]),
        }
    return form_class(request.POST, request.FILES, **kwargs)


@login_required
@require_POST
def feedback_action(request, pk: int, action: str):
    """One step on the form (route, take over, report, pause, resume, save handling, add a document, return,
    archive, close). The service checks permission and stage; its errors show next to the field."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    if action not in ACTIONS:
        raise Http404
    feedback = selectors.feedback_get(user=request.user, pk=pk)
    form = _form_for(action, request, feedback)
    if form.is_valid():
        if action == "attachment" and not form.cleaned_data["file"]:
            form.add_error("file", _("Choose a file to upload."))
        else:
            try:
                ACTIONS[action][1](request, feedback, form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, ACTIONS[action][2])
                return redirect("complaints:detail", pk=feedback.pk)
    feedback = selectors.feedback_get(user=request.user, pk=pk)
    context = _detail_context(request, feedback, bound=(action, form))
    context["error_panel"] = action
    return render(request, "complaints/feedback_detail.html", context, status=400)


@login_required
@require_POST
def feedback_verify(request, pk: int):
    """The verification call's answer (from the call screen or the form): satisfied → awaiting archive,
    not satisfied → back to the department."""
    require_perm(request.user, Perm.FEEDBACK_VERIFY)
    feedback = selectors.feedback_get(user=request.user, pk=pk)
    form = VerifyForm(request.POST, auto_id="verify_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            feedback = workflow.feedback_verify(
                actor=request.user,
                feedback=feedback,
                satisfied=data["satisfied"],
                notes=data["notes"],
                duration_s=data["duration_s"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if data["satisfied"]:
                messages.success(request, _("Customer satisfied: the form awaits archiving."))
            else:
                messages.warning(request, _("Customer not satisfied: the form went back to the department."))
            return redirect(_safe_next(request, f"/complaints/{feedback.pk}/"))
    if request.POST.get("from_call") and feedback.verification_task_id:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect("followups:call", pk=feedback.verification_task_id)
    feedback = selectors.feedback_get(user=request.user, pk=pk)
    context = _detail_context(request, feedback, bound=("verify", form))
    context["error_panel"] = "verify"
    return render(request, "complaints/feedback_detail.html", context, status=400)


@login_required
def feedback_pdf(request, pk: int):
    """The form and its history as a PDF (inline)."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    feedback = selectors.feedback_get(user=request.user, pk=pk)
    content = pdf.feedback_pdf(actor=request.user, feedback=feedback)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="feedback-{feedback.pk}.pdf"'
    return response


@login_required
def attachment_download(request, pk: int):
    """A handling document of a form in scope, always as a download (never rendered by the browser)."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    attachment = selectors.feedback_attachment_get(user=request.user, pk=pk)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---- inbox and board -------------------------------------------------------------------------------------------


@login_required
def inbox(request):
    """The forms the user must act on (designee; escalated supervisors and store managers), overdue on top."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    now = timezone.now()
    rows = selectors.feedback_inbox(user=request.user, now=now)
    due = request.GET.get("due", "")
    due = due if due in selectors.FEEDBACK_DUE_CHOICES else ""  # anything else: the whole inbox
    rows = selectors.feedback_narrow(rows, due=due, now=now)
    page = Paginator(rows, PAGE_SIZE * 2).get_page(request.GET.get("page"))
    return render(
        request,
        "complaints/inbox.html",
        {"page": page, "now": now, "multi_store": len(own_store_ids(request.user)) > 1, "due": due},
    )


@login_required
def board(request):
    """The CS manager's board: every open form by stage with deadlines; HTMX narrows it to one store."""
    require_perm(request.user, Perm.FEEDBACK_ROUTE)
    store_ids = current_store_ids(request.user, request)
    chosen = request.GET.get("store", "")
    if chosen.isdigit() and int(chosen) in store_ids:
        store_ids = frozenset({int(chosen)})
    now = timezone.now()
    context = {
        "board": selectors.feedback_board(user=request.user, store_ids=store_ids, now=now),
        "now": now,
        "multi_store": len(store_ids) > 1,
        "chosen": int(chosen) if chosen.isdigit() else None,
    }
    if is_partial(request):
        return render(request, "complaints/_board.html", context)
    context["stores"] = Store.objects.filter(pk__in=current_store_ids(request.user, request)).order_by("code")
    return render(request, "complaints/board.html", context)


# ---- settings --------------------------------------------------------------------------------------------------


def _settings_store(request):
    return settings_store(request)


def _settings_forms(request, store, data=None, section=""):
    user = request.user
    designees = selectors.department_designee_map(user=user, store_id=store.pk)
    policies = selectors.deadline_policy_map(user=user, store_id=store.pk)
    tiers = selectors.escalation_tier_list(store_id=store.pk)
    departments = list(selectors.department_list(user=user, store_ids=[store.pk]))
    handlers = list(selectors.feedback_handler_choices(user=user, store_ids=[store.pk]))
    general = selectors.complaint_settings_get(store_id=store.pk)

    def bind(name):
        return data if section == name else None

    return {
        "general": ComplaintSettingsForm(bind("general"), instance=general, prefix="g"),
        "designees": DesigneeForm(
            bind("designees"), departments=departments, handlers=handlers, current=designees, prefix="d"
        ),
        "deadlines": DeadlineGridForm(bind("deadlines"), current=policies, prefix="t"),
        "tiers": EscalationTiersForm(bind("tiers"), current=tiers, prefix="e"),
    }, {"designees": designees, "policies": policies, "handlers": {u.pk: u for u in handlers}}


def _save_settings(request, store, section, form, current) -> None:
    """Call the settings service(s) of one section; ValidationError bubbles to the form."""
    user = request.user
    if section == "general":
        configuration.complaint_settings_update(actor=user, store=store, **form.cleaned_data)
    elif section == "designees":
        with transaction.atomic():
            for department, user_id in form.changes(current["designees"]):
                try:
                    configuration.department_designee_set(
                        actor=user, department=department, user=current["handlers"].get(user_id) if user_id else None
                    )
                except ValidationError as exc:
                    raise ValidationError({f"dept_{department.pk}": exc.messages}) from None
    elif section == "deadlines":
        with transaction.atomic():
            for kind, severity, days in form.changes(current["policies"]):
                try:
                    configuration.deadline_policy_set(
                        actor=user, store=store, kind=kind, severity=severity, working_days=days
                    )
                except ValidationError as exc:
                    raise ValidationError({f"days_{kind}_{severity}": exc.messages}) from None
    elif section == "tiers":
        configuration.escalation_tiers_set(actor=user, store=store, tiers=form.tiers())


@login_required
def settings_page(request):
    """Per own store: designee per department, deadline grid, escalation tiers and the other settings."""
    require_perm(request.user, Perm.FEEDBACK_SETTINGS)
    store = _settings_store(request)
    section = request.POST.get("section", "") if request.method == "POST" else ""
    forms, current = _settings_forms(request, store, request.POST if section else None, section)
    status = 200
    if section in forms:
        form = forms[section]
        if form.is_valid():
            try:
                _save_settings(request, store, section, form, current)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Complaint settings of %(store)s saved.") % {"store": store.name})
                return redirect(f"{request.path}?store={store.pk}")
        status = 400
    stores = settings_stores(request.user)
    return render(
        request,
        "complaints/settings.html",
        {"store": store, "stores": stores, "forms": forms, "section": section},
        status=status,
    )


# ---- measures page ----------------------------------------------------------------------------------------------


@login_required
def measures(request):
    """The CS manager's complaint and first-time-fix measures: one month per store, and the 6-month trend."""
    require_perm(request.user, Perm.FOLLOWUP_MANAGE)
    form = RateFilterForm(request.GET)
    month = (form.cleaned_data.get("month") if form.is_valid() else None) or business_date()
    month = month_start(month)
    store_ids = current_store_ids(request.user, request)
    rows = selectors.complaint_measures(user=request.user, store_ids=store_ids, month=month)
    trend = selectors.complaint_measures_trend(user=request.user, store_ids=store_ids, month=month)
    # names, definitions, units and each store's targets from the KPI catalogue (aftercare/org/kpis.py)
    page = kpis.measures_page(user=request.user, rows=rows, trend=trend)
    heads, trend_rows = page["heads"], page["trend_rows"]
    context = {
        "form": form,
        "month": month,
        "heads": heads,
        "rows": rows,
        "months": trend["months"],
        "trend_rows": trend_rows,
        "multi_store": len(store_ids) > 1,
    }
    return render(request, "complaints/measures.html", context)


@login_required
@require_GET
def measure_rows(request):
    """The forms a complaint measure counts (`measure`, `counted=numerator|denominator`) for one store (or the
    stores in scope) and the months of a figure (the measures pages' drill-down); a bad filter answers 400 with
    the field's error, another store's id 404."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)

    def rows(data, store_ids, since, until):
        return selectors.complaint_measure_rows(user=request.user, store_ids=store_ids, key=data["measure"],
                                                numerator=data["counted"] == "numerator", since=since, until=until)

    return drill_list_page(request, ComplaintMeasureRowsForm, rows, "complaints/measure_rows.html")


@login_required
@require_GET
def measure_orders(request):
    """The repair orders behind a first-time-fix figure (`counted=denominator|numerator|repeated`) of one store (or
    the stores in scope) and months, each repeated order with its repeat repairs (the measures pages' drill-down);
    a bad filter answers 400 with the field's error, another store's id 404."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)

    def rows(data, store_ids, since, until):
        return selectors.first_time_fix_orders(user=request.user, store_ids=store_ids, counted=data["counted"],
                                               since=since, until=until)

    return drill_list_page(request, FirstTimeFixRowsForm, rows, "complaints/measure_orders.html")
