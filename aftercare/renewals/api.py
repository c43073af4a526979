"""The renewals API under /api/renewals (django-ninja; mounted in `aftercare/api.py`)."""

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from aftercare.core.api import ERRORS, MAX_ID
from aftercare.org.calendar import business_date
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import narrowed_store_ids

router = Router(tags=["renewals"])

# ---- measures (measures part) ----------------------------------------------------------------------------------


class MeasuresFilter(Schema):
    year: int | None = Field(None, ge=2000, le=2100, description="Default: this year")
    store: int | None = Field(None, ge=1, le=MAX_ID, description="A store's id (must be in scope); default: every "
                              "store in scope, summed")
    month: str | None = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
                              description="YYYY-MM of `year`: the month of the breakdowns (default: this month in "
                              "this year, else the year's last month)")


class JudgeOut(Schema):
    target: Decimal | None = Field(None, description="The target that applies (amounts in yuan)")
    target_source: str | None = Field(None, description="month, quarter, year (set for that period) or default")
    gap: Decimal | None = Field(None, description="actual − target")
    state: str = Field(..., description="met, missed, running (the period is not over) or none")


class CellOut(Schema):
    period: str = Field(..., description="month, quarter or year")
    start: dt.date
    value: Decimal | int | None = Field(None, description="None: no denominator, or an amount you may not see")
    numerator: int | None = None
    denominator: int | None = None
    running: bool
    judge: JudgeOut | None = Field(None, description="Measures of the KPI catalogue only")
    url: str | None = Field(None, description="The cases behind a month's case figure (the renewal list)")


class RowOut(Schema):
    key: str
    label: str
    measure: str | None = Field(None, description="The KPI catalogue's code")
    cells: list[CellOut]


class SegmentOut(Schema):
    segment: str
    label: str
    expiring: int
    renewed_here: int
    renewed_elsewhere: int
    not_renewed: int
    renewal_rate: Decimal | None
    trend: list[Decimal | None] = Field(..., description="The renewal rate of each month of the year")


class ReasonOut(Schema):
    reason: str
    label: str
    renewed_elsewhere: int
    not_renewed: int
    count: int
    share: Decimal | None = Field(None, description="% of the cases renewed elsewhere or not renewed")


class SpecialistOut(Schema):
    user_id: int | None
    name: str
    expiring: int
    effective: int
    renewed_here: int
    renewal_rate: Decimal | None
    premium: Decimal | None = Field(None, description="Renewal premium recorded (renewal.premium only)")


class MeasuresOut(Schema):
    year: int
    month: dt.date = Field(..., description="The month of the breakdowns")
    store_ids: list[int]
    premiums: bool = Field(..., description="Whether amounts are shown (renewal.premium)")
    rows: list[RowOut]
    segments: list[SegmentOut]
    specialists: list[SpecialistOut]
    reasons: list[ReasonOut]


@router.get("/measures", response={200: MeasuresOut, **ERRORS}, operation_id="renewal_measures",
            summary="The monthly renewal table")
def renewal_measures(request: HttpRequest, filters: Query[MeasuresFilter]):
    """The renewal measures page as data: per month, quarter and year the policies sold (count, premium) and the
    cases expiring (renewed here, elsewhere, not renewed, rates) beside their targets; the breakdown month's
    segments, specialists and reasons for loss. A store outside the caller's scope answers 404; a `month` outside
    `year` 422."""
    from .kpis import renewal_measures_page

    require_perm(request.user, Perm.RENEWAL_WORK)
    today = business_date()
    month = dt.date(int(filters.month[:4]), int(filters.month[5:]), 1) if filters.month else None
    year = filters.year or (month.year if month else today.year)
    if month is not None and month.year != year:
        from django.core.exceptions import ValidationError

        raise ValidationError({"month": ["Choose a month of the year asked for."]})
    if month is None:
        month = today.replace(day=1) if year == today.year else dt.date(year, 12 if year < today.year else 1, 1)
    ids = narrowed_store_ids(request.user, filters.store)
    page = renewal_measures_page(user=request.user, store_ids=ids, year=year, month=month, today=today)
    rows = []
    for row in page["rows"]:
        cells = []
        for c in row["cells"]:
            j = c["judge"]
            judge = None if j is None else {
                "target": j.target.value if j.target else None, "target_source": j.target.source if j.target else None,
                "gap": j.gap, "state": j.state,
            }
            cells.append({"period": c["kind"], "start": c["start"], "value": c["value"], "numerator": c["numerator"],
                          "denominator": c["denominator"], "running": c["running"], "judge": judge, "url": c["url"]})
        rows.append({"key": row["key"], "label": str(row["label"]),
                     "measure": row["measure"].code if row["measure"] else None, "cells": cells})
    b = page["breakdowns"]
    return {
        "year": year, "month": month, "store_ids": sorted(ids), "premiums": page["premiums"], "rows": rows,
        "segments": [{**s, "label": str(s["label"]), "trend": [c["rate"] for c in s["trend"]]}
                     for s in page["segments"]],
        "specialists": [{**s, "user_id": s["specialist"]} for s in b["specialists"]],
        "reasons": b["reasons"],
    }
