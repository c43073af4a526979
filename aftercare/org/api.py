"""The org app's API: the start page (`GET /api/start`) and the KPI catalogue.

KPI catalogue: the measures (`GET /api/kpis`) and a store's targets (`GET/PUT /api/kpis/{code}/targets`).

Reading needs a staff role; setting needs `kpi.set_target` and a store of the caller's own (another store: 404).
An unknown measure answers 404 on reads and 422 naming `code` on writes, a bad value 422 naming `value`.
"""

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from aftercare.core.api import ERRORS, MAX_ID

from . import selectors, services
from .calendar import business_date
from .choices import KpiPeriodKind
from .kpis import KPI_TARGET_MAX, Measure, measure_get, measures
from .permissions import Perm, require_perm, require_staff
from .scoping import narrowed_store_ids, store_for_write
from .start import start_cards

kpis_router = Router(tags=["KPIs"])

PeriodKind = Literal[tuple(KpiPeriodKind.values)]  # type: ignore[valid-type]
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class ResolvedOut(Schema):
    month: dt.date
    value: Decimal | None = Field(None, description="The target that applies to the month (None: no target)")
    source: str | None = Field(None, description="month, quarter, year (a target set for that period) or default")


class MeasureOut(Schema):
    code: str
    app: str
    name: str
    definition: str
    numerator: str
    denominator: str
    unit: str
    direction: str
    levels: list[str]
    periods: list[str]
    rollup: str = Field(..., description="How store figures add up to a region's or the group's: ratio (numerators "
                        "and denominators summed), sum (values summed) or none (a median: per store only)")
    grains: list[list[str]] = Field(..., description="Every [level, period] the measure has a figure for")
    default_target: Decimal | None
    targetable: bool = Field(..., description="Takes a target per store and month, quarter or year")
    target: ResolvedOut | None = Field(None, description="With `store_id`: the store's target for `month`")


class CatalogueFilter(Schema):
    store_id: int | None = Field(None, ge=1, le=MAX_ID)
    month: str | None = Field(None, pattern=MONTH_PATTERN, description="YYYY-MM (default: this month)")


class TargetOut(Schema):
    id: int
    store_id: int
    measure_code: str
    period_kind: str
    period_start: dt.date
    value: Decimal
    note: str
    updated_at: dt.datetime


class TargetsOut(Schema):
    code: str
    year: int
    targets: list[TargetOut] = Field(..., description="The targets set for periods starting in `year`")
    months: list[ResolvedOut] = Field(..., description="With `store_id`: the target that applies to each month")


class TargetsFilter(Schema):
    store_id: int | None = Field(None, ge=1, le=MAX_ID)
    year: int | None = Field(None, ge=2000, le=2100)


class TargetIn(Schema):
    store_id: int = Field(..., ge=1, le=MAX_ID)
    period_kind: PeriodKind
    period_start: dt.date = Field(..., description="First day of the month, quarter or year")
    value: Decimal | None = Field(..., ge=0, le=KPI_TARGET_MAX, description="null clears the target")
    note: str = Field("", max_length=200)


def _measure_out(measure: Measure, target=None) -> dict:
    return {
        "code": measure.code,
        "app": measure.app,
        "name": str(measure.name),
        "definition": str(measure.definition),
        "numerator": str(measure.numerator),
        "denominator": str(measure.denominator),
        "unit": measure.unit,
        "direction": measure.direction,
        "levels": list(measure.levels),
        "periods": list(measure.periods),
        "rollup": measure.rollup,
        "grains": [list(grain) for grain in measure.grains],
        "default_target": measure.default_target,
        "targetable": measure.targetable,
        "target": target,
    }


def _resolved_out(month: dt.date, resolved) -> dict:
    if resolved is None:
        return {"month": month, "value": None, "source": None}
    return {"month": month, "value": resolved.value, "source": resolved.source}


@kpis_router.get("", response={200: list[MeasureOut], **ERRORS}, operation_id="kpi_list")
def kpi_list(request: HttpRequest, filters: Query[CatalogueFilter]):
    """The KPI catalogue; with `store_id` (a store in scope, else 404) each measure's target for `month`."""
    require_staff(request.user)
    catalogue = measures()
    if filters.store_id is None:
        return [_measure_out(m) for m in catalogue]
    narrowed_store_ids(request.user, filters.store_id)
    month = dt.date.fromisoformat(filters.month + "-01") if filters.month else business_date().replace(day=1)
    resolved = selectors.kpi_targets_resolved(
        user=request.user, store_ids=[filters.store_id], measures=[m for m in catalogue if m.targetable], months=[month]
    )
    return [
        _measure_out(m, _resolved_out(month, resolved.get((filters.store_id, m.code, month))) if m.targetable else None)
        for m in catalogue
    ]


@kpis_router.get("/{code}/targets", response={200: TargetsOut, **ERRORS}, operation_id="kpi_target_list")
def kpi_targets(request: HttpRequest, code: str, filters: Query[TargetsFilter]):
    """The targets of one measure set for the stores in scope (or one `store_id`) in `year` (default: this year);
    with `store_id`, the target that applies to each month. An unknown measure or a store outside scope: 404."""
    require_staff(request.user)
    measure = measure_get(code)
    if measure is None:
        raise Http404
    year = filters.year or business_date().year
    store_ids = narrowed_store_ids(request.user, filters.store_id) if filters.store_id is not None else None
    rows = list(selectors.kpi_target_list(user=request.user, store_ids=store_ids, measure_code=code, year=year))
    months_out = []
    if filters.store_id is not None and measure.targetable:
        months = [dt.date(year, m, 1) for m in range(1, 13)]
        resolved = selectors.kpi_targets_resolved(
            user=request.user, store_ids=store_ids, measures=[measure], months=months
        )
        months_out = [_resolved_out(m, resolved.get((filters.store_id, code, m))) for m in months]
    return {"code": code, "year": year, "targets": rows, "months": months_out}


@kpis_router.put("/{code}/targets", response={200: TargetOut, 204: None, **ERRORS}, operation_id="kpi_target_set")
def kpi_target_put(request: HttpRequest, code: str, payload: TargetIn):
    """Set one target of a store of the caller's own (`kpi.set_target`); `value: null` clears it (204).
    Another store: 404; an unknown measure: 422 naming `code`; a value outside the measure's unit: 422 `value`."""
    require_perm(request.user, Perm.KPI_SET_TARGET)
    store = store_for_write(request.user, payload.store_id)
    measure = measure_get(code)
    if measure is None:
        raise ValidationError({"code": [f"Unknown measure: {code}."]})
    try:
        row = services.kpi_target_set(
            actor=request.user,
            store=store,
            measure=measure.code,
            period_kind=payload.period_kind,
            period_start=payload.period_start,
            value=payload.value,
            note=payload.note,
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "measure_code" in exc.error_dict:
            exc.error_dict["code"] = exc.error_dict.pop("measure_code")
        raise
    if row is None:
        return Status(204, None)
    return Status(200, row)


# ---- the start page ---------------------------------------------------------------------------------------------

start_router = Router(tags=["start page"])


class CardRowOut(Schema):
    label: str
    count: int
    url: str = Field(..., description="The page listing exactly these rows (site path with its filters)")
    severity: str = Field(..., description='"", "info", "warning" or "danger"')
    display: str = Field("", description='A KPI row\'s figure ("92.5%"), shown instead of the count (then 0)')


class CardOut(Schema):
    key: str
    title: str
    rows: list[CardRowOut]


class StartFilter(Schema):
    store_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only this store (must be in scope)")


@start_router.get("", response={200: list[CardOut], **ERRORS}, operation_id="start_cards", summary="The start page")
def start(request: HttpRequest, filters: Query[StartFilter]):
    """The cards of the caller's start page, in order, counted over the stores in scope (or the one `store_id`);
    each row's `url` opens the list of exactly its rows. A store outside the caller's scope answers 404."""
    ids = narrowed_store_ids(request.user, filters.store_id)
    cards = start_cards(user=request.user, store_ids=ids, now=timezone.now())
    return [
        {
            "key": card.key,
            "title": str(card.title),
            "rows": [
                {"label": str(r.label), "count": r.count, "url": r.url, "severity": r.severity, "display": r.display}
                for r in data.rows
            ],
        }
        for card, data in cards
    ]
