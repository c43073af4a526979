"""Appointments API (mounted at /api/appointments). Another store's id answers 404, a role without the permission
403, bad input 422 naming the field, a slot taken meanwhile 409 (`SlotTaken`).

---- availability and bookings (aself part) ----
Times are ISO 8601 with their offset: answers are in Asia/Shanghai (`+08:00`, no daylight saving), inputs may use
any offset (`+08:00`, `Z` …) and a time without one answers 422. Dates (`from`, `to`) are Asia/Shanghai days,
half-open: `from` inclusive, `to` exclusive."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from aftercare.core.api import ERRORS, MAX_ID, ConflictOut, Pagination, PathId
from aftercare.customers.models import Customer, Vehicle
from aftercare.customers.validators import mask_mobile
from aftercare.org.calendar import business_date, business_day_start, business_tz
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, has_perm, require_perm
from aftercare.org.scoping import narrowed_store_ids, own_store_ids

from . import selectors
from .availability import availability
from .choices import BookingSource, BookingState
from .models import ServiceKind
from .services.booking import SlotTaken, booking_cancel, booking_create, booking_move
from .services.day import booking_arrive

router = Router(tags=["appointments"])

StateCode = Literal[tuple(BookingState.values)]  # type: ignore[valid-type]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
MAX_DAYS = 62  # the longest availability range asked at once
YEARS = (2000, 2100)  # dates and times outside these years are refused (422), not computed


def _local(at: dt.datetime | None) -> dt.datetime | None:
    return at.astimezone(business_tz()) if at is not None else None


def _instant(at: dt.datetime, field: str) -> dt.datetime:
    """An aware instant within the years served, or 422 naming `field`."""
    if timezone.is_naive(at):
        raise ValidationError({field: ["Give the time with its offset, e.g. 2027-03-02T09:00:00+08:00."]})
    if not YEARS[0] <= at.year <= YEARS[1] or at.utcoffset() is None:
        raise ValidationError({field: [f"Give a time in the years {YEARS[0]}–{YEARS[1]}."]})
    return at.astimezone(dt.UTC)


def _day(day: dt.date | None, field: str) -> dt.date | None:
    if day is not None and not YEARS[0] <= day.year <= YEARS[1]:
        raise ValidationError({field: [f"Give a date in the years {YEARS[0]}–{YEARS[1]}."]})
    return day


def _may_read(user) -> None:
    if not (has_perm(user, Perm.APPOINTMENT_BOOK) or has_perm(user, Perm.APPOINTMENT_BOARD)):
        require_perm(user, Perm.APPOINTMENT_BOOK)


def _renamed(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError({names.get(k, k): v for k, v in exc.error_dict.items()})


# ---- schemas -------------------------------------------------------------------------------------------------


class AvailabilityFilter(Schema):
    store: int = Field(..., ge=1, le=MAX_ID, description="The store's id (in scope)")
    date_from: dt.date | None = Field(None, alias="from", description="First day (Asia/Shanghai); default today")
    date_to: dt.date | None = Field(None, alias="to", description=f"Day after the last (exclusive); default "
                                    f"`from` + 14 days; at most {MAX_DAYS} days")
    kinds: str = Field("", max_length=200, pattern=r"^([0-9]{1,18}(,[0-9]{1,18})*)?$",
                       description="Service kind ids, comma-separated (the booking's kinds; none: one slot)")


class FreeStartOut(Schema):
    start: dt.datetime = Field(..., description="ISO time with offset +08:00")
    bay_id: int


class DayOut(Schema):
    date: dt.date
    open: bool
    why_closed: str = Field(..., description="holiday, closed or override; empty when open")
    full: bool = Field(..., description="Open but nothing free for the kinds asked")
    booked: int = Field(..., description="Bookings that day")
    free: list[FreeStartOut]


class KindOut(Schema):
    id: int
    code: str
    name: str


class BookingOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    customer_id: int
    customer_name: str = Field(..., alias="customer.name")
    customer_mobile: str = Field(..., description="Masked, e.g. 138****5678")
    vehicle_id: int
    plate: str = Field(..., alias="vehicle.plate")
    kinds: list[KindOut]
    bay_id: int
    bay: str = Field(..., alias="bay.name")
    advisor_id: int | None
    start_at: dt.datetime = Field(..., description="+08:00")
    end_at: dt.datetime = Field(..., description="+08:00")
    state: StateCode
    source: str
    notes: str
    parts_to_prepare: str
    arrived_at: dt.datetime | None
    repair_order_id: int | None
    created_at: dt.datetime

    @staticmethod
    def resolve_customer_mobile(obj) -> str:
        return mask_mobile(obj.customer.mobile) if obj.customer.mobile else ""

    @staticmethod
    def resolve_kinds(obj) -> list:
        return list(obj.kinds.all())

    @staticmethod
    def resolve_start_at(obj):
        return _local(obj.start_at)

    @staticmethod
    def resolve_end_at(obj):
        return _local(obj.end_at)

    @staticmethod
    def resolve_arrived_at(obj):
        return _local(obj.arrived_at)

    @staticmethod
    def resolve_created_at(obj):
        return _local(obj.created_at)


class BookingEventOut(Schema):
    kind: str
    at: dt.datetime
    actor: str | None = Field(None, description="Username; null: the customer (self-booking link) or a job")
    detail: dict

    @staticmethod
    def resolve_actor(obj) -> str | None:
        return obj.actor.get_username() if obj.actor_id else None

    @staticmethod
    def resolve_at(obj):
        return _local(obj.at)


class BookingDetailOut(BookingOut):
    history: list[BookingEventOut] = Field(..., alias="history_rows", description="Oldest first")


class BookingFilter(Schema):
    store: int | None = Field(None, ge=1, le=MAX_ID, description="A store's id (in scope)")
    date_from: dt.date | None = Field(None, alias="from", description="Starting on or after this day")
    date_to: dt.date | None = Field(None, alias="to", description="Starting before this day (exclusive)")
    state: StateCode | None = None
    customer: int | None = Field(None, ge=1, le=MAX_ID, description="A customer's id")


class BookingIn(Schema):
    customer_id: Id
    vehicle_id: Id
    kinds: list[Id] = Field(..., min_length=1, max_length=10, description="Service kind ids of the store")
    start_at: dt.datetime = Field(..., description="A free start, ISO with offset (+08:00 or Z); no offset: 422")
    advisor_id: Id | None = Field(None, description="A staff member of the store")
    notes: str = Field("", max_length=4000)
    parts_to_prepare: str = Field("", max_length=4000)


class MoveIn(Schema):
    start_at: dt.datetime = Field(..., description="A free start, ISO with offset")
    kinds: list[Id] | None = Field(None, min_length=1, max_length=10, description="Default: the booking's kinds")


class CancelIn(Schema):
    reason: str = Field("", max_length=200)


class ArriveIn(Schema):
    at: dt.datetime | None = Field(None, description="Arrival time with offset; default now")


# ---- availability --------------------------------------------------------------------------------------------


@router.get("/availability", response={200: list[DayOut], **ERRORS}, operation_id="appointment_availability")
def availability_list(request: HttpRequest, filters: Query[AvailabilityFilter]):
    """Each day of the range with its free starts for a booking of `kinds` at the store (capacity minus bookings:
    opening hours on the work calendar, caps, walk-in share, overrides)."""
    _may_read(request.user)
    store_id = next(iter(narrowed_store_ids(request.user, filters.store)))
    start = _day(filters.date_from, "from") or business_date()
    end = _day(filters.date_to, "to") or start + dt.timedelta(days=14)
    if end <= start:
        raise ValidationError({"to": ["`to` must be after `from`."]})
    if (end - start).days > MAX_DAYS:
        raise ValidationError({"to": [f"At most {MAX_DAYS} days at once."]})
    ids = {int(k) for k in filters.kinds.split(",") if k}
    kinds = list(ServiceKind.objects.filter(store_id=store_id, pk__in=ids, is_active=True))
    if len(kinds) != len(ids):
        raise ValidationError({"kinds": ["Give ids of the store's active service kinds."]})
    days = availability(store_id=store_id, start=start, end=end - dt.timedelta(days=1), kinds=kinds)
    return [
        {"date": d.date, "open": d.open, "why_closed": d.why_closed, "full": d.full, "booked": d.booked,
         "free": [{"start": _local(at), "bay_id": bay} for at, bay in d.free]}
        for d in days
    ]


# ---- bookings ------------------------------------------------------------------------------------------------


def _detail(request: HttpRequest, booking_id: int):
    booking = selectors.booking_get(user=request.user, booking_id=booking_id)
    booking.history_rows = list(selectors.booking_events(booking))
    return booking


@router.get("/bookings", response={200: list[BookingOut], **ERRORS}, operation_id="appointment_booking_list")
@paginate(Pagination)
def booking_list(request: HttpRequest, filters: Query[BookingFilter]):
    """The bookings of the stores in scope, by start. Phones are masked."""
    _may_read(request.user)
    store_ids = narrowed_store_ids(request.user, filters.store)
    qs = selectors.booking_rows(selectors.booking_list(user=request.user, store_ids=store_ids))
    if filters.date_from:
        qs = qs.filter(start_at__gte=business_day_start(_day(filters.date_from, "from")))
    if filters.date_to:
        qs = qs.filter(start_at__lt=business_day_start(_day(filters.date_to, "to")))
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.customer:
        qs = qs.filter(customer_id=filters.customer)
    return qs.order_by("start_at", "pk")


@router.get("/bookings/{booking_id}", response={200: BookingDetailOut, **ERRORS},
            operation_id="appointment_booking_detail")
def booking_detail(request: HttpRequest, booking_id: PathId):
    """One booking with its history (made, moved, confirmed, cancelled, arrived …); another store's id: 404."""
    _may_read(request.user)
    return _detail(request, booking_id)


@router.post("/bookings", response={201: BookingDetailOut, 409: ConflictOut, **ERRORS},
             operation_id="appointment_booking_create")
def booking_make(request: HttpRequest, payload: BookingIn):
    """Book a free start (from `availability`) for a customer's vehicle in one of the caller's stores. 409 when the
    slot was taken meanwhile (or the day's cap reached)."""
    require_perm(request.user, Perm.APPOINTMENT_BOOK)
    start_at = _instant(payload.start_at, "start_at")
    own = own_store_ids(request.user)
    customer = Customer.objects.filter(pk=payload.customer_id, store_id__in=own).first()
    if customer is None:
        raise ValidationError({"customer_id": ["No such customer in your stores."]})
    vehicle = Vehicle.objects.filter(pk=payload.vehicle_id, store_id=customer.store_id).first()
    if vehicle is None:
        raise ValidationError({"vehicle_id": ["No such vehicle in the customer's store."]})
    advisor = None
    if payload.advisor_id:
        advisor = get_user_model().objects.filter(pk=payload.advisor_id, is_active=True,
                                                  staff__stores=customer.store_id).first()
        if advisor is None:
            raise ValidationError({"advisor_id": ["Not a staff member of the store."]})
    try:
        booking = booking_create(
            actor=request.user, store=Store.objects.get(pk=customer.store_id), customer=customer, vehicle=vehicle,
            kinds=payload.kinds, start_at=start_at, advisor=advisor, notes=payload.notes,
            parts_to_prepare=payload.parts_to_prepare, source=BookingSource.API,
        )
    except SlotTaken:
        return Status(409, {"detail": "The slot is no longer free."})
    except ValidationError as exc:
        raise _renamed(exc, {"customer": "customer_id", "vehicle": "vehicle_id", "advisor": "advisor_id"}) from None
    return Status(201, _detail(request, booking.pk))


@router.post("/bookings/{booking_id}/move", response={200: BookingDetailOut, 409: ConflictOut, **ERRORS},
             operation_id="appointment_booking_move")
def booking_move_api(request: HttpRequest, booking_id: PathId, payload: MoveIn):
    """Move a booking (not yet arrived, cancelled or missed) to another free start, optionally with other kinds.
    409 when the slot was taken meanwhile."""
    require_perm(request.user, Perm.APPOINTMENT_BOOK)
    booking = selectors.booking_get(user=request.user, booking_id=booking_id)
    start_at = _instant(payload.start_at, "start_at")
    try:
        booking_move(actor=request.user, booking=booking, start_at=start_at, kinds=payload.kinds)
    except SlotTaken:
        return Status(409, {"detail": "The slot is no longer free."})
    return _detail(request, booking_id)


@router.post("/bookings/{booking_id}/cancel", response={200: BookingDetailOut, **ERRORS},
             operation_id="appointment_booking_cancel")
def booking_cancel_api(request: HttpRequest, booking_id: PathId, payload: CancelIn):
    """Cancel an open booking (its slots are freed; history kept)."""
    require_perm(request.user, Perm.APPOINTMENT_BOOK)
    booking = selectors.booking_get(user=request.user, booking_id=booking_id)
    booking_cancel(actor=request.user, booking=booking, reason=payload.reason)
    return _detail(request, booking_id)


@router.post("/bookings/{booking_id}/arrive", response={200: BookingDetailOut, **ERRORS},
             operation_id="appointment_booking_arrive")
def booking_arrive_api(request: HttpRequest, booking_id: PathId, payload: ArriveIn):
    """Check the customer in (show); `appointment.board`."""
    require_perm(request.user, Perm.APPOINTMENT_BOARD)
    booking = selectors.booking_get(user=request.user, booking_id=booking_id)
    at = _instant(payload.at, "at") if payload.at is not None else None
    booking_arrive(actor=request.user, booking=booking, at=at)
    return _detail(request, booking_id)

# ---- measures (ameasure part) ----------------------------------------------------------------------------------


class AppointmentMeasuresFilter(Schema):
    year: int | None = Field(None, ge=2000, le=2100, description="Default: this year")
    store: int | None = Field(None, ge=1, le=MAX_ID, description="A store's id (must be in scope); default: every "
                              "store in scope, summed")
    month: str | None = Field(None, pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$",
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


class AppointmentMeasuresOut(Schema):
    year: int
    month: dt.date
    store_ids: list[int]
    months: list[MonthOut]
    bay_use: Decimal | None = Field(None, description="The month's bay use, %")
    load: list[LoadOut]


@router.get("/measures", response={200: AppointmentMeasuresOut, **ERRORS}, operation_id="appointment_measures",
            summary="Appointment measures of a year")
def appointment_measures(request: HttpRequest, filters: Query[AppointmentMeasuresFilter]):
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
