"""Follow-up screens: the specialist's queue, the manager's view, the call screen, rules and settings, the call
and letter logs. Thin: parse, check the permission, call one service or selector, render."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from aftercare.core.charts import Series, line_chart
from aftercare.core.exports import XLSX_CONTENT_TYPE, attachment_header
from aftercare.core.forms import apply_errors, bound_data
from aftercare.core.htmx import is_partial
from aftercare.customers import selectors as customer_selectors
from aftercare.org.calendar import business_date, month_add, month_start
from aftercare.org.drill import drill_list_page
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, has_perm, require_any_perm, require_perm
from aftercare.org.scoping import (
    current_store_ids,
    get_scoped_or_404,
    own_store_ids,
    store_for_write,
)

from . import kpis, ranking, registry, selectors
from .choices import FollowupKind, SubjectType, TaskStatus
from .forms import (
    AssignForm,
    AttemptForm,
    CallSearchForm,
    FollowupRuleForm,
    HandoverRowsForm,
    InboundCallForm,
    LetterForm,
    LetterSearchForm,
    QuestionnaireForm,
    QueueFilterForm,
    RateFilterForm,
    ReturnVisitRowsForm,
    StoreFollowupSettingsForm,
    SurveyRowsForm,
)
from .models import QuestionnaireTemplate
from .services import attempts, claiming, logs, questionnaires, scoring
from .services.rules import followup_rule_update, store_followup_settings_update

PAGE_SIZE = 50
RECENT_ORDERS = 5
TREND_MONTHS = 6


# ---- queue -----------------------------------------------------------------------------------------------------


@login_required
def queue(request):
    """Today's due and overdue tasks, most urgent first, with the specialist's own rate and workload on top."""
    require_perm(request.user, Perm.FOLLOWUP_CALL)
    user = request.user
    store_ids = current_store_ids(user, request)
    form = QueueFilterForm(request.GET)
    tasks = selectors.followup_queue(user=user, store_ids=store_ids, kind=form.value("kind") or None)
    tasks = selectors.followup_queue_narrow(tasks, due=form.value("due") or "", unclaimed=bool(form.value("unclaimed")))
    if has_perm(user, Perm.FOLLOWUP_MANAGE):
        tasks = tasks.filter(Q(claimed_by__isnull=True) | Q(claimed_by=user))  # the manager's view shows the rest
    page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "multi_store": len(store_ids) > 1,
        "now": timezone.now(),
        "rank_columns": [p for p in ranking.queue_priorities() if p.badge_template],
    }
    if is_partial(request):
        return render(request, "followups/_queue_table.html", context)
    today = business_date()
    month = month_start(today)
    # the specialist's own figures: each selector answers at most the one row of `specialist_id`
    rate = next(
        iter(
            selectors.return_visit_rate(
                user=user, store_ids=store_ids, month=month, by="specialist", specialist_id=user.pk
            )
        ),
        None,
    )
    work_month = selectors.specialist_workload(
        user=user, store_ids=store_ids, since=month, until=month_add(month, 1), period="month", specialist_id=user.pk
    )
    work_today = selectors.specialist_workload(
        user=user,
        store_ids=store_ids,
        since=today,
        until=today + dt.timedelta(days=1),
        period="day",
        specialist_id=user.pk,
    )
    context.update(
        {
            "rate": rate,
            "month": month,
            "work_today": next(iter(work_today), None),
            "work_month": next(iter(work_month), None),
        }
    )
    return render(request, "followups/queue.html", context)


@login_required
@require_POST
def task_claim(request, pk: int):
    """Claim a task and open its call screen; a task someone else took first answers with a clear message."""
    require_perm(request.user, Perm.FOLLOWUP_CALL)
    try:
        claiming.followup_task_claim(actor=request.user, task_id=pk)
    except claiming.TaskAlreadyClaimed:
        messages.error(request, _("Another specialist claimed this task first. Pick the next one."))
        return redirect("followups:queue")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("followups:queue")
    return redirect("followups:call", pk=pk)


@login_required
@require_POST
def task_release(request, pk: int):
    """Give a claimed task back to the pool (its holder or a manager)."""
    require_any_perm(request.user, Perm.FOLLOWUP_CALL, Perm.FOLLOWUP_MANAGE)
    task = selectors.followup_task_get(user=request.user, pk=pk)
    try:
        claiming.followup_task_release(actor=request.user, task=task)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Task released."))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "followups:queue"
    return redirect(target or "followups:queue")


@login_required
@require_POST
def task_assign(request, pk: int):
    """A manager hands a task to a specialist of the task's store."""
    require_perm(request.user, Perm.FOLLOWUP_MANAGE)
    task = selectors.followup_task_get(user=request.user, pk=pk)
    specialists = list(selectors.followup_staff_list(user=request.user, store_ids=[task.store_id], callers_only=True))
    form = AssignForm(request.POST, specialists=specialists)
    if not form.is_valid():
        messages.error(request, _("Choose whom to hand the task to."))
    else:
        to_user = next(u for u in specialists if u.pk == form.cleaned_data["to_user"])
        try:
            claiming.followup_task_assign(actor=request.user, task_id=task.pk, to_user=to_user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Task #%(id)s handed to %(name)s.") % {"id": task.pk, "name": to_user})
    return redirect("followups:manage")


# ---- manager ---------------------------------------------------------------------------------------------------


@login_required
def manage(request):
    """Everyone's queues (reassign, release) and the return-visit rate per store, month, kind and specialist."""
    require_perm(request.user, Perm.FOLLOWUP_MANAGE)
    user = request.user
    store_ids = current_store_ids(user, request)
    specialists = list(selectors.followup_staff_list(user=user, store_ids=store_ids, callers_only=True))
    names = {u.pk: (getattr(u, "staff", None) and u.staff.display_name) or u.get_username() for u in specialists}
    form = QueueFilterForm(request.GET, specialists=specialists)
    tasks = selectors.followup_queue(
        user=user, store_ids=store_ids, kind=form.value("kind") or None, specialist_id=form.value("specialist")
    )
    tasks = selectors.followup_queue_narrow(tasks, due=form.value("due") or "", unclaimed=bool(form.value("unclaimed")))
    page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
    rate_form = RateFilterForm(request.GET)
    rate_form.is_valid()
    today = business_date()
    month = month_start(getattr(rate_form, "cleaned_data", {}).get("month") or today)
    by = getattr(rate_form, "cleaned_data", {}).get("by") or "store"
    stores = {s.pk: s for s in Store.objects.filter(pk__in=store_ids)}
    rows = selectors.return_visit_rate(user=user, store_ids=store_ids, month=month, by=by)
    for r in rows:
        key = r[by]
        if by == "store":
            r["label"] = stores[key].name if key in stores else key
        elif by == "specialist":
            r["label"] = names.get(key) or (_("nobody") if key is None else f"#{key}")
        else:
            r["label"] = dict(FollowupKind.choices).get(key, key)
    months = [month_add(today, -back) for back in range(TREND_MONTHS - 1, -1, -1)]
    trend = {
        m: {r["store"]: r for r in selectors.return_visit_rate(user=user, store_ids=store_ids, month=m)} for m in months
    }
    kpi = kpis.return_visit_judged(user=user, store_ids=store_ids, rows=rows, by=by, month=month, trend=trend)
    workload = selectors.specialist_workload(
        user=user, store_ids=store_ids, since=month, until=month_add(month, 1), period="month"
    )
    for w in workload:
        w["name"] = names.get(w["user_id"]) or f"#{w['user_id']}"
    trend_stores = sorted({sid for m in trend.values() for sid in m}, key=str)
    chart = line_chart(
        _("Return-visit rate per store and month"),
        [m.strftime("%Y-%m") for m in months],
        [
            Series(
                stores[sid].name if sid in stores else str(sid),
                [trend[m][sid]["rate"] if sid in trend[m] else None for m in months],
            )
            for sid in trend_stores
        ],
        target=kpi["chart_target"],
    )
    return render(
        request,
        "followups/manage.html",
        {
            "form": form,
            "rate_form": rate_form,
            "page": page,
            "specialists": specialists,
            "multi_store": len(store_ids) > 1,
            "rows": rows,
            "by": by,
            "month": month,
            "months": months,
            "trend_rows": [
                (stores[sid].name if sid in stores else sid, [trend[m].get(sid) for m in months])
                for sid in trend_stores
            ],
            "chart": chart,
            "workload": workload,
            "manage_links": registry.manage_links(),
            "now": timezone.now(),
            "kpi": kpi,
        },
    )


# ---- the measures pages' drill-down: the rows behind a figure ----------------------------------------------------


def _measure_rows(request, form_class, what: str):
    """The tasks (`what` "tasks"), answer sheets ("sheets") or deliveries ("deliveries") a follow-up measure counts
    for the form's store and months; a bad filter answers 400 with the field's error, another store's id 404."""
    require_any_perm(request.user, Perm.FOLLOWUP_CALL, Perm.FOLLOWUP_MANAGE)

    def rows(data, store_ids, since, until):
        if what == "tasks":
            return selectors.return_visit_task_list(
                user=request.user, store_ids=store_ids, since=since, until=until, part=data["counted"]
            )
        if what == "deliveries":
            return selectors.sales_handover_deliveries(
                user=request.user, store_ids=store_ids, since=since, until=until, errors=data["counted"] == "errors"
            )
        return selectors.survey_sheet_list(
            user=request.user, store_ids=store_ids, since=since, until=until, kind=data.get("kind") or None,
            satisfied=data.get("counted") == "satisfied",
        )

    return drill_list_page(request, form_class, rows, "followups/measure_rows.html", {"what": what},
                           page_size=PAGE_SIZE)


@login_required
@require_GET
def measure_tasks(request):
    """The follow-up tasks a store's return-visit rate counts (`counted=due` or `in_time`) over its months."""
    return _measure_rows(request, ReturnVisitRowsForm, "tasks")


@login_required
@require_GET
def measure_sheets(request):
    """The answer sheets of the satisfaction rate (`counted=satisfied` for its numerator) or an SSI / CSI score
    (`kind`) of a store over its months."""
    return _measure_rows(request, SurveyRowsForm, "sheets")


@login_required
@require_GET
def measure_deliveries(request):
    """The deliveries of a store's sales hand-over figures (`counted=delivered`, or `errors` for the data-error
    rate's numerator) over its months, each with its lag and its errors."""
    return _measure_rows(request, HandoverRowsForm, "deliveries")


def _departments(*, user, store_ids):
    """The departments the feedback box offers (the app that records feedback registered them)."""
    return registry.feedback_options().departments(user=user, store_ids=store_ids)


# ---- call screen -----------------------------------------------------------------------------------------------


def _call_context(request, task, *, sheet_form=None, attempt_form=None) -> dict:
    user = request.user
    departments = _departments(user=user, store_ids=[task.store_id])
    template = None
    if task.template_id:
        template = QuestionnaireTemplate.objects.prefetch_related("factors__questions").get(pk=task.template_id)
    held = task.status == TaskStatus.CLAIMED and task.claimed_by_id == user.pk
    if template is not None and sheet_form is None:
        sheet_form = QuestionnaireForm(template=template, departments=departments)
    if attempt_form is None:
        attempt_form = AttemptForm(departments=departments, auto_id="attempt_%s")
    orders = customer_selectors.repair_order_list(user=user, customer=task.customer).select_related("vehicle")
    can_call = has_perm(user, Perm.FOLLOWUP_CALL)
    return {
        "call_panels": registry.call_panels(user=user, task=task),
        "task": task,
        "customer": task.customer,
        "vehicle": task.vehicle,
        "repair_orders": list(orders[:RECENT_ORDERS]),
        "calls": list(task.calls.select_related("handler__staff").order_by("-called_at")),
        "sheet": getattr(task, "sheet", None) if task.status == TaskStatus.COMPLETED else None,
        "template": template,
        "sheet_form": sheet_form,
        "attempt_form": attempt_form,
        "held": held,
        "can_call": can_call,
        "can_claim": can_call and task.status == TaskStatus.OPEN and task.claimed_by_id is None,
        "trigger": _call_trigger(user=user, task=task),
        "can_reveal": has_perm(user, Perm.CUSTOMER_REVEAL_PHONE),
        "now": timezone.now(),
    }


# the subjects a call screen shows as "what this call follows up": the template's name for the row, its selector
CALL_TRIGGERS = {
    SubjectType.REPAIR_ORDER: ("repair_order", customer_selectors.repair_order_list),
    SubjectType.DELIVERY: ("delivery", customer_selectors.delivery_list),
}


def _call_trigger(*, user, task) -> dict | None:
    """What made the call: the repair order or the sales delivery the task follows up (None for other subjects)."""
    if task.subject_type not in CALL_TRIGGERS:
        return None
    name, rows = CALL_TRIGGERS[task.subject_type]
    row = rows(user=user).select_related("vehicle").filter(pk=task.subject_id).first()
    return {name: row} if row else None


@login_required
def call(request, pk: int):
    """The call screen: customer card and vehicle, recent orders, masked phone, questionnaire, outcomes. A manager
    without the calling permission (a store manager following a figure down to its tasks) sees it read-only."""
    require_any_perm(request.user, Perm.FOLLOWUP_CALL, Perm.FOLLOWUP_MANAGE)
    task = selectors.followup_task_get(user=request.user, pk=pk)
    return render(request, "followups/call.html", _call_context(request, task))


_FEEDBACK_FIELDS = {
    "kind": "feedback_kind",
    "category": "feedback_category",
    "text": "feedback_text",
    "department": "feedback_department",
}


@login_required
@require_POST
def sheet_submit(request, pk: int):
    """Save the questionnaire (scored; completes the task). A dissatisfied sheet or feedback makes a record."""
    require_perm(request.user, Perm.FOLLOWUP_CALL)
    task = selectors.followup_task_get(user=request.user, pk=pk)
    if not task.template_id:
        raise Http404
    template = QuestionnaireTemplate.objects.prefetch_related("factors__questions").get(pk=task.template_id)
    form = QuestionnaireForm(
        request.POST, template=template, departments=_departments(user=request.user, store_ids=[task.store_id])
    )
    if form.is_valid():
        try:
            sheet = scoring.answer_sheet_submit(
                actor=request.user,
                task=task,
                answers=form.answers(),
                dissatisfied=form.cleaned_data["dissatisfied"],
                notes=form.cleaned_data["notes"],
                feedback=form.feedback(),
            )
        except ValidationError as exc:
            rename = {f"answers.{k[2:]}": k for k in form.fields if k.startswith("q_")} | _FEEDBACK_FIELDS
            apply_errors(form, exc, rename=rename)
        else:
            text = _("Questionnaire saved: %(score)s / 1000.") % {"score": sheet.score_total}
            if sheet.feedback.exists():
                text += " " + _("A feedback record was created.")
            messages.success(request, text)
            return redirect("followups:queue")
    task = selectors.followup_task_get(user=request.user, pk=pk)
    return render(request, "followups/call.html", _call_context(request, task, sheet_form=form), status=400)


@login_required
@require_POST
def attempt_record(request, pk: int):
    """Log an outcome other than a filled questionnaire (no answer, busy, wrong number, refused, call back)."""
    require_perm(request.user, Perm.FOLLOWUP_CALL)
    task = selectors.followup_task_get(user=request.user, pk=pk)
    form = AttemptForm(
        request.POST, departments=_departments(user=request.user, store_ids=[task.store_id]), auto_id="attempt_%s"
    )
    if form.is_valid():
        try:
            call_row = attempts.followup_attempt_record(
                actor=request.user,
                task=task,
                outcome=form.cleaned_data["outcome"],
                notes=form.cleaned_data["notes"],
                call_back_at=form.cleaned_data["call_back_at"],
                duration_s=form.cleaned_data["duration_s"],
                feedback=form.feedback(),
            )
        except ValidationError as exc:
            apply_errors(form, exc, rename=_FEEDBACK_FIELDS)
        else:
            call_row.task.refresh_from_db()
            messages.success(
                request,
                _("Call logged: %(outcome)s. Task is now %(status)s.")
                % {"outcome": call_row.get_outcome_display(), "status": call_row.task.get_status_display()},
            )
            return redirect("followups:queue")
    task = selectors.followup_task_get(user=request.user, pk=pk)
    return render(request, "followups/call.html", _call_context(request, task, attempt_form=form), status=400)


# ---- rules and settings ----------------------------------------------------------------------------------------


@login_required
def rules(request):
    """The follow-up rules and settings of the stores in scope (CS managers edit them)."""
    require_perm(request.user, Perm.FOLLOWUP_RULES)
    store_ids = current_store_ids(request.user, request)
    rule_rows = list(selectors.followup_rule_list(user=request.user, store_ids=store_ids))
    own = own_store_ids(request.user)
    stores = list(Store.objects.filter(pk__in=store_ids).order_by("code"))
    settings_rows = [(s, selectors.store_followup_settings_get(store_id=s.pk), s.pk in own) for s in stores]
    skipped = selectors.followup_task_skipped_list(user=request.user, store_ids=store_ids).order_by("-event_at")[:20]
    return render(
        request,
        "followups/rules.html",
        {
            "rules": rule_rows,
            "settings_rows": settings_rows,
            "own": own,
            "skipped": skipped,
        },
    )


@login_required
def rule_edit(request, pk: int):
    require_perm(request.user, Perm.FOLLOWUP_RULES)
    rule = get_scoped_or_404(selectors.followup_rule_list(user=request.user), pk=pk)
    store_for_write(request.user, rule.store_id)
    templates = QuestionnaireTemplate.objects.exclude(status="retired").order_by("code", "-version")
    form = FollowupRuleForm(**bound_data(request), instance=rule, templates=templates)
    if request.method == "POST" and form.is_valid():
        try:
            followup_rule_update(actor=request.user, rule=rule, **form.service_fields())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Rule %(code)s saved.") % {"code": rule.code})
            return redirect("followups:rules")
    return render(request, "followups/rule_form.html", {"form": form, "rule": rule})


@login_required
def settings_edit(request, store_id: int):
    require_perm(request.user, Perm.FOLLOWUP_RULES)
    store = store_for_write(request.user, store_id)
    row = selectors.store_followup_settings_get(store_id=store.pk)
    form = StoreFollowupSettingsForm(**bound_data(request), instance=row)
    if request.method == "POST" and form.is_valid():
        try:
            store_followup_settings_update(actor=request.user, store=store, **form.service_fields())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Follow-up settings of %(store)s saved.") % {"store": store.name})
            return redirect("followups:rules")
    return render(request, "followups/settings_form.html", {"form": form, "store": store})


# ---- call log and letter log -----------------------------------------------------------------------------------


def _log_page(request, *, form_class, search):
    require_any_perm(request.user, Perm.FOLLOWUP_CALL, Perm.FOLLOWUP_MANAGE)
    store_ids = current_store_ids(request.user, request)
    handlers = selectors.followup_staff_list(user=request.user, store_ids=store_ids)
    form = form_class(request.GET, handlers=handlers)
    rows = search(user=request.user, store_ids=store_ids, **form.filters())
    customer_id = getattr(form, "cleaned_data", {}).get("customer")
    if customer_id:  # one customer's calls or letters (the link under the customer 360's panel)
        rows = rows.filter(customer_id=customer_id)
    return form, rows, store_ids


@login_required
def call_log(request):
    """Every call, outbound and inbound: search by customer, days [from, before), handler, outcome."""
    form, rows, store_ids = _log_page(request, form_class=CallSearchForm, search=selectors.call_log_search)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "multi_store": len(store_ids) > 1}
    if is_partial(request):
        return render(request, "followups/_call_rows.html", context)
    context["can_log"] = has_perm(request.user, Perm.FOLLOWUP_CALL)
    return render(request, "followups/call_log.html", context)


@login_required
def call_log_export(request):
    """The call log as filtered on the page, as XLSX (audited)."""
    form, rows, _ids = _log_page(request, form_class=CallSearchForm, search=selectors.call_log_search)
    content = logs.call_log_export_xlsx(actor=request.user, calls=rows, filters=form.audit_detail())
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="calls-{business_date():%Y%m%d}.xlsx"'
    return response


@login_required
def letter_log(request):
    """Every notice, invitation and reply letter (and SMS to unreachable customers), searchable."""
    form, rows, store_ids = _log_page(request, form_class=LetterSearchForm, search=selectors.letter_log_search)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "multi_store": len(store_ids) > 1}
    if is_partial(request):
        return render(request, "followups/_letter_rows.html", context)
    context["can_log"] = has_perm(request.user, Perm.FOLLOWUP_CALL)
    return render(request, "followups/letter_log.html", context)


@login_required
def letter_log_export(request):
    form, rows, _ids = _log_page(request, form_class=LetterSearchForm, search=selectors.letter_log_search)
    content = logs.letter_log_export_xlsx(actor=request.user, letters=rows, filters=form.audit_detail())
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="letters-{business_date():%Y%m%d}.xlsx"'
    return response


def _own_stores_and_handlers(request):
    own = own_store_ids(request.user)
    current = current_store_ids(request.user, request) & own or own
    stores = Store.objects.filter(pk__in=own).order_by("code")
    handlers = list(selectors.followup_staff_list(user=request.user, store_ids=own))
    return stores, handlers, current


def _resolve_customer(request, form, number: str):
    if not number:
        return None
    customer = customer_selectors.customer_by_number(user=request.user, number=number)
    if customer is None:
        form.add_error("customer_number", _("No customer with this number in your stores."))
    return customer


@login_required
def call_create(request):
    """Log an inbound call by hand: a consultation, or a complaint (which also records feedback)."""
    require_perm(request.user, Perm.FOLLOWUP_CALL)
    stores, handlers, current = _own_stores_and_handlers(request)
    initial = {"handler": request.user.pk, "called_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}
    if len(current) == 1:
        initial["store"] = next(iter(current))
    departments = _departments(user=request.user, store_ids=own_store_ids(request.user))
    form = InboundCallForm(
        **bound_data(request),
        initial=initial,
        stores=stores,
        handlers=handlers,
        departments=departments,
    )
    if request.method == "POST":
        valid = form.is_valid()
        data = form.cleaned_data
        customer = _resolve_customer(request, form, data.get("customer_number", ""))
        if valid and not form.errors:
            handler = next((u for u in handlers if u.pk == data["handler"]), None)
            try:
                logs.call_log_inbound_create(
                    actor=request.user,
                    store=data["store"],
                    purpose=data["purpose"],
                    handler=handler,
                    called_at=data["called_at"],
                    duration_s=data["duration_s"],
                    customer=customer,
                    notes=data["notes"],
                    feedback=form.feedback(),
                )
            except ValidationError as exc:
                apply_errors(form, exc, rename={"customer": "customer_number"} | _FEEDBACK_FIELDS)
            else:
                messages.success(request, _("Call logged."))
                return redirect("followups:calls")
    return render(request, "followups/call_form.html", {"form": form})


@login_required
def letter_create(request):
    """Log a notice, invitation or reply letter by hand (date and handler)."""
    require_perm(request.user, Perm.FOLLOWUP_CALL)
    stores, handlers, current = _own_stores_and_handlers(request)
    initial = {"handler": request.user.pk, "sent_on": business_date()}
    if len(current) == 1:
        initial["store"] = next(iter(current))
    form = LetterForm(
        **bound_data(request), initial=initial, stores=stores, handlers=handlers
    )
    if request.method == "POST":
        valid = form.is_valid()
        data = form.cleaned_data
        customer = _resolve_customer(request, form, data.get("customer_number", ""))
        if valid and not form.errors:
            handler = next((u for u in handlers if u.pk == data["handler"]), None)
            try:
                logs.letter_log_create(
                    actor=request.user,
                    store=data["store"],
                    customer=customer,
                    kind=data["kind"],
                    channel=data["channel"],
                    handler=handler,
                    sent_on=data["sent_on"],
                    text=data["text"],
                )
            except ValidationError as exc:
                apply_errors(form, exc, rename={"customer": "customer_number"})
            else:
                messages.success(request, _("Letter logged."))
                return redirect("followups:letters")
    return render(request, "followups/letter_form.html", {"form": form})


# ---- templates -------------------------------------------------------------------------------------------------


@login_required
def template_export(request, pk: int, fmt: str):
    """Download a questionnaire template as JSON or XLSX (templates are group-wide, not store data)."""
    if not any(has_perm(request.user, p) for p in (Perm.FOLLOWUP_CALL, Perm.FOLLOWUP_MANAGE, Perm.FOLLOWUP_TEMPLATES)):
        raise PermissionDenied
    template = get_object_or_404(QuestionnaireTemplate, pk=pk)
    filename = f"{template.code}-v{template.version}"  # the code is typed text: attachment_header makes it safe
    if fmt == "json":
        data = questionnaires.questionnaire_template_to_dict(template)
        response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 1})
        response["Content-Disposition"] = attachment_header(f"{filename}.json")
        return response
    if fmt == "xlsx":
        content = questionnaires.questionnaire_template_export_xlsx(actor=request.user, template=template)
        response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = attachment_header(f"{filename}.xlsx")
        return response
    raise Http404
