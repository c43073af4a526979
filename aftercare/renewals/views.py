"""Renewal pages. Thin: parse, check the permission, call one selector, render."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from aftercare.core.charts import Series, line_chart
from aftercare.core.exports import XLSX_CONTENT_TYPE, attachment_header, xlsx_workbook_bytes
from aftercare.org.calendar import business_date, month_add
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import current_store_ids

from . import kpis
from .forms import MeasuresFilterForm, PoliciesSoldFilterForm
from .measures import renewal_policy_sold_list
from .selectors import may_see_premiums

# ---- measures page (renewals:measures, renewals:measures_export) -----------------------------------------------


def _measures(request) -> tuple[MeasuresFilterForm, dict, dict]:
    """The filter form, the page's figures (`kpis.renewal_measures_page`) and the stores shown {id: store}."""
    require_perm(request.user, Perm.RENEWAL_WORK)
    form = MeasuresFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    today = business_date()
    year, month = form.period(today)
    store_ids = current_store_ids(request.user, request)
    chosen = form.cleaned_data.get("store") if form.is_bound and hasattr(form, "cleaned_data") else None
    if chosen is not None:
        if chosen not in store_ids:
            raise Http404  # another store's id: as if it did not exist
        store_ids = frozenset({chosen})
    stores = {s.pk: s for s in Store.objects.filter(pk__in=current_store_ids(request.user, request))}
    page = kpis.renewal_measures_page(user=request.user, store_ids=store_ids, year=year, month=month, today=today)
    return form, page, stores


def _chart(page: dict, stores: dict) -> tuple[dict, dict]:
    labels = [m.strftime("%Y-%m") for m in page["months"]]
    target = page["rate_target"].value if page["rate_target"] else None
    by_store = line_chart(
        _("Renewal rate per store"), labels,
        [Series(stores[s["store_id"]].name if s["store_id"] in stores else str(s["store_id"]),
                [c["rate"] for c in s["trend"]]) for s in page["store_trend"]],
        target=target,
    )
    by_segment = line_chart(
        _("Renewal rate per segment"), labels,
        [Series(str(s["label"]), [c["rate"] for c in s["trend"]]) for s in page["segments"]],
        target=target,
    )
    return by_store, by_segment


@login_required
@require_GET
def measures(request):
    """The monthly renewal table (policies sold, cases, rates) of a year beside its targets, the month's
    breakdowns, the reasons for loss and the rate trend per store and segment."""
    form, page, stores = _measures(request)
    by_store, by_segment = _chart(page, stores)
    today = business_date()
    single = stores.get(page["single_store"])
    context = {
        "form": form,
        "page": page,
        "period_heads": [
            {"kind": kind, "key": f"{start:%Y-%m}-{kind}", "label": _period_label(kind, start),
             "running_month": kind == "month" and start <= today < month_add(start, 1)}
            for kind, start in page["periods"]
        ],
        "stores": sorted(stores.values(), key=lambda s: s.code),
        "store_title": f"{single.code} {single.name}" if single else "",
        "store_trend": [(stores.get(s["store_id"]), s["trend"]) for s in page["store_trend"]],
        "chart_stores": by_store,
        "chart_segments": by_segment,
        "export_query": request.GET.urlencode(),
    }
    return render(request, "renewals/measures.html", context)


def _period_label(kind: str, start) -> str:
    if kind == "month":
        return start.strftime("%Y-%m")
    if kind == "quarter":
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    return _("Year %(y)s") % {"y": start.year}


def measures_sheets(page: dict, stores: dict) -> list[tuple[str, list[list]]]:
    """Every table of the measures page as `(sheet title, rows)` (header first)."""
    head = [_("Measure")] + [_period_label(k, s) for k, s in page["periods"]]
    table = [head]
    for row in page["rows"]:
        table.append([str(row["label"])] + [c["value"] for c in row["cells"]])
        if row["measure"] is not None:
            table.append([_("%(m)s: target") % {"m": row["label"]}]
                         + [c["judge"].target.value if c["judge"] and c["judge"].target else None
                            for c in row["cells"]])
            table.append([_("%(m)s: gap") % {"m": row["label"]}]
                         + [c["judge"].gap if c["judge"] else None for c in row["cells"]])
    b = page["breakdowns"]
    segments = [[_("Segment"), _("Cases expiring"), _("Renewed here"), _("Renewed elsewhere"), _("Not renewed"),
                 _("Lapsed without an outcome"), _("Still open"), _("Renewal rate")]]
    segments += [[str(s["label"]), s["expiring"], s["renewed_here"], s["renewed_elsewhere"], s["not_renewed"],
                  s["lapsed"], s["open"], s["renewal_rate"]] for s in page["segments"]]
    specialists = [[_("Specialist"), _("Cases expiring"), _("With an effective contact"), _("Renewed here"),
                    _("Renewed elsewhere"), _("Not renewed"), _("Renewal rate")]
                   + ([_("Renewal premium recorded (¥)")] if page["premiums"] else [])]
    specialists += [[s["name"] or _("nobody"), s["expiring"], s["effective"], s["renewed_here"],
                     s["renewed_elsewhere"], s["not_renewed"], s["renewal_rate"]]
                    + ([s["premium"]] if page["premiums"] else []) for s in b["specialists"]]
    insurers = [[_("Insurer"), _("New-car policies"), _("Renewals sold")]
                + ([_("New-car premium (¥)"), _("Renewal premium (¥)")] if page["premiums"] else [])]
    insurers += [[i["insurer"], i["new_car_count"], i["renewal_count"]]
                 + ([i["new_car_premium"], i["renewal_premium"]] if page["premiums"] else []) for i in b["insurers"]]
    lost_to = [[_("Renewed elsewhere with"), _("Cases")]] + [[r["outcome_insurer"], r["count"]] for r in b["lost_to"]]
    reasons = [[_("Reason"), _("Renewed elsewhere"), _("Not renewed"), _("Cases"), _("Share (%)")]]
    reasons += [[r["label"], r["renewed_elsewhere"], r["not_renewed"], r["count"], r["share"]] for r in b["reasons"]]
    trend = [[_("Store / segment")] + [mo.strftime("%Y-%m") for mo in page["months"]]]
    trend += [[stores[s["store_id"]].code if s["store_id"] in stores else s["store_id"]]
              + [c["rate"] for c in s["trend"]] for s in page["store_trend"]]
    trend += [[str(s["label"])] + [c["rate"] for c in s["trend"]] for s in page["segments"]]
    month = page["month"].strftime("%Y-%m")
    return [
        (_("Monthly table %(y)s") % {"y": page["year"]}, table),
        (_("Segments %(m)s") % {"m": month}, segments),
        (_("Specialists %(m)s") % {"m": month}, specialists),
        (_("Insurers %(m)s") % {"m": month}, insurers),
        (_("Lost to %(m)s") % {"m": month}, lost_to),
        (_("Loss reasons %(m)s") % {"m": month}, reasons),
        (_("Rate trend %(y)s") % {"y": page["year"]}, trend),
    ]


@login_required
@require_GET
def measures_export(request):
    """Every table of the measures page as one XLSX workbook (a sheet each)."""
    form, page, stores = _measures(request)
    content, _rows = xlsx_workbook_bytes(measures_sheets(page, stores))
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    store = f"-{stores[page['single_store']].code}" if page["single_store"] in stores else ""
    response["Content-Disposition"] = attachment_header(f"renewal-measures-{page['year']}{store}.xlsx")
    return response


POLICY_PAGE_SIZE = 50


@login_required
@require_GET
def measures_policies(request):
    """The policies behind a figure of policies sold (new-car or renewal, a month, a store, an insurer)."""
    require_perm(request.user, Perm.RENEWAL_WORK)
    form = PoliciesSoldFilterForm(request.GET)
    page = None
    valid = form.is_valid()
    store_ids = current_store_ids(request.user, request)
    chosen = form.cleaned_data.get("store")
    if chosen is not None:
        if chosen not in store_ids:
            raise Http404  # another store's id, whatever else is wrong
        store_ids = frozenset({chosen})
    if valid:
        data = form.cleaned_data
        month = data["month"].replace(day=1)
        qs = renewal_policy_sold_list(user=request.user, store_ids=store_ids, since=month, until=month_add(month, 1),
                                      kind=data["kind"], insurer=data["insurer"])
        page = Paginator(qs, POLICY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "premiums": may_see_premiums(request.user)}
    return render(request, "renewals/measures_policies.html", context)
