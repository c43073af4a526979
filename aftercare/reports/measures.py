"""The measures pages (docs/reports.md, "Measures"): every store measure of the KPI catalogue (`org/kpis.py`) for a
store, a region or the dealer group and a month, quarter or year, beside its target.

Reads only: each measure's own `compute` hook (once for all the stores asked for), one query for the stores and one
for their targets. A region's or the group's figure adds the stores' figures up as the measure's `rollup` says
(numerators and denominators, or values); its target is the stores' targets summed (sum) or weighted by each
store's denominator (ratio); none when a store has none. A median (`rollup` none) has per-store figures only.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.http import Http404

from aftercare.org.calendar import month_add
from aftercare.org.kpis import KpiValue, Level, Measure, Period, Rollup, measure_get, measures, period_bounds, rate
from aftercare.org.models import KpiTarget, Region, Store
from aftercare.org.scoping import visible_store_ids
from aftercare.org.selectors import Judgement, kpi_judge, kpi_target_of_period, kpi_targets_combined

LEVELS = (Level.STORE, Level.REGION, Level.GROUP)
PERIODS = (Period.MONTH, Period.QUARTER, Period.YEAR)
TREND_MONTHS = 12


def report_measures() -> list[Measure]:
    """The catalogue's measures with a store grain and a compute hook (staff measures have their own pages)."""
    return [m for m in measures() if Level.STORE in m.levels and m.compute is not None]


def report_measure_get(code: str) -> Measure:
    measure = measure_get(code)
    if measure is None or measure not in report_measures():
        raise Http404
    return measure


@dataclass
class Scope:
    """Whose figures: `level`, the stores (in scope) it covers, the region or store it is."""

    level: str
    stores: list
    store: Store | None = None
    region: Region | None = None

    @property
    def store_ids(self) -> list[int]:
        return [s.pk for s in self.stores]

    @property
    def query(self) -> dict:
        out = {"level": self.level}
        if self.store is not None:
            out["store"] = self.store.pk
        if self.region is not None:
            out["region"] = self.region.pk
        return out


def may_compare(user) -> bool:
    """Region and group levels are for those who see several stores."""
    return len(visible_store_ids(user)) > 1


def measures_scope(*, user, level: str, store_id: int | None = None, region_id: int | None = None,
                   current: frozenset[int] = frozenset()) -> Scope:
    """The stores of `level` the user may see. A store or region outside the scope, or a region / group level for a
    user who sees one store, answers 404. Defaults: the store chosen in the switcher (`current`) or the first
    visible one; its region."""
    visible = visible_store_ids(user)
    if not visible or level not in LEVELS:
        raise Http404
    stores = list(Store.objects.filter(pk__in=visible).select_related("region").order_by("code"))
    by_id = {s.pk: s for s in stores}
    fallback = next((s for s in stores if s.pk in current), stores[0]) if len(current) == 1 else stores[0]
    if level == Level.STORE:
        if store_id is not None and store_id not in by_id:
            raise Http404
        store = by_id[store_id] if store_id is not None else fallback
        return Scope(level, [store], store=store)
    if len(stores) < 2:
        raise Http404
    if level == Level.REGION:
        region_id = fallback.region_id if region_id is None else region_id
        mine = [s for s in stores if s.region_id == region_id]
        if not mine:
            raise Http404
        return Scope(level, mine, region=mine[0].region)
    return Scope(level, stores)


def regions_in_scope(user) -> list[Region]:
    return list(Region.objects.filter(stores__id__in=visible_store_ids(user)).distinct().order_by("code"))


def period_of(kind: str, start: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The half-open period of `kind` containing `start` (default: the running one)."""
    if kind not in PERIODS:
        raise ValueError(kind)
    return period_bounds(kind, start or today)


# ---- targets ----------------------------------------------------------------------------------------------------


def target_rows(user, store_ids, codes, since: dt.date, until: dt.date) -> dict:
    """{(store id, code): {(kind, start): value}} of the targets of periods starting in the years of
    `[since, until)`; one query."""
    ids = visible_store_ids(user) & frozenset(store_ids)
    out: dict = {}
    rows = KpiTarget.objects.filter(
        store_id__in=ids, measure_code__in=codes,
        period_start__gte=dt.date(since.year, 1, 1), period_start__lt=dt.date(until.year + 1, 1, 1),
    ).values_list("store_id", "measure_code", "period_kind", "period_start", "value")
    for store_id, code, kind, start, value in rows:
        out.setdefault((store_id, code), {})[(kind, start)] = value
    return out


# one store's target of a period, several stores' as one: org owns targets and their resolution
store_target = kpi_target_of_period
combined_target = kpi_targets_combined


# ---- figures ----------------------------------------------------------------------------------------------------


@dataclass
class Figure:
    """One figure beside its target: a store's (`store` set) or the level's total (`store` None)."""

    measure: Measure
    store: Store | None
    value: Decimal | int | None
    numerator: int | None
    denominator: int | None
    provisional: bool
    judgement: Judgement
    rank: int | None = None
    url: str = ""  # the measure's page for this store or scope
    numerator_url: str = ""  # the list of the rows the numerator counts (the measure's `drill`), "" if none
    denominator_url: str = ""  # the list of the rows the denominator counts

    @property
    def target(self):
        return self.judgement.target.value if self.judgement.target else None


@dataclass
class MeasureRow:
    measure: Measure
    total: Figure
    stores: list[Figure] = field(default_factory=list)


def _total(measure: Measure, values: list[KpiValue]) -> tuple:
    """(value, numerator, denominator, provisional) of several stores' values added up."""
    provisional = any(v.provisional for v in values)
    if len(values) == 1:
        v = values[0]
        return v.value, v.numerator, v.denominator, provisional
    if not values or measure.rollup == Rollup.NONE:
        return None, None, None, provisional
    if measure.rollup == Rollup.RATIO:
        num = sum(v.numerator or 0 for v in values)
        den = sum(v.denominator or 0 for v in values)
        return rate(num, den), num, den, provisional
    present = [v.value for v in values if v.value is not None]
    return (sum(present) if present else None), None, None, provisional


def _rank(measure: Measure, figures: list[Figure]) -> None:
    """1 = best in the measure's direction; stores without a figure get none. Ties share a rank."""
    ranked = sorted((f for f in figures if f.value is not None), key=lambda f: f.value,
                    reverse=measure.direction == "higher")
    previous, rank = None, 0
    for i, figure in enumerate(ranked, start=1):
        if figure.value != previous:
            rank, previous = i, figure.value
        figure.rank = rank


def measure_figures(*, user, scope: Scope, measure: Measure, kind: str, start: dt.date, end: dt.date,
                    today: dt.date, targets: dict) -> MeasureRow:
    """One measure for the scope's stores over `[start, end)`: the total and (region, group) each store's, ranked.
    Calls the measure's compute once."""
    running = today < end
    values = [v for v in measure.compute(user=user, store_ids=scope.store_ids, period_start=start, period_end=end)
              if v.store_id in set(scope.store_ids)]
    by_store = {v.store_id: v for v in values}
    store_targets = {
        s.pk: store_target(measure, targets.get((s.pk, measure.code), {}), kind, start) for s in scope.stores
    }
    per_store = []
    for store in scope.stores:
        v = by_store.get(store.pk)
        target = store_targets[store.pk]
        value = v.value if v else None
        per_store.append(Figure(measure, store, value, v.numerator if v else None, v.denominator if v else None,
                                bool(v and v.provisional), kpi_judge(measure, value, target, running=running)))
    value, num, den, provisional = _total(measure, values)
    target = combined_target(measure, [(store_targets[s.pk], by_store[s.pk].denominator if s.pk in by_store else 0)
                                       for s in scope.stores])
    total = Figure(measure, None, value, num, den, provisional or (running and bool(values)),
                   kpi_judge(measure, value, target, running=running))
    if scope.level == Level.STORE:
        return MeasureRow(measure, total)
    _rank(measure, per_store)
    return MeasureRow(measure, total, per_store)


def measures_table(*, user, scope: Scope, kind: str, start: dt.date, today: dt.date) -> dict:
    """Every report measure for the scope and period containing `start`: one compute per measure, one target
    query."""
    start, end = period_bounds(kind, start)
    catalogue = report_measures()
    targets = target_rows(user, scope.store_ids, [m.code for m in catalogue], start, end)
    rows = [measure_figures(user=user, scope=scope, measure=m, kind=kind, start=start, end=end, today=today,
                            targets=targets) for m in catalogue]
    return {"scope": scope, "kind": kind, "start": start, "end": end, "running": today < end, "rows": rows}


def measure_trend(*, user, scope: Scope, measure: Measure, month: dt.date, today: dt.date) -> list[dict]:
    """The scope's figure of each of the `TREND_MONTHS` months up to `month`: one compute per month."""
    first = month_add(month.replace(day=1), -(TREND_MONTHS - 1))
    targets = target_rows(user, scope.store_ids, [measure.code], first, month_add(month.replace(day=1), 1))
    out = []
    for i in range(TREND_MONTHS):
        start = month_add(first, i)
        row = measure_figures(user=user, scope=scope, measure=measure, kind=Period.MONTH, start=start,
                              end=month_add(start, 1), today=today, targets=targets)
        out.append({"month": start, "figure": row.total})
    return out
