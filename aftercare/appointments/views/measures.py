"""The measures page, its export and its drill-downs (`kpis.appointment_measures_page`)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from aftercare.core.charts import Series, bar_chart, line_chart
from aftercare.core.exports import XLSX_CONTENT_TYPE, attachment_header, xlsx_workbook_bytes
from aftercare.org.calendar import business_date
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import current_store_ids, narrowed_store_ids

from .. import kpis
from .. import measures as appointment_measures
from ..forms import MeasuresDrillForm, MeasuresFilterForm

# ---- measures (ameasure part): appointments:measures, measures_export, measures_orders, measures_bookings ------


def _measures_stores(request, chosen: int | None) -> tuple[frozenset[int], dict]:
    """The stores of the figures (the switcher's, or the one `chosen`: another store's id answers 404) and the stores
    of the filter's list."""
    store_ids = narrowed_store_ids(request.user, chosen, request=request)
    stores = {s.pk: s for s in Store.objects.filter(pk__in=current_store_ids(request.user, request))}
    return store_ids, stores


def _measures(request) -> tuple[MeasuresFilterForm, dict, dict]:
    """The filter form, the page's figures (`kpis.appointment_measures_page`) and the stores in scope."""
    require_perm(request.user, Perm.APPOINTMENT_BOARD)
    form = MeasuresFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    today = business_date()
    year, month = form.period(today)
    store_ids, stores = _measures_stores(request, form.chosen_store())
    page = kpis.appointment_measures_page(user=request.user, store_ids=store_ids, year=year, month=month,
                                          today=today)
    return form, page, stores


def _measures_charts(page: dict) -> tuple[dict, dict]:
    rate_row = next(r for r in page["rows"] if r["key"] == "appointment_rate")
    target = page["rate_target"].value if page["rate_target"] else None
    rate = line_chart(_("Appointment rate"), [f"{c['month']:%Y-%m}" for c in rate_row["cells"]],
                      [Series(_("Appointment rate"), [c["value"] for c in rate_row["cells"]])], target=target)
    labels, bookings, walk_ins = [], [], []
    for day in page["grid"]:
        for c in day["cells"]:
            labels.append(f"{day['label']} {c['hour']:02d}")
            bookings.append(c["bookings"])
            walk_ins.append(c["walk_ins"])
    load = bar_chart(_("Peak load by weekday and hour"), labels,
                     [Series(_("Appointments"), bookings), Series(_("Walk-ins"), walk_ins)])
    return rate, load


@login_required
@require_GET
def measures(request):
    """The appointment rate against its target, the monthly table of a year, bay use and peak load of a month."""
    form, page, stores = _measures(request)
    chart_rate, chart_load = _measures_charts(page)
    single = stores.get(page["single_store"])
    context = {
        "form": form, "page": page, "chart_rate": chart_rate, "chart_load": chart_load,
        "stores": sorted(stores.values(), key=lambda s: s.code),
        "store_title": f"{single.code} {single.name}" if single else "",
        "export_query": request.GET.urlencode(),
    }
    return render(request, "appointments/measures.html", context)


def measures_sheets(page: dict) -> list[tuple[str, list[list]]]:
    """The measures page's tables as `(sheet title, rows)` (header first)."""
    table = [[_("Measure")] + [f"{mo:%Y-%m}" for mo in page["months"]]]
    for row in page["rows"]:
        table.append([str(row["label"])] + [c["value"] for c in row["cells"]])
        if row["measure"] is not None:
            table.append([_("%(m)s: target") % {"m": row["label"]}]
                         + [c["judge"].target.value if c["judge"] and c["judge"].target else None
                            for c in row["cells"]])
    hours = page["hours"]
    use = [[_("Weekday")] + [f"{h:02d}:00" for h in hours]]
    use += [[str(d["label"])] + [c["use"] for c in d["cells"]] for d in page["grid"]]
    load = [[_("Weekday"), _("Hour"), _("Appointments"), _("Walk-ins"), _("Booked bay-minutes"),
             _("Open bay-minutes")]]
    load += [[str(d["label"]), c["hour"], c["bookings"], c["walk_ins"], c["booked_minutes"], c["open_minutes"]]
             for d in page["grid"] for c in d["cells"]]
    month = f"{page['month']:%Y-%m}"
    return [
        (_("Monthly table %(y)s") % {"y": page["year"]}, table),
        (_("Bay use %(m)s") % {"m": month}, use),
        (_("Peak load %(m)s") % {"m": month}, load),
    ]


@login_required
@require_GET
def measures_export(request):
    """The measures page's tables as one XLSX workbook."""
    _form, page, stores = _measures(request)
    content, _rows = xlsx_workbook_bytes(measures_sheets(page))
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    store = f"-{stores[page['single_store']].code}" if page["single_store"] in stores else ""
    response["Content-Disposition"] = attachment_header(f"appointment-measures-{page['year']}{store}.xlsx")
    return response


DRILL_PAGE_SIZE = 50


def _drill(request, what: str):
    require_perm(request.user, Perm.APPOINTMENT_BOARD)
    form = MeasuresDrillForm(request.GET or None)
    page = None
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        store_ids, _stores = _measures_stores(request, d.get("store"))
        if what == "orders":
            rows = appointment_measures.repair_orders_of_month(user=request.user, store_ids=store_ids,
                                                                month=d["month"], booked=d.get("booked"),
                                                                until=d.get("until"))
        else:
            rows = appointment_measures.bookings_of_month(user=request.user, store_ids=store_ids, month=d["month"],
                                                          state=d.get("state") or None, weekday=d.get("weekday"),
                                                          hour=d.get("hour"), until=d.get("until"))
        page = Paginator(rows, DRILL_PAGE_SIZE).get_page(request.GET.get("page"))
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "appointments/measures_drill.html", {"form": form, "page": page, "what": what},
                  status=status)


@login_required
@require_GET
def measures_orders(request):
    """The repair orders behind a figure of the appointment rate (month, store, booked or not)."""
    return _drill(request, "orders")


@login_required
@require_GET
def measures_bookings(request):
    """The appointments behind a figure (month, store, state, weekday and hour)."""
    return _drill(request, "bookings")
