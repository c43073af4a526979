"""Integration API for customer files: scoped reads (and, below, data quality and merge).

Phones are masked (`138****5678`) in every read. Roles holding `customer.reveal_phone` get the full
E.164 numbers from `POST /customers/{id}/reveal-phone`, which writes a `reveal` audit event
(without the number).
"""

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import paginate

from aftercare.core.api import ERRORS, Pagination, PathId
from aftercare.org.choices import SharedResource
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import narrowed_store_ids, store_for_write

from . import selectors, services
from . import validators as v

router = Router(tags=["customers"])

_ID = Field(None, ge=1, le=2**63 - 1)
_DAY = {"ge": dt.date(1900, 1, 1), "le": dt.date(2999, 12, 31)}


def _text(value: str | None) -> str:
    """Query text without NUL characters (PostgreSQL rejects them)."""
    return (value or "").replace("\x00", "")


def _masked(value: str) -> str:
    return v.mask_mobile(value) if value else ""


# ---- schemas -------------------------------------------------------------------------------------------------


class CustomerRefOut(Schema):
    id: int
    number: str
    name: str


class VehicleBriefOut(Schema):
    id: int
    vin: str
    plate: str
    brand: str
    model: str
    delivery_date: dt.date | None


class CustomerOut(Schema):
    id: int
    store: str = Field(..., alias="store.code", description="Store code")
    number: str
    name: str
    mobile: str = Field(..., description="Masked, e.g. 138****5678")
    region: str
    background: str
    source: str
    consent_service_calls: bool
    consent_marketing: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_mobile(obj) -> str:
        return _masked(obj.mobile)


class CustomerDetailOut(CustomerOut):
    dms_code: str | None
    mobile2: str = Field(..., description="Masked")
    contact_phone: str = Field(..., description="Masked")
    address: str
    birthday: dt.date | None
    contact_person: str
    vehicles: list[VehicleBriefOut] = Field(..., alias="current_vehicles", description="Vehicles owned now")

    @staticmethod
    def resolve_mobile2(obj) -> str:
        return _masked(obj.mobile2)

    @staticmethod
    def resolve_contact_phone(obj) -> str:
        return _masked(obj.contact_phone)


class PhonesOut(Schema):
    mobile: str = Field(..., description="E.164")
    mobile2: str
    contact_phone: str


class VehicleOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    vin: str
    plate: str
    brand: str
    model: str
    delivery_date: dt.date | None
    warranty_end: dt.date | None
    next_maintenance_due: dt.date | None
    current_owner: CustomerRefOut | None

    @staticmethod
    def resolve_current_owner(obj):
        current = getattr(obj, "current_ownerships", None)
        return current[0].customer if current else None


class OwnershipOut(Schema):
    customer: CustomerRefOut
    valid_from: dt.date
    valid_to: dt.date | None = Field(..., description="Null while current")


class VehicleDetailOut(VehicleOut):
    maintenance_interval_km: int | None
    maintenance_interval_months: int | None
    ownerships: list[OwnershipOut] = Field(..., alias="ownership_history", description="Newest first")


class RepairOrderOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    ro_number: str
    vehicle_id: int
    customer_id: int
    settled_at: dt.datetime
    kind: str
    amount: Decimal
    mileage: int | None
    service_advisor: str
    booked: bool
    fault_description: str


class DeliveryOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    vehicle_id: int
    customer_id: int
    delivered_at: dt.datetime
    sales_consultant: str
    order_number: str


class PolicyOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    policy_number: str
    vehicle_id: int
    customer_id: int
    insurer: str
    start_date: dt.date
    expiry_date: dt.date
    premium: Decimal
    kind: str


# ---- filters -------------------------------------------------------------------------------------------------


class CustomerFilter(Schema):
    q: str = Field("", max_length=100, description="Name, mobile digits, plate, VIN (or its tail), customer number")


class VehicleFilter(Schema):
    q: str = Field("", max_length=50, description="Plate, VIN or VIN tail")
    plate: str = Field("", max_length=20, description="Exact plate, e.g. 粤B12345")
    vin: str = Field("", max_length=30, description="Exact VIN")


class RepairOrderFilter(Schema):
    customer_id: int | None = _ID
    vehicle_id: int | None = _ID
    settled_from: dt.date | None = Field(None, description="Settled on or after this day (Asia/Shanghai)", **_DAY)
    settled_to: dt.date | None = Field(None, description="Settled before this day (exclusive)", **_DAY)


class DeliveryFilter(Schema):
    customer_id: int | None = _ID
    vehicle_id: int | None = _ID
    delivered_from: dt.date | None = Field(None, description="Delivered on or after this day (Asia/Shanghai)", **_DAY)
    delivered_to: dt.date | None = Field(None, description="Delivered before this day (exclusive)", **_DAY)


class PolicyFilter(Schema):
    customer_id: int | None = _ID
    vehicle_id: int | None = _ID
    expiry_from: dt.date | None = Field(None, description="Expiring on or after this day", **_DAY)
    expiry_to: dt.date | None = Field(None, description="Expiring before this day (exclusive)", **_DAY)


# ---- read endpoints ------------------------------------------------------------------------------------------


@router.get("/customers", response={200: list[CustomerOut], **ERRORS}, operation_id="customer_list")
@paginate(Pagination)
def customer_list(request: HttpRequest, filters: Query[CustomerFilter]):
    """Customers of the stores the caller may see, searched by `q`."""
    require_perm(request.user, Perm.CUSTOMER_VIEW)
    return selectors.customer_list(user=request.user, q=_text(filters.q))


@router.get("/customers/{customer_id}", response={200: CustomerDetailOut, **ERRORS}, operation_id="customer_detail")
def customer_detail(request: HttpRequest, customer_id: PathId):
    """One customer with the vehicles they own now. Another store's id answers 404. Each read is audited (a `view`
    event: caller, customer, store, time); lists and searches are not."""
    require_perm(request.user, Perm.CUSTOMER_VIEW)
    customer = selectors.customer_get(user=request.user, pk=customer_id)
    customer.current_vehicles = list(selectors.customer_vehicles(user=request.user, customer=customer))
    services.customer_view_record(actor=request.user, customer=customer, route="api:customer_detail", via="api")
    return customer


@router.post(
    "/customers/{customer_id}/reveal-phone", response={200: PhonesOut, **ERRORS}, operation_id="customer_reveal_phone"
)
def customer_reveal_phone(request: HttpRequest, customer_id: PathId):
    """The full phone numbers (E.164). Needs `customer.reveal_phone`; audited as a `reveal`. At most the store's
    `phone_reveals_per_hour` (default 60) per user in any hour; beyond it 429, audited as `reveal_refused`."""
    customer = selectors.customer_get(user=request.user, pk=customer_id)
    require_perm(request.user, Perm.CUSTOMER_REVEAL_PHONE)
    try:
        services.customer_phone_reveal(actor=request.user, customer=customer)
    except services.RevealLimitReached as exc:  # the store's reveals per user per hour; audited as refused
        raise HttpError(429, exc.message) from None
    return {"mobile": customer.mobile, "mobile2": customer.mobile2, "contact_phone": customer.contact_phone}


@router.get("/vehicles", response={200: list[VehicleOut], **ERRORS}, operation_id="vehicle_list")
@paginate(Pagination)
def vehicle_list(request: HttpRequest, filters: Query[VehicleFilter]):
    """Vehicles in scope, by plate or VIN."""
    require_perm(request.user, Perm.CUSTOMER_VIEW)
    return selectors.vehicle_list(
        user=request.user, q=_text(filters.q), plate=_text(filters.plate), vin=_text(filters.vin)
    ).select_related("store")


@router.get("/vehicles/{vehicle_id}", response={200: VehicleDetailOut, **ERRORS}, operation_id="vehicle_detail")
def vehicle_detail(request: HttpRequest, vehicle_id: PathId):
    """One vehicle with its ownership history. Audited as a `view` naming the owners shown."""
    require_perm(request.user, Perm.CUSTOMER_VIEW)
    vehicle = selectors.vehicle_get(user=request.user, pk=vehicle_id)
    vehicle.ownership_history = list(selectors.ownership_history(user=request.user, vehicle=vehicle))
    vehicle.current_ownerships = [o for o in vehicle.ownership_history if o.valid_to is None]
    services.vehicle_view_record(
        actor=request.user, vehicle=vehicle, customer_ids=[o.customer_id for o in vehicle.ownership_history],
        route="api:vehicle_detail", via="api",
    )
    return vehicle


@router.get("/repair-orders", response={200: list[RepairOrderOut], **ERRORS}, operation_id="repair_order_list")
@paginate(Pagination)
def repair_order_list(request: HttpRequest, filters: Query[RepairOrderFilter]):
    """Repair orders, newest first; `settled_from` / `settled_to` form a half-open range of Shanghai days."""
    require_perm(request.user, Perm.CUSTOMER_VIEW)
    return selectors.repair_order_list(
        user=request.user,
        customer=filters.customer_id,
        vehicle=filters.vehicle_id,
        settled_from=filters.settled_from,
        settled_to=filters.settled_to,
    ).select_related("store")


@router.get(
    "/repair-orders/{repair_order_id}", response={200: RepairOrderOut, **ERRORS}, operation_id="repair_order_detail"
)
def repair_order_detail(request: HttpRequest, repair_order_id: PathId):
    require_perm(request.user, Perm.CUSTOMER_VIEW)
    return selectors.repair_order_get(user=request.user, pk=repair_order_id)


@router.get("/deliveries", response={200: list[DeliveryOut], **ERRORS}, operation_id="delivery_list")
@paginate(Pagination)
def delivery_list(request: HttpRequest, filters: Query[DeliveryFilter]):
    """New-car deliveries, newest first; `delivered_from` / `delivered_to` form a half-open range."""
    require_perm(request.user, Perm.CUSTOMER_VIEW)
    return selectors.delivery_list(
        user=request.user,
        customer=filters.customer_id,
        vehicle=filters.vehicle_id,
        delivered_from=filters.delivered_from,
        delivered_to=filters.delivered_to,
    ).select_related("store")


@router.get("/policies", response={200: list[PolicyOut], **ERRORS}, operation_id="policy_list")
@paginate(Pagination)
def policy_list(request: HttpRequest, filters: Query[PolicyFilter]):
    """Insurance policies, latest expiry first; `expiry_from` / `expiry_to` form a half-open range."""
    require_perm(request.user, Perm.CUSTOMER_VIEW)
    return selectors.policy_list(
        user=request.user,
        customer=filters.customer_id,
        vehicle=filters.vehicle_id,
        expiry_from=filters.expiry_from,
        expiry_to=filters.expiry_to,
    ).select_related("store")


@router.get("/policies/{policy_id}", response={200: PolicyOut, **ERRORS}, operation_id="policy_detail")
def policy_detail(request: HttpRequest, policy_id: PathId):
    require_perm(request.user, Perm.CUSTOMER_VIEW)
    return selectors.policy_get(user=request.user, pk=policy_id)


# ---- data quality and merge ----------------------------------------------------------------------------------

DataQualityKindCode = Literal[
    "duplicate_mobile",
    "duplicate_name_vehicle",
    "customer_without_vehicle",
    "vehicle_without_owner",
    "missing_mobile",
    "missing_address",
    "missing_contact_person",
    "missing_birthday",
]


class StoreQualityOut(Schema):
    store_id: int = Field(..., alias="store.pk")
    store: str = Field(..., alias="store.code", description="Store code")
    customers: int = Field(..., description="Active customer files")
    vehicles: int
    counts: dict[str, int] = Field(..., description="Per problem kind; duplicate kinds count groups")
    duplicate_customers: int = Field(..., description="Active customers in any duplicate group")
    flagged_customers: int = Field(..., description="Customers without a vehicle or in a duplicate group")
    field_score: float | None = Field(..., description="Filled required fields, percent")
    mapping_score: float | None = Field(..., description="Customer/vehicle mapping, percent")
    score: float | None = Field(..., description="Completeness score, percent; null for an empty store")


class DataQualityIssueOut(Schema):
    kind: str
    store: str = Field(..., alias="store.code")
    customer_ids: list[int] = Field(..., description="One customer, or the files of a duplicate group (oldest first)")
    customer_numbers: list[str]
    vehicle_id: int | None = None
    vin: str | None = None
    mobile: str = Field("", description="Masked shared mobile of a same-mobile group")

    @staticmethod
    def resolve_customer_ids(obj) -> list[int]:
        return [c.pk for c in obj.customers]

    @staticmethod
    def resolve_customer_numbers(obj) -> list[str]:
        return [c.number for c in obj.customers]

    @staticmethod
    def resolve_vehicle_id(obj) -> int | None:
        return obj.vehicle.pk if obj.vehicle is not None else None

    @staticmethod
    def resolve_vin(obj) -> str | None:
        return obj.vehicle.vin if obj.vehicle is not None else None

    @staticmethod
    def resolve_mobile(obj) -> str:
        return _masked(obj.phone)


class DataQualityIssueFilter(Schema):
    kind: DataQualityKindCode
    store_id: int | None = Field(None, ge=1, le=2**63 - 1, description="Only this store (must be in scope)")


class CustomerMergeIn(Schema):
    merge_id: int = Field(..., ge=1, le=2**63 - 1, description="The duplicate file merged away (same store)")


class CustomerMergeOut(Schema):
    id: int
    number: str
    name: str
    merged_id: int


def _dq_store_ids(request: HttpRequest, store_id: int | None):
    return narrowed_store_ids(request.user, store_id, SharedResource.CUSTOMERS)


@router.get(
    "/data-quality/summary",
    response={200: list[StoreQualityOut], **ERRORS},
    operation_id="data_quality_summary",
    tags=["data quality"],
)
def data_quality_summary(request: HttpRequest, store_id: int | None = Query(None, ge=1, le=2**63 - 1)):
    """Problem counts and completeness score per store in scope (see docs/data-quality.md)."""
    require_perm(request.user, Perm.DATA_QUALITY_VIEW)
    return selectors.data_quality_summary(user=request.user, store_ids=_dq_store_ids(request, store_id))


@router.get(
    "/data-quality/issues",
    response={200: list[DataQualityIssueOut], **ERRORS},
    operation_id="data_quality_issues",
    tags=["data quality"],
)
@paginate(Pagination)
def data_quality_issues(request: HttpRequest, filters: Query[DataQualityIssueFilter]):
    """The rows of one problem kind; duplicate kinds list groups."""
    require_perm(request.user, Perm.DATA_QUALITY_VIEW)
    return selectors.data_quality_issues(
        user=request.user, kind=filters.kind, store_ids=_dq_store_ids(request, filters.store_id)
    )


@router.post(
    "/customers/{customer_id}/merge",
    response={200: CustomerMergeOut, **ERRORS},
    operation_id="customer_merge",
    tags=["data quality"],
)
def customer_merge(request: HttpRequest, customer_id: PathId, payload: CustomerMergeIn):
    """Merge customer `merge_id` into `customer_id` (kept). Same store only (422 otherwise); audited."""
    require_perm(request.user, Perm.CUSTOMER_MERGE)
    keep = selectors.customer_get(user=request.user, pk=customer_id)
    merge = selectors.customer_get(user=request.user, pk=payload.merge_id)
    store_for_write(request.user, keep.store_id)
    store_for_write(request.user, merge.store_id)
    kept = services.customer_merge(actor=request.user, keep=keep, merge=merge)
    return {"id": kept.pk, "number": kept.number, "name": kept.name, "merged_id": merge.pk}
