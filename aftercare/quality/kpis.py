"""The measure parts quality adds to the KPI catalogue (`org/kpis.py`), registered in `QualityConfig.ready()`;
definition in docs/kpis.md and docs/quality.md ("Parts-shipment accuracy")."""

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from aftercare.org.calendar import business_date
from aftercare.org.kpis import Direction, KpiValue, Level, Measure, Period, Unit, rate
from aftercare.org.kpis import register as register_measure
from aftercare.org.scoping import visible_store_ids

from .selectors_scorecard import parts_shipment_totals

SHIPMENT_ACCURACY_TARGET = Decimal(98)  # seed 004: parts-shipment accuracy ≥ 98 %


def shipment_accuracy(*, user, store_ids, period_start: dt.date, period_end: dt.date) -> list[KpiValue]:
    """Per store: lines shipped right / lines shipped over the months of the period (the carmaker's file)."""
    ids = visible_store_ids(user)
    if store_ids is not None:
        ids = ids & frozenset(store_ids)
    running = business_date() < period_end
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


def register_measures() -> None:
    register_measure(PARTS_SHIPMENT_ACCURACY)
