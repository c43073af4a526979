"""Pages of customer classes and churn (docs/care.md, "Classes and churn"): the classes page with the month's flows,
churn rate and churn reasons; the customers behind a flow; the class settings; the win-back list and its export;
recording a churn reason.

Thin: parse, check the permission, call one selector or service, render.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from aftercare.core.charts import Series, line_chart
from aftercare.core.exports import XLSX_CONTENT_TYPE, attachment_header, local_naive, xlsx_bytes
from aftercare.core.forms import apply_errors
from aftercare.core.services import audit_event_record
from aftercare.customers.choices import LossReason
from aftercare.customers.selectors import customer_get
from aftercare.followups.models import FollowupTask
from aftercare.org.calendar import business_date, month_add
from aftercare.org.permissions import Perm, has_perm, require_perm
from aftercare.org.scoping import current_store_ids, narrowed_store_ids, settings_store, settings_stores

from .. import selectors
from ..choices import CustomerClass, LostRule
from ..forms import ChurnReasonForm, ClassMonthForm, ClassSettingsForm
from ..services import classes as svc

PAGE_SIZE = 25
TREND_MONTHS = 12


def _month(request) -> tuple[ClassMonthForm, dt.date]:
    form = ClassMonthForm(request.GET or None)
    month = business_date().replace(day=1)
    if form.is_bound and form.is_valid() and form.cleaned_data["month"]:
        month = form.cleaned_data["month"].replace(day=1)
    return form, month


def _bad_filter(request, message: str):
    return render(request, "errors/page.html", {"status": 400, "title": _("Bad filter"), "message": message},
                  status=400)


def _flow_url(month: dt.date, c0: str, c1: str) -> str:
    return f"{reverse('care:class_flow')}?{urlencode({'month': f'{month:%Y-%m}', 'from': c0, 'to': c1})}"


@login_required
@require_GET
def classes_overview(request):
    """Customers of each class; the month's flows between classes (each number lists its customers), churn rate and
    loyal share; the churn rate of the last 12 months; churn reasons of those months with their shares."""
    user = request.user
    require_perm(user, Perm.CARE_MANAGE)
    store_ids = current_store_ids(user, request)
    form, month = _month(request)
    months = [month_add(month, -k) for k in range(TREND_MONTHS - 1, -1, -1)]
    trend = selectors.class_flows_months(user=user, first=months[0], count=TREND_MONTHS, store_ids=store_ids)
    flows = trend[-1]  # the month itself is the trend's last
    labels = dict(CustomerClass.choices)
    row_classes = [selectors.NONE, *selectors.CLASS_ORDER]
    matrix = []
    for c0 in row_classes:
        cells = []
        for c1 in selectors.CLASS_ORDER:
            n = flows["flows"].get((c0, c1), 0)
            cells.append({"n": n, "url": _flow_url(month, c0, c1) if n else "", "lost": c1 == CustomerClass.LOST})
        label = labels.get(c0) or _("Not yet classified")
        matrix.append({"from": c0, "label": label, "cells": cells, "start": flows["start"].get(c0)})
    chart = line_chart(
        _("Churn rate by month"), [f"{m:%Y-%m}" for m in months],
        [Series(_("Churn rate"), [t["churn_rate"] for t in trend]),
         Series(_("Loyal share"), [t["loyal_share"] for t in trend])],
    )
    since = month_add(month, -(TREND_MONTHS - 1))
    reasons = selectors.churn_reason_shares(user=user, since=since, until=month_add(month, 1), store_ids=store_ids)
    context = {
        "form": form,
        "month": month,
        "flows": flows,
        "matrix": matrix,
        "columns": [labels[c] for c in selectors.CLASS_ORDER],
        "counts": [(labels[c], n) for c, n in selectors.class_counts(user=user, store_ids=store_ids).items()],
        "chart": chart,
        "reasons": reasons,
        "reasons_since": since,
    }
    return render(request, "care/classes/overview.html", context)


@login_required
@require_GET
def class_flow(request):
    """The customers behind one number of the flows matrix (`month`, `from`, `to`), largest spend first."""
    user = request.user
    require_perm(user, Perm.CARE_MANAGE)
    _form, month = _month(request)
    c0, c1 = request.GET.get("from", ""), request.GET.get("to", "")
    ends = ("", selectors.BASE, *CustomerClass.values)
    if c0 not in (selectors.NONE, *ends) or c1 not in ends:
        return _bad_filter(request, _("from / to: not a class"))
    store = request.GET.get("store", "")
    if store and not store.isdigit():
        return _bad_filter(request, _("store: not a store"))
    store_ids = narrowed_store_ids(user, int(store) if store else None, request=request)
    rows = selectors.class_flow_customers(user=user, month=month, from_class=c0, to_class=c1, store_ids=store_ids)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    labels = {**dict(CustomerClass.choices), selectors.NONE: _("Not yet classified"),
              selectors.BASE: _("loyal, regular or new"), "": _("any class")}
    context = {"page": page, "month": month, "from_label": labels[c0], "to_label": labels[c1]}
    return render(request, "care/classes/flow.html", context)


@login_required
def class_settings(request):
    """A store's thresholds of the classification (the next daily run uses them)."""
    require_perm(request.user, Perm.CARE_MANAGE)
    store = settings_store(request)
    row = svc.class_settings_map([store.pk])[store.pk]
    initial = {f: getattr(row, f) for f in svc.SETTINGS_FIELDS}
    form = ClassSettingsForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            svc.class_settings_save(actor=request.user, store=store, data=form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Class settings of %(store)s saved.") % {"store": store.name})
            return redirect(f"{request.path}?store={store.pk}")
    stores = settings_stores(request.user)
    return render(request, "care/classes/settings.html", {"store": store, "stores": stores, "form": form},
                  status=400 if request.method == "POST" else 200)


@login_required
@require_GET
def winback(request):
    """Lost customers, the largest spend of 12 months first: why and since when lost, last visit, the churn reason
    if known; a link starts a campaign from this segment (the campaigns page)."""
    user = request.user
    require_perm(user, Perm.CARE_MANAGE)
    rows = selectors.winback_list(user=user, store_ids=current_store_ids(user, request))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    labels = dict(LossReason.choices)
    for p in page.object_list:
        p.reason_label = labels.get(p.reason, p.reason)
    context = {"page": page, "campaign_url": f"{reverse('care:campaign_new')}?segment=lost"}
    return render(request, "care/classes/winback.html", context)


@login_required
@require_GET
def winback_export(request):
    """The win-back list as XLSX (scoped; audited with the row count)."""
    user = request.user
    require_perm(user, Perm.CARE_MANAGE)
    rows = selectors.winback_list(user=user, store_ids=current_store_ids(user, request))
    reasons = dict(LossReason.choices)
    rules = dict(LostRule.choices)
    header = [_("Store"), _("Customer number"), _("Name"), _("Why lost"), _("Lost since"), _("Last counted visit"),
              _("Counted visits, last 12 months"), _("Spend, last 12 months"), _("Churn reason"), _("Note")]
    data = (
        [p.store.code, p.customer.number, p.customer.name, str(rules.get(p.lost_rule, "")), p.class_since,
         local_naive(p.last_visit_at), p.visits_12m, p.spend_12m, str(reasons.get(p.reason, "")) if p.reason else "",
         p.reason_note or ""]
        for p in rows.iterator(chunk_size=2000)
    )
    content, n = xlsx_bytes(_("Win-back list"), header, data)
    audit_event_record(actor=user, action="export", object_type="care.winback", detail={"rows": n})
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment_header(f"winback-{business_date():%Y%m%d}.xlsx")
    return response


@login_required
@require_POST
def churn_reason_add(request, customer_id: int):
    """Record why a customer left, from the customer's page or a call screen (`task`); back to `next`."""
    user = request.user
    if not (has_perm(user, Perm.CARE_WORK) or has_perm(user, Perm.CARE_MANAGE)):
        raise Http404
    customer = customer_get(user=user, pk=customer_id)
    task = None
    raw_task = request.POST.get("task", "")
    if raw_task.isdigit():
        task = FollowupTask.objects.filter(pk=int(raw_task), customer_id=customer.pk).first()
    form = ChurnReasonForm(request.POST)
    nxt = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = reverse("customers:detail", args=[customer.pk])
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[k].label}: {' '.join(v)}" for k, v in form.errors.items() if k in form.fields)
        messages.error(request, errors or _("Check the form."))
        return redirect(nxt)
    svc.churn_reason_record(actor=user, customer=customer, task=task, **form.cleaned_data)
    messages.success(request, _("Churn reason recorded."))
    return redirect(nxt)
