"""The measure parts quality adds to the KPI catalogue (`org/kpis.py`), registered in `QualityConfig.ready()`;
definition in docs/kpis.md and docs/quality.md ("Parts-shipment accuracy")."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

from aftercare.org.calendar import business_date
from aftercare.org.kpis import Direction, KpiValue, Level, Measure, Period, Rollup, Unit, rate
from aftercare.org.kpis import register as register_measure
from aftercare.org.scoping import visible_store_ids

from .selectors_evaluations import evaluation_scores
from .selectors_scorecard import parts_shipment_totals

SHIPMENT_ACCURACY_TARGET = Decimal(98)  # seed 004: parts-shipment accuracy ≥ 98 %
EVALUATION_SCORE_TARGET = Decimal(85)  # no figure in the seeds: a visit passing 85 % of the points


def _scope(user, store_ids, period_end: dt.date) -> tuple[frozenset[int], bool]:
    """The stores the measure computes (those `user` sees, narrowed to `store_ids`) and whether the period runs."""
    ids = visible_store_ids(user)
    if store_ids is not None:
        ids = ids & frozenset(store_ids)
    return ids, business_date() < period_end


def shipment_accuracy(*, user, store_ids, period_start: dt.date, period_end: dt.date) -> list[KpiValue]:
    """Per store: lines shipped right / lines shipped over the months of the period (the carmaker's file)."""
    ids, running = _scope(user, store_ids, period_end)
    return [
        KpiValue(store_id, period_start, period_end, rate(right, shipped), right, shipped, provisional=running)
        for store_id, (right, shipped) in sorted(parts_shipment_totals(
            store_ids=ids, since=period_start, until=period_end).items())
    ]


PARTS_SHIPMENT_ACCURACY = Measure(
    code="quality.parts_shipment_accuracy",
    app="quality",
    name=_("Parts-shipment accuracy"),
    definition=_(
        "Share of the parts order lines the carmaker shipped to the store in the period's months that were shipped "
        "right (part, quantity and destination), from the carmaker's monthly parts-shipment file."
    ),
    numerator=_("order lines shipped right"),
    denominator=_("order lines shipped"),
    unit=Unit.PERCENT,
    direction=Direction.HIGHER,
    levels=(Level.STORE,),
    periods=(Period.MONTH, Period.QUARTER, Period.YEAR),
    default_target=SHIPMENT_ACCURACY_TARGET,
    compute=shipment_accuracy,
)


def evaluation_score(*, user, store_ids, period_start: dt.date, period_end: dt.date) -> list[KpiValue]:
    """Per store: the mean score (%) of the evaluation visits submitted for visit dates in the period."""
    ids, running = _scope(user, store_ids, period_end)
    values = []
    for store_id, (total, n) in sorted(evaluation_scores(store_ids=ids, since=period_start, until=period_end).items()):
        mean = (Decimal(total) / n).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        values.append(KpiValue(store_id, period_start, period_end, mean, None, n, provisional=running))
    return values


EVALUATION_SCORE = Measure(
    code="quality.evaluation_score",
    app="quality",
    name=_("Dealer evaluation score"),
    definition=_(
        "Mean score of the itinerant service staff's evaluation visits to the store submitted for visit dates in the "
        "period: each visit's points over the form's maximum, in %."
    ),
    numerator=_("scores of the submitted visits"),
    denominator=_("submitted visits"),
    unit=Unit.PERCENT,
    direction=Direction.HIGHER,
    levels=(Level.STORE,),
    periods=(Period.MONTH, Period.QUARTER, Period.YEAR),
    default_target=EVALUATION_SCORE_TARGET,
    compute=evaluation_score,
    rollup=Rollup.NONE,
)


def register_measures() -> None:
    register_measure(EVALUATION_SCORE)
    register_measure(PARTS_SHIPMENT_ACCURACY)
