"""Reads of the dealer scorecard and the parts-shipment months (docs/quality.md, "Dealer scorecard").

The scorecard puts, for one month, each store's key after-sales measures of the KPI catalogue (`org/kpis.py`, each
computed by its own app's hook, once for all the stores) beside its target, and ranks the stores: per measure in the
measure's direction, and overall by the mean of the per-measure points (best store 100, worst 0, evenly between;
a measure a store has no figure for is left out of its mean). A user ranks the stores they see: the group admin the
whole group, itinerant service staff the stores they visit, a store's manager their own store (no rank)."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet, Sum

from aftercare.org.calendar import business_date
from aftercare.org.kpis import Measure, measure_get, period_bounds
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import visible_store_ids
from aftercare.org.selectors import Judgement, kpi_judge, kpi_targets_resolved, month_is_running

from .selectors import quality_store_ids
from .shipment_models import PartsShipmentMonth

# The scorecard's columns, in order (issue 20): each a measure code of the catalogue; a measure not registered (an
# app not installed) is left out.
SCORECARD_CODES = (
    "quality.evaluation_score",
    "followups.return_visit_rate",
    "followups.ssi_score",
    "followups.csi_score",
    "complaints.timeliness",
    "complaints.first_time_fix_rate",
    "quality.parts_shipment_accuracy",
    "renewals.renewal_rate",
    "appointments.appointment_rate",
)


def parts_shipment_list(*, user, store_ids=None) -> QuerySet[PartsShipmentMonth]:
    """The stores' parts-shipment months in scope, newest first."""
    ids = quality_store_ids(user)
    if store_ids is not None:
        ids = ids & frozenset(store_ids)
    return (PartsShipmentMonth.objects.filter(store_id__in=ids).select_related("store")
            .order_by("-month", "store__code"))


def parts_shipment_totals(*, store_ids, since: dt.date, until: dt.date) -> dict[int, tuple[int, int]]:
    """{store id: (lines right, lines shipped)} over the months starting in `[since, until)`: one query."""
    rows = (PartsShipmentMonth.objects.filter(store_id__in=store_ids, month__gte=since, month__lt=until)
            .values("store_id").annotate(right=Sum("lines_right"), shipped=Sum("lines_shipped")))
    return {r["store_id"]: (r["right"], r["shipped"]) for r in rows}


@dataclass
class Cell:
    measure: Measure
    value: Decimal | int | None
    judgement: Judgement
    rank: int | None = None
    points: Decimal | None = None


@dataclass
class StoreCard:
    store: Store
    cells: list[Cell] = field(default_factory=list)
    score: Decimal | None = None
    rank: int | None = None


@dataclass
class Scorecard:
    month: dt.date
    running: bool
    measures: list[Measure]
    rows: list[StoreCard]

    @property
    def ranked(self) -> bool:
        return len(self.rows) > 1


def _points(measure: Measure, cells: list[Cell]) -> None:
    """Rank the cells with a figure in the measure's direction (ties share the better rank) and give points: best
    100, worst 0, evenly between; one store alone gets no points."""
    valued = [c for c in cells if c.value is not None]
    reverse = measure.direction == "higher"
    ordered = sorted({Decimal(c.value) for c in valued}, reverse=reverse)
    for c in valued:
        c.rank = 1 + sum(1 for other in valued if (Decimal(other.value) > Decimal(c.value) if reverse
                                                     else Decimal(other.value) < Decimal(c.value)))
        if len(ordered) > 1:
            position = ordered.index(Decimal(c.value))
            c.points = (Decimal(100) * (len(ordered) - 1 - position) / (len(ordered) - 1)).quantize(
                Decimal("0.1"), rounding=ROUND_HALF_UP)
        elif len(valued) > 1:  # every store the same figure
            c.points = Decimal(100)


def scorecard_month(*, user, month: dt.date, today: dt.date | None = None) -> Scorecard:
    """The scorecard of the stores `user` sees for the month containing `month`."""
    require_perm(user, Perm.QUALITY_VIEW)
    today = today or business_date()
    start, end = period_bounds("month", month)
    measures = [m for m in (measure_get(code) for code in SCORECARD_CODES) if m is not None and m.compute]
    stores = list(Store.objects.filter(pk__in=visible_store_ids(user)).order_by("code"))
    ids = [s.pk for s in stores]
    running = month_is_running(start, today)
    targets = kpi_targets_resolved(user=user, store_ids=ids, measures=measures, months=[start])
    values = {}
    for m in measures:
        for v in m.compute(user=user, store_ids=ids, period_start=start, period_end=end):
            if v.user_id is None:
                values[(v.store_id, m.code)] = v.value
    rows = [StoreCard(store=s) for s in stores]
    for m in measures:
        column = []
        for row in rows:
            value = values.get((row.store.pk, m.code))
            cell = Cell(m, value, kpi_judge(m, value, targets.get((row.store.pk, m.code, start)), running=running))
            row.cells.append(cell)
            column.append(cell)
        _points(m, column)
    for row in rows:
        points = [c.points for c in row.cells if c.points is not None]
        if points:
            row.score = (sum(points) / len(points)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    for row in rows:
        if row.score is not None:
            row.rank = 1 + sum(1 for r in rows if r.score is not None and r.score > row.score)
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.store.code))
    return Scorecard(month=start, running=running, measures=measures, rows=rows)
