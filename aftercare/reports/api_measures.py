"""`GET /api/reports/measures` (docs/reports.md, "Measures"): the figures of the measures page."""

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Query, Schema

from aftercare.core.api import ERRORS
from aftercare.org.calendar import business_date
from aftercare.org.permissions import Perm, require_perm

from . import measures as m
from .api import router

MAX_ID = 2**63 - 1


class ReportMeasuresFilter(Schema):
    level: str = Field("store", pattern=r"^(store|region|group)$",
                       description="store, region or group (region and group: for users who see several stores)")
    store: int | None = Field(None, ge=1, le=MAX_ID, description="level=store: a store's id in scope (default: the "
                              "first store in scope)")
    region: int | None = Field(None, ge=1, le=MAX_ID, description="level=region: a region's id with a store in "
                               "scope (default: the first store's region)")
    period: str = Field("month", pattern=r"^(month|quarter|year)$", description="month, quarter or year")
    start: dt.date | None = Field(None, ge=dt.date(2000, 1, 1), le=dt.date(2100, 12, 31),
                                  description="A day of the period (default: today, Asia/Shanghai: the running one)")


class FigureOut(Schema):
    store_id: int | None = Field(..., description="None: the level's total")
    store_code: str | None
    value: Decimal | None = Field(..., description="The actual, in the measure's unit; None without a figure")
    numerator: int | None
    denominator: int | None
    provisional: bool = Field(..., description="The figure can still change")
    target: Decimal | None
    target_source: str | None = Field(None, description="month, quarter, year or default")
    gap: Decimal | None = Field(None, description="actual − target")
    state: str = Field(..., description="met, missed, running (missed while the period is not over) or none")
    rank: int | None = Field(None, description="Region and group: 1 = best in the measure's direction")


class MeasureRowOut(Schema):
    code: str
    name: str
    unit: str
    direction: str
    rollup: str
    total: FigureOut
    stores: list[FigureOut] = Field(..., description="Region and group: each store's figure")


class ReportMeasuresOut(Schema):
    level: str
    store_ids: list[int]
    region_id: int | None
    period: str
    start: dt.date
    end: dt.date = Field(..., description="Half-open: the first day after the period")
    running: bool = Field(..., description="The period is not over")
    measures: list[MeasureRowOut]


def _figure(f: m.Figure) -> dict:
    j = f.judgement
    return {
        "store_id": f.store.pk if f.store else None, "store_code": f.store.code if f.store else None,
        "value": f.value, "numerator": f.numerator, "denominator": f.denominator, "provisional": f.provisional,
        "target": f.target, "target_source": j.target.source if j.target else None, "gap": j.gap,
        "state": j.state, "rank": f.rank,
    }


@router.get("/measures", response={200: ReportMeasuresOut, **ERRORS}, operation_id="report_measures",
            summary="Every store measure of the KPI catalogue for a store, region or the group and a period")
def report_measures(request: HttpRequest, filters: Query[ReportMeasuresFilter]):
    """The figures of `/reports/measures/`: per measure the actual, target, gap and state of the level (and of each
    store at region or group level, ranked). A store or region outside the caller's scope — or a region or group
    level for a caller who sees one store — answers 404; without `reports.view` 403."""
    require_perm(request.user, Perm.REPORTS_VIEW)
    scope = m.measures_scope(user=request.user, level=filters.level, store_id=filters.store, region_id=filters.region)
    today = business_date()
    start, end = m.period_of(filters.period, filters.start, today)
    table = m.measures_table(user=request.user, scope=scope, kind=filters.period, start=start, today=today)
    return {
        "level": scope.level, "store_ids": scope.store_ids, "region_id": scope.region.pk if scope.region else None,
        "period": filters.period, "start": start, "end": end, "running": table["running"],
        "measures": [
            {"code": r.measure.code, "name": str(r.measure.name), "unit": r.measure.unit,
             "direction": r.measure.direction, "rollup": r.measure.rollup, "total": _figure(r.total),
             "stores": [_figure(s) for s in r.stores]}
            for r in table["rows"]
        ],
    }
