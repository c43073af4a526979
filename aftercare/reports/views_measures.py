"""The measures pages (docs/reports.md, "Measures"): `/reports/measures/` and `/reports/measures/<code>/`."""

from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from aftercare.core import charts
from aftercare.core.exports import XLSX_CONTENT_TYPE, attachment_header, xlsx_workbook_bytes
from aftercare.org.calendar import business_date, month_add
from aftercare.org.kpis import Period, Unit, drill_for, period_bounds
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import current_store_ids

from . import measures as m
from .forms import MeasuresForm


def _choice(request):
    """(form, scope, period kind, period start) from the query; a store or region outside the scope is a 404."""
    form = MeasuresForm(request.GET or None)
    choice = form.choice()
    scope = m.measures_scope(user=request.user, level=choice["level"], store_id=choice["store"],
                             region_id=choice["region"], current=current_store_ids(request.user, request))
    today = business_date()
    start, _end = m.period_of(choice["period"], choice["start"], today)
    return form, scope, choice["period"], start, today


def _query(scope, kind, start) -> str:
    return urlencode({**scope.query, "period": kind, "start": f"{start:%Y-%m}"})


def _unit(measure) -> str:
    return "%" if measure.unit == Unit.PERCENT else str(measure.unit_label)


def _context(request, form, scope, kind, start):
    return {
        "form": form, "scope": scope, "kind": kind, "start": start,
        "may_compare": m.may_compare(request.user),
        "regions": m.regions_in_scope(request.user) if m.may_compare(request.user) else [],
        "query": _query(scope, kind, start),
        "period_label": period_label(kind, start),
    }


def period_label(kind, start) -> str:
    if kind == Period.YEAR:
        return f"{start:%Y}"
    if kind == Period.QUARTER:
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    return f"{start:%Y-%m}"


def _drill(figure, store_id: int, start, end) -> None:
    """The figure's numerator and denominator link to the app's lists of exactly the rows they count (the
    measure's `drill`, registered by its app), for one store and the period."""
    drill = drill_for(figure.measure, store_id=store_id, start=start, end=end)
    figure.numerator_url, figure.denominator_url = drill.numerator, drill.denominator


def _link(table_rows, scope, kind, start) -> None:
    """Each figure links to the measure's page for its scope (the total) or its store; a store's figure (and the
    total of a store scope) also to its rows."""
    end = period_bounds(kind, start)[1]
    for row in table_rows:
        base = reverse("reports:measure_detail", args=[row.measure.code])
        row.total.url = f"{base}?{_query(scope, kind, start)}"
        if scope.store is not None:
            _drill(row.total, scope.store.pk, start, end)
        for figure in row.stores:
            query = urlencode({"level": "store", "store": figure.store.pk, "period": kind, "start": f"{start:%Y-%m}"})
            figure.url = f"{base}?{query}"
            _drill(figure, figure.store.pk, start, end)


def measures_page(request):
    """Every store measure of the catalogue for the level and period chosen."""
    require_perm(request.user, Perm.REPORTS_VIEW)
    form, scope, kind, start, today = _choice(request)
    table = m.measures_table(user=request.user, scope=scope, kind=kind, start=start, today=today)
    _link(table["rows"], scope, kind, start)
    context = _context(request, form, scope, kind, start)
    context.update(table=table, store_choices=_store_choices(request))
    return render(request, "reports/measures/index.html", context)


def _store_choices(request):
    from aftercare.org.models import Store
    from aftercare.org.scoping import visible_store_ids

    return list(Store.objects.filter(pk__in=visible_store_ids(request.user)).order_by("code"))


def measure_detail(request, measure_code: str):
    """One measure: the 12-month trend with its target, the stores compared (region, group), the table."""
    require_perm(request.user, Perm.REPORTS_VIEW)
    measure = m.report_measure_get(measure_code)
    form, scope, kind, start, today = _choice(request)
    context = _context(request, form, scope, kind, start)
    detail = measure_detail_data(request.user, scope, measure, kind, start, today)
    _link([detail["row"]], scope, kind, start)
    base = reverse("reports:measure_detail", args=[measure.code])
    for t in detail["trend"]:
        t["figure"].url = f"{base}?{_query(scope, Period.MONTH, t['month'])}"
        if scope.store is not None:
            _drill(t["figure"], scope.store.pk, t["month"], month_add(t["month"], 1))
    context.update(detail, measure=measure, store_choices=_store_choices(request))
    return render(request, "reports/measures/detail.html", context)


def measure_detail_data(user, scope, measure, kind, start, today) -> dict:
    targets = m.target_rows(user, scope.store_ids, [measure.code], start, period_bounds(kind, start)[1])
    end = period_bounds(kind, start)[1]
    row = m.measure_figures(user=user, scope=scope, measure=measure, kind=kind, start=start, end=end, today=today,
                            targets=targets)
    trend = m.measure_trend(user=user, scope=scope, measure=measure, month=start if kind == Period.MONTH else
                            month_add(end, -1), today=today)
    unit = _unit(measure)
    last_target = next((t["figure"].target for t in reversed(trend) if t["figure"].target is not None), None)
    line = charts.line_chart(
        str(measure.name), [f"{t['month']:%Y-%m}" for t in trend],
        [charts.Series(str(measure.name), [t["figure"].value for t in trend])],
        target=last_target, target_label=_("target"), y_unit=unit,
    )
    bars = None
    if row.stores:
        bars = charts.bar_chart(
            str(measure.name), [s.store.code for s in row.stores],
            [charts.Series(period_label(kind, start), [s.value for s in row.stores])],
            target=row.total.target, target_label=_("target"), y_unit=unit,
        )
    return {"row": row, "trend": trend, "line_chart": line, "bar_chart": bars}


def _state_label(state: str) -> str:
    return {"met": _("met"), "missed": _("missed"), "running": _("running")}.get(state, "")


def measure_export(request, measure_code: str):
    """The detail page's figures as XLSX: the period (total and stores) and the 12-month trend."""
    require_perm(request.user, Perm.REPORTS_VIEW)
    measure = m.report_measure_get(measure_code)
    _form, scope, kind, start, today = _choice(request)
    data = measure_detail_data(request.user, scope, measure, kind, start, today)
    header = [_("Store"), _("Period"), _("Actual"), _("Numerator"), _("Denominator"), _("Target"), _("Gap"),
              _("State"), _("Provisional"), _("Rank"), _("Unit")]

    def line(figure, label):
        j = figure.judgement
        return [figure.store.code if figure.store else _("total"), label, figure.value, figure.numerator,
                figure.denominator, figure.target, j.gap, _state_label(j.state), _("yes") if figure.provisional else "",
                figure.rank, _unit(measure)]

    period = [header, line(data["row"].total, period_label(kind, start))]
    period += [line(s, period_label(kind, start)) for s in data["row"].stores]
    trend = [header] + [line(t["figure"], f"{t['month']:%Y-%m}") for t in data["trend"]]
    content, _n = xlsx_workbook_bytes([(_("Period"), period), (_("Trend"), trend)])
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment_header(f"{measure.code}-{period_label(kind, start)}.xlsx")
    return response
