"""Appointments API (mounted at /api/appointments). Another store's id answers 404, a role without the permission
403, bad input 422 naming the field."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from aftercare.core.api import ERRORS, MAX_ID
from aftercare.org.calendar import business_date
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import narrowed_store_ids

router = Router(tags=["appointments"])

# ---- measures (ameasure part) ----------------------------------------------------------------------------------


class MeasuresFilter(Schema):
    year: int | None = Field(None, ge=2000, le=2100, description="Default: this year")
    store: int | None = Field(None, ge=1, le=MAX_ID, description="A store's id (must be in scope); default: every "
                              "store in scope, summed")
    month: str | None = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
                              description="YYYY-MM of `year`: the month of bay use and peak load (default: this "
                              "month in this year, else the year's last month)")


class MonthOut(Schema):
    month: dt.date
    running: bool = Field(..., description="The month is not over (its figures can still change)")
    orders: int = Field(..., description="Repair orders settled in the month, internal orders and washes left out")
    orders_booked: int
    appointment_rate: Decimal | None = Field(None, description="% booked repair orders / repair orders")
    target: Decimal | None = Field(None, description="The appointment-rate target that applies")
    target_state: str = Field(..., description="met, missed, running or none")
    bookings: int = Field(..., description="Appointments starting in the month, not cancelled")
    arrived: int
    no_show: int
    cancelled: int
    show_rate: Decimal | None = None
    no_show_rate: Decimal | None = None
    lead_time_days: Decimal | None = Field(None, description="Median days from booking made to start")


class LoadOut(Schema):
    weekday: int = Field(..., description="0 = Monday")
    hour: int = Field(..., description="Hour of the day, Asia/Shanghai")
    bookings: int
    walk_ins: int = Field(..., description="Repair orders not booked, by the hour they were settled")
    bay_use: Decimal | None = Field(None, description="% booked bay-minutes / open bay-minutes")


class MeasuresOut(Schema):
    year: int
    month: dt.date
    store_ids: list[int]
    months: list[MonthOut]
    bay_use: Decimal | None = Field(None, description="The month's bay use, %")
    load: list[LoadOut]


@router.get("/measures", response={200: MeasuresOut, **ERRORS}, operation_id="appointment_measures",
            summary="Appointment measures of a year")
def appointment_measures(request: HttpRequest, filters: Query[MeasuresFilter]):
    """Per month of `year`: appointment rate beside its target, show and no-show rates, lead time; for `month`:
    bay use and the load by weekday and hour. A store outside the caller's scope answers 404, a `month` outside
    `year` 422."""
    from .kpis import appointment_measures_page

    require_perm(request.user, Perm.APPOINTMENT_BOARD)
    today = business_date()
    month = dt.date(int(filters.month[:4]), int(filters.month[5:]), 1) if filters.month else None
    year = filters.year or (month.year if month else today.year)
    if month is not None and month.year != year:
        raise ValidationError({"month": ["Choose a month of the year asked for."]})
    if month is None:
        month = today.replace(day=1) if year == today.year else dt.date(year, 12 if year < today.year else 1, 1)
    ids = narrowed_store_ids(request.user, filters.store)
    page = appointment_measures_page(user=request.user, store_ids=ids, year=year, month=month, today=today)
    rows = {r["key"]: r["cells"] for r in page["rows"]}
    months = []
    for i, mo in enumerate(page["months"]):
        cell = rows["appointment_rate"][i]
        judge = cell["judge"]
        months.append({
            "month": mo, "running": cell["running"], "target": judge.target.value if judge and judge.target else None,
            "target_state": judge.state if judge else "none",
            **{k: rows[k][i]["value"] for k in ("orders", "orders_booked", "appointment_rate", "bookings", "arrived",
                                                "no_show", "cancelled", "show_rate", "no_show_rate",
                                                "lead_time_days")},
        })
    load = [{"weekday": d["weekday"], "hour": c["hour"], "bookings": c["bookings"], "walk_ins": c["walk_ins"],
             "bay_use": c["use"]} for d in page["grid"] for c in d["cells"]]
    return {"year": year, "month": month, "store_ids": page["store_ids"], "months": months,
            "bay_use": page["bay_use"]["rate"], "load": load}
