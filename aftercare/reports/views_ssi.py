"""SSI / CSI against region and nation: the page, the import, the target ranks, the answer sheets and their export
in the carmaker's layout (docs/reports.md, "SSI against region and nation"). Thin: figures come from `ssi`."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from aftercare.core.charts import Series, line_chart
from aftercare.core.exports import XLSX_CONTENT_TYPE, attachment_header, xlsx_bytes
from aftercare.core.forms import bound_data
from aftercare.org.calendar import business_date, month_add
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import current_store_ids, own_store_ids, store_for_write, visible_store_ids

from . import ssi
from .forms_ssi import SsiImportForm, SsiTargetForm


def _int(raw, default=None):
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else default


def _store(request) -> Store:
    """The store asked for (`store`, one the user may see, else 404), else the first in the store switcher's scope."""
    require_perm(request.user, Perm.KPI_SET_TARGET)
    asked = _int(request.GET.get("store"))
    if asked is not None:
        if asked not in visible_store_ids(request.user):
            raise Http404
        return Store.objects.select_related("region").get(pk=asked)
    ids = sorted(current_store_ids(request.user, request))
    if not ids:
        raise Http404
    return Store.objects.select_related("region").get(pk=ids[0])


def _kind(request) -> str:
    kind = request.GET.get("kind") or "ssi"
    return kind if kind in ssi.KINDS else "ssi"


def _query(**params) -> str:
    return "?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})


@login_required
@require_GET
def page(request):
    """Store vs region vs nation by month and quarter, the factors of a month or quarter, ranks against targets."""
    store = _store(request)
    kind = _kind(request)
    today = business_date()
    year = _int(request.GET.get("year"), today.year)
    if not 2000 <= year <= 2100:
        year = today.year
    period = ssi.parse_period(request.GET.get("period", ""), year)
    if period is not None and period[1].year != year:
        period = None
    data = ssi.ssi_comparison(store=store, kind=kind, year=year, period=period)
    base = {"store": store.pk, "kind": kind}
    for c in data["months"] + data["quarters"]:
        end = month_add(c["months"][-1], 1)
        c["sheets_url"] = reverse("reports:ssi_sheets") + _query(**base, since=f"{c['start']:%Y-%m}",
                                                                 until=f"{month_add(end, -1):%Y-%m}")
        c["period_url"] = reverse("reports:ssi") + _query(**base, year=year, period=c["key"])
        c["running"] = c["start"] <= today < end
    span = data["period"]["total"]["months"]
    data["period"]["sheets_url"] = reverse("reports:ssi_sheets") + _query(
        **base, since=f"{span[0]:%Y-%m}", until=f"{span[-1]:%Y-%m}")
    for c in data["factors"]:
        c["sheets_url"] = data["period"]["sheets_url"]
    data["period"]["export_url"] = reverse("reports:ssi_export") + _query(**base, month=f"{span[0]:%Y-%m}")
    labels = [c["label"] for c in data["quarters"]] + [c["label"][5:] for c in data["months"]]
    cells = data["quarters"] + data["months"]
    chart = line_chart(
        _("%(kind)s: store vs region vs nation") % {"kind": data["kind_label"]},
        labels,
        [
            Series(_("Store (aftercare)"), [c["own"] for c in cells]),
            Series(_("Store (carmaker)"), [c["carmaker"] for c in cells]),
            Series(_("Region average"), [c["region"] for c in cells]),
            Series(_("National average"), [c["nation"] for c in cells]),
        ],
        y_unit="",
    )
    factor_chart = line_chart(
        _("Factors, %(period)s") % {"period": data["period"]["label"]},
        [(c["name_zh"] if request.LANGUAGE_CODE.startswith("zh") else c["name_en"]) or c["key"]
         for c in data["factors"]],
        [
            Series(_("Store"), [c["shown"] for c in data["factors"]]),
            Series(_("Region average"), [c["region"] for c in data["factors"]]),
            Series(_("National average"), [c["nation"] for c in data["factors"]]),
        ],
        y_unit="",
    )
    stores = Store.objects.filter(pk__in=current_store_ids(request.user, request)).order_by("code")
    may_write = store.pk in own_store_ids(request.user)
    target_form = SsiTargetForm(initial=data["target"]) if may_write else None
    return render(request, "reports/ssi/page.html", {
        "data": data, "chart": chart, "factor_chart": factor_chart, "stores": stores, "kinds": ssi.KINDS.items(),
        "years": range(today.year - 3, today.year + 1), "target_form": target_form, "may_write": may_write,
        "zh": request.LANGUAGE_CODE.startswith("zh"),
    })


@login_required
def import_page(request):
    """Upload the carmaker's monthly file (XLSX / CSV) for one of the user's stores."""
    require_perm(request.user, Perm.KPI_SET_TARGET)
    form = SsiImportForm(**bound_data(request), user_store_ids=own_store_ids(request.user))
    result = None
    if request.method == "POST" and form.is_valid():
        store = store_for_write(request.user, form.cleaned_data["store"].pk)
        result = ssi.ssi_benchmarks_import(actor=request.user, store=store, file=form.cleaned_data["file"],
                                           kind=form.cleaned_data["kind"])
        if result.file_error:
            form.add_error("file", result.file_error)
        elif result.ok:
            messages.success(request, _("Rows added: %(created)s; rows updated: %(updated)s.")
                             % {"created": result.created, "updated": result.updated})
            return redirect(reverse("reports:ssi") + _query(store=store.pk, kind=form.cleaned_data["kind"]))
    status = 400 if request.method == "POST" and (form.errors or (result and not result.ok)) else 200
    return render(request, "reports/ssi/import.html",
                  {"form": form, "result": result, "columns": ssi.import_columns_help()}, status=status)


@login_required
@require_POST
def target(request):
    """Save the store's target ranks for a survey."""
    require_perm(request.user, Perm.KPI_SET_TARGET)
    store = store_for_write(request.user, _int(request.POST.get("store"), -1))
    kind = request.POST.get("kind") if request.POST.get("kind") in ssi.KINDS else "ssi"
    form = SsiTargetForm(request.POST)
    if form.is_valid():
        ssi.ssi_rank_target_set(actor=request.user, store=store, kind=kind, **form.cleaned_data)
        messages.success(request, _("Target ranks saved."))
    else:
        messages.error(request, _("Give target ranks of at least 1."))
    return redirect(reverse("reports:ssi") + _query(store=store.pk, kind=kind))


def _month_arg(raw: str, default: dt.date) -> dt.date:
    period = ssi.parse_period(raw, 0)
    return period[1] if period and period[0] == "month" else default


@login_required
@require_GET
def sheets(request):
    """The answer sheets behind a month's or a quarter's own score, each linking to its call."""
    store = _store(request)
    kind = _kind(request)
    this_month = business_date().replace(day=1)
    since = _month_arg(request.GET.get("since", ""), this_month)
    until = max(_month_arg(request.GET.get("until", ""), since), since)
    until = min(until, month_add(since, 11))
    rows = list(ssi.ssi_sheet_list(user=request.user, store=store, kind=kind, start=since,
                                   end=month_add(until, 1))[:1000])
    for sheet in rows:
        sheet.masked_name = ssi.mask_name(sheet.task.customer.name)
    return render(request, "reports/ssi/sheets.html", {
        "store": store, "kind": kind, "kind_label": ssi.KINDS[kind], "since": since, "until": until, "rows": rows,
        "back_url": reverse("reports:ssi") + _query(store=store.pk, kind=kind, year=since.year),
        "export_url": reverse("reports:ssi_export") + _query(store=store.pk, kind=kind, month=f"{since:%Y-%m}"),
    })


@login_required
@require_GET
def export(request):
    """The month's answer sheets in the carmaker's upload layout (XLSX)."""
    store = _store(request)
    kind = _kind(request)
    month = _month_arg(request.GET.get("month", ""), business_date().replace(day=1))
    header, rows = ssi.ssi_export_rows(user=request.user, store=store, kind=kind, month=month)
    content, _n = xlsx_bytes(f"{kind.upper()} {month:%Y-%m}", header, rows)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment_header(f"{kind}-{store.code}-{month:%Y-%m}.xlsx")
    return response
