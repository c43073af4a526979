"""The complaint and first-time-fix measures of the KPI catalogue (`aftercare/org/kpis.py`), registered in
`ComplaintsConfig.ready()`.

Definitions: docs/kpis.md ("Complaints and first-time fix"). One compute hook per measure, each reading
`selectors.complaint_measures_range` (five queries whatever the stores and months); the default targets are the
selector's `MEASURE_TARGETS`.
"""

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

from aftercare.org.calendar import business_date, month_add
from aftercare.org.kpis import (
    Direction,
    KpiValue,
    Level,
    Measure,
    Period,
    Unit,
    list_drill,
    measure_get,
    register,
)
from aftercare.org.selectors import kpi_judge, kpi_targets_resolved, month_is_running

from . import selectors

# The selector's key of each measure (`complaint_measures_range` rows) → its code in the catalogue.
CODES = {
    "timeliness": "complaints.timeliness",
    "verification": "complaints.verification_rate",
    "supervisor": "complaints.supervisor_handling",
    "first_call": "complaints.first_call_handled",
    "first_time_fix": "complaints.first_time_fix_rate",
}


def _values(key: str):
    def compute(*, user, store_ids, period_start: dt.date, period_end: dt.date) -> list[KpiValue]:
        """Per store: the measure over the months of `[period_start, period_end)` (numerators and denominators
        summed; provisional when any month is)."""
        until = period_end if period_end.day == 1 else month_add(period_end, 1)
        rows = selectors.complaint_measures_range(
            user=user, store_ids=store_ids, since_month=period_start.replace(day=1), until_month=until, measures=(key,)
        )
        totals: dict = defaultdict(lambda: [0, 0, False])
        for row in rows:
            cell, t = row[key], totals[row["store_id"]]
            t[0] += cell["numerator"]
            t[1] += cell["denominator"]
            t[2] = t[2] or cell["provisional"]
        out = []
        for store_id, (num, den, provisional) in sorted(totals.items()):
            rate = (Decimal(num) * 100 / den).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if den else None
            out.append(KpiValue(store_id, period_start, period_end, rate, num, den, provisional))
        return out

    return compute


def _drill(key: str):
    """The measure's drill-down: the forms its numerator and its denominator count (`selectors.complaint_measure_rows`,
    the filters the measure counts with), of one store and the months of the period; for first time fix, the repair
    orders (`selectors.first_time_fix_orders`)."""
    if key == "first_time_fix":
        return list_drill("complaints:measure_orders", {"counted": "numerator"}, {"counted": "denominator"})
    return list_drill("complaints:measure_rows", {"measure": key, "counted": "numerator"},
                      {"measure": key, "counted": "denominator"})


_COMMON = {
    "app": "complaints",
    "unit": Unit.PERCENT,
    "direction": Direction.HIGHER,
    "levels": (Level.STORE,),
    "periods": (Period.MONTH, Period.QUARTER, Period.YEAR),
}

TIMELINESS = Measure(
    code=CODES["timeliness"],
    name=_("Complaint timeliness"),
    definition=_(
        "Share of the complaint forms due that the department returned before their deadline the first time, "
        "by the month the form was recorded."
    ),
    numerator=_("forms first returned before their deadline"),
    denominator=_("forms due: with a deadline, and returned or past their deadline and not paused"),
    default_target=selectors.MEASURE_TARGETS["timeliness"],
    compute=_values("timeliness"),
    drill=_drill("timeliness"),
    **_COMMON,
)
VERIFICATION = Measure(
    code=CODES["verification"],
    name=_("Verification call rate"),
    definition=_("Share of the forms first returned to customer service whose verification call was made."),
    numerator=_("forms with a verification result (satisfied or not)"),
    denominator=_("forms first returned to customer service in the month"),
    default_target=selectors.MEASURE_TARGETS["verification"],
    compute=_values("verification"),
    drill=_drill("verification"),
    **_COMMON,
)
SUPERVISOR = Measure(
    code=CODES["supervisor"],
    name=_("Handled by supervisor level"),
    definition=_("Share of the complaints returned in the month that a supervisor or above returned or took over."),
    numerator=_("complaints returned or taken over by a supervisor, store manager or group admin"),
    denominator=_("complaints first returned in the month"),
    default_target=selectors.MEASURE_TARGETS["supervisor"],
    compute=_values("supervisor"),
    drill=_drill("supervisor"),
    **_COMMON,
)
FIRST_CALL = Measure(
    code=CODES["first_call"],
    name=_("First-call dissatisfied handled"),
    definition=_(
        "Share of the complaints and grievances recorded by a follow-up call that were returned in time or archived."
    ),
    numerator=_("such feedback first returned in time, or archived"),
    denominator=_("complaints and grievances recorded by a follow-up call, without those still in progress"),
    default_target=selectors.MEASURE_TARGETS["first_call"],
    compute=_values("first_call"),
    drill=_drill("first_call"),
    **_COMMON,
)
FIRST_TIME_FIX = Measure(
    code=CODES["first_time_fix"],
    name=_("First-time-fix rate"),
    definition=_(
        "Share of the repair orders settled in the month that no repeat repair of the same fault followed within "
        "the store's window."
    ),
    numerator=_("repair orders not followed by a repeat repair"),
    denominator=_("repair orders of the counting kinds settled in the month"),
    default_target=selectors.MEASURE_TARGETS["first_time_fix"],
    compute=_values("first_time_fix"),
    drill=_drill("first_time_fix"),
    **_COMMON,
)

MEASURES = (TIMELINESS, VERIFICATION, SUPERVISOR, FIRST_CALL, FIRST_TIME_FIX)


def register_measures() -> None:
    """Add the complaint measures to the catalogue (`ComplaintsConfig.ready()`)."""
    for measure in MEASURES:
        register(measure)


def measures_page(*, user, rows: list[dict], trend: dict) -> dict:
    """The complaint measures page's columns and cells from the catalogue: each head is a catalogue measure (name,
    definition, numerator, denominator, unit, direction, default target); each row of `rows`
    (`selectors.complaint_measures`) gets `cells`, each trend store its rows, with `judge`: the store's target for
    the month (month → quarter → year → default, one query), the gap and met / missed / running."""
    by_key = {key: measure_get(code) for key, code in CODES.items()}
    keys = [key for key in selectors.MEASURES if by_key.get(key) is not None]
    stores = {row["store_id"] for row in rows} | {s["store"].pk for s in trend["stores"]}
    months = {row["month"] for row in rows} | set(trend["months"])
    resolved = kpi_targets_resolved(user=user, store_ids=stores, measures=[by_key[k] for k in keys], months=months)
    today = business_date()

    def cells(row) -> list[dict]:
        out = []
        for key in keys:
            measure = by_key[key]
            target = resolved.get((row["store_id"], measure.code, row["month"]))
            judge = kpi_judge(measure, row[key]["rate"], target, running=month_is_running(row["month"], today))
            out.append({**row[key], "judge": judge})
        return out

    for row in rows:
        row["cells"] = cells(row)
    trend_rows = []
    for s in trend["stores"]:
        judged = [cells(r) for r in s["rows"]]
        for i, key in enumerate(keys):
            trend_rows.append({"store": s["store"], "label": by_key[key].name, "cells": [c[i] for c in judged]})
    return {"heads": [by_key[k] for k in keys], "trend_rows": trend_rows}
