"""Scoped reads of customer files. Every function takes the acting user first."""

import datetime as dt
import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, F, FilteredRelation, Max, Min, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _

from aftercare.org.calendar import business_day_start, business_tz, day_range
from aftercare.org.choices import SharedResource
from aftercare.org.scoping import get_scoped_or_404, visible_store_ids

from . import validators as v
from .choices import MileageSource
from .models import Customer, InsurancePolicy, MileageReading, Ownership, RepairOrder, SalesDelivery, Vehicle


def _store_ids(user, store_ids=None, resource=SharedResource.CUSTOMERS):
    visible = visible_store_ids(user, resource)
    if store_ids is None:
        return visible
    return visible & frozenset(store_ids)


def _search_condition(q: str) -> Q | None:
    """Name or contact person (any part), customer number, mobile or contact phone digits (any part, >= 4), plate
    (its start from 2 characters, e.g. the province and city 粤A; any part from 3), VIN (full or tail)."""
    q = v.clean_text(q)
    if not q:
        return None
    compact = re.sub(r"[\s\-·()（）]", "", q).upper()
    cond = Q(name__icontains=q) | Q(contact_person__icontains=q) | Q(number__iexact=compact) | Q(dms_code__iexact=q)
    if len(compact) >= 4:
        cond |= Q(number__endswith=compact)
    digits = compact.removeprefix("+")
    if len(digits) >= 4 and digits.isdigit():
        cond |= Q(mobile__contains=digits) | Q(mobile2__contains=digits) | Q(contact_phone__contains=digits)
    vehicle_cond = Q(vin=compact)
    if len(compact) >= 3:
        vehicle_cond |= Q(plate__contains=compact)
    elif len(compact) == 2:
        vehicle_cond |= Q(plate__startswith=compact)
    if 6 <= len(compact) < 17:
        vehicle_cond |= Q(vin__endswith=compact)
    owners = Ownership.objects.filter(
        valid_to__isnull=True, vehicle__in=Vehicle.objects.filter(vehicle_cond).values("id")
    ).values("customer_id")
    return cond | Q(id__in=owners)


def customer_list(*, user, store_ids=None, q: str = "", filters: dict | None = None) -> QuerySet[Customer]:
    """Customers in scope, searched by name, mobile, plate, VIN or customer number, then filtered.

    `filters`: source, background, consent_service_calls (bool), consent_marketing (bool), has_vehicle (bool).
    """
    qs = Customer.objects.filter(store_id__in=_store_ids(user, store_ids), is_active=True)
    cond = _search_condition(q)
    if cond is not None:
        qs = qs.filter(cond)
    filters = filters or {}
    if filters.get("source"):
        qs = qs.filter(source=filters["source"])
    if filters.get("background"):
        qs = qs.filter(background=filters["background"])
    for flag in ("consent_service_calls", "consent_marketing"):
        if filters.get(flag) in (True, False):
            qs = qs.filter(**{flag: filters[flag]})
    if filters.get("has_vehicle") in (True, False):
        current = Ownership.objects.filter(customer_id=OuterRef("pk"), valid_to__isnull=True)
        qs = qs.filter(Exists(current) if filters["has_vehicle"] else ~Exists(current))
    return qs.select_related("store").order_by("store_id", "number")


def customer_list_with_vehicles(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """Attach `current_ownerships` (with vehicles) to each customer of `qs` in one extra query."""
    return qs.prefetch_related(
        Prefetch(
            "ownerships",
            queryset=Ownership.objects.filter(valid_to__isnull=True).select_related("vehicle").order_by("vehicle__vin"),
            to_attr="current_ownerships",
        )
    )


def customer_get(*, user, pk) -> Customer:
    """One customer in scope, or 404."""
    return get_scoped_or_404(Customer.objects.filter(store_id__in=_store_ids(user)).select_related("store"), pk=pk)


def customer_vehicles(*, user, customer: Customer) -> QuerySet[Vehicle]:
    """Vehicles the customer owns now."""
    return Vehicle.objects.filter(
        ownerships__customer=customer, ownerships__valid_to__isnull=True
    ).order_by("vin")


def vehicle_list(*, user, store_ids=None, q: str = "", plate: str = "", vin: str = "") -> QuerySet[Vehicle]:
    """Vehicles in scope; `q` matches plate, VIN or VIN tail; `plate` / `vin` match exactly (normalised).

    Each vehicle carries `current_ownerships` (the current owner, if that customer is in scope too).
    """
    qs = Vehicle.objects.filter(store_id__in=_store_ids(user, store_ids))
    q = v.clean_text(q).replace(" ", "").upper()
    if q:
        # plates and VINs are stored upper-case: exact matches use their indexes
        qs = qs.filter(Q(plate=q) | Q(vin=q) | Q(vin__endswith=q) | (Q(plate__startswith=q) if len(q) >= 2 else Q()))
    plate = v.clean_text(plate).replace(" ", "").upper()
    if plate:
        qs = qs.filter(plate=plate)
    vin = v.clean_text(vin).replace(" ", "").upper()
    if vin:
        qs = qs.filter(vin=vin)
    return qs.prefetch_related(
        Prefetch(
            "ownerships",
            queryset=Ownership.objects.filter(valid_to__isnull=True, store_id__in=_store_ids(user)).select_related(
                "customer"
            ),
            to_attr="current_ownerships",
        )
    ).order_by("vin")


def vehicle_get(*, user, pk) -> Vehicle:
    return get_scoped_or_404(Vehicle.objects.filter(store_id__in=_store_ids(user)), pk=pk)


def _business_day_range(field: str, since: dt.date | None, until: dt.date | None) -> Q:
    """Half-open `[since, until)` on a datetime column, days taken in the business time zone."""
    start, end = day_range(since, until)
    cond = Q()
    if start is not None:
        cond &= Q(**{f"{field}__gte": start})
    if end is not None:
        cond &= Q(**{f"{field}__lt": end})
    return cond


def repair_order_list(
    *,
    user,
    store_ids=None,
    customer=None,
    vehicle=None,
    settled_from: dt.date | None = None,
    settled_to: dt.date | None = None,
) -> QuerySet[RepairOrder]:
    """Repair orders in scope; `customer` / `vehicle` take a row or an id; settled in `[from, to)` (Shanghai days)."""
    qs = RepairOrder.objects.filter(store_id__in=_store_ids(user, store_ids))
    if customer is not None:
        qs = qs.filter(customer=customer)
    if vehicle is not None:
        qs = qs.filter(vehicle=vehicle)
    if settled_from is not None or settled_to is not None:
        qs = qs.filter(_business_day_range("settled_at", settled_from, settled_to))
    return qs.select_related("vehicle", "customer").order_by("-settled_at", "-id")


def repair_order_get(*, user, pk) -> RepairOrder:
    return get_scoped_or_404(repair_order_list(user=user), pk=pk)


def delivery_list(
    *,
    user,
    store_ids=None,
    customer=None,
    vehicle=None,
    delivered_from: dt.date | None = None,
    delivered_to: dt.date | None = None,
) -> QuerySet[SalesDelivery]:
    """Deliveries in scope; delivered in `[from, to)` (Shanghai days)."""
    qs = SalesDelivery.objects.filter(store_id__in=_store_ids(user, store_ids))
    if customer is not None:
        qs = qs.filter(customer=customer)
    if vehicle is not None:
        qs = qs.filter(vehicle=vehicle)
    if delivered_from is not None or delivered_to is not None:
        qs = qs.filter(_business_day_range("delivered_at", delivered_from, delivered_to))
    return qs.select_related("vehicle", "customer").order_by("-delivered_at", "-id")


def policy_list(
    *,
    user,
    store_ids=None,
    customer=None,
    vehicle=None,
    expiry_from: dt.date | None = None,
    expiry_to: dt.date | None = None,
) -> QuerySet[InsurancePolicy]:
    """Policies of stores in scope (or sharing POLICIES); expiring in `[expiry_from, expiry_to)`."""
    qs = InsurancePolicy.objects.filter(store_id__in=_store_ids(user, store_ids, SharedResource.POLICIES))
    if customer is not None:
        qs = qs.filter(customer=customer)
    if vehicle is not None:
        qs = qs.filter(vehicle=vehicle)
    if expiry_from is not None:
        qs = qs.filter(expiry_date__gte=expiry_from)
    if expiry_to is not None:
        qs = qs.filter(expiry_date__lt=expiry_to)
    return qs.select_related("vehicle", "customer").order_by("-expiry_date", "-id")


def policy_get(*, user, pk) -> InsurancePolicy:
    return get_scoped_or_404(policy_list(user=user), pk=pk)


def ownership_history(*, user, vehicle: Vehicle) -> QuerySet[Ownership]:
    return (
        Ownership.objects.filter(vehicle=vehicle, store_id__in=_store_ids(user))
        .select_related("customer")
        .order_by("-valid_from")
    )


def customer_ownerships(*, user, customer: Customer) -> QuerySet[Ownership]:
    """Every ownership (current and past) of the customer, newest first, with the vehicle."""
    return (
        Ownership.objects.filter(customer=customer, store_id__in=_store_ids(user))
        .select_related("vehicle")
        .order_by("-valid_from", "-id")
    )


def mileage_reading_list(*, user, vehicle: Vehicle) -> list[MileageReading]:
    """The vehicle's mileage history, newest first (two queries).

    Repair orders carry their own mileage and are not copied into `MileageReading`: the history
    is each order's mileage on its settle day (Shanghai; one entry per day and km, returned as
    unsaved readings with source "repair order") plus the readings on file that do not come from
    an order (delivery, manual).
    """
    stores = _store_ids(user)
    from_orders = (
        RepairOrder.objects.filter(vehicle=vehicle, store_id__in=stores, mileage__isnull=False)
        .annotate(read_on=TruncDate("settled_at", tzinfo=business_tz()))
        .order_by("-settled_at", "-id")
        .values_list("store_id", "read_on", "mileage")
    )
    readings = list(
        MileageReading.objects.filter(vehicle=vehicle, store_id__in=stores)
        .exclude(source=MileageSource.REPAIR_ORDER)  # older imports stored a copy of the order's mileage
        .order_by("-read_on", "-id")
    )
    seen: set[tuple] = set()
    for store_id, read_on, km in from_orders:
        if (read_on, km) not in seen:
            seen.add((read_on, km))
            readings.append(
                MileageReading(store_id=store_id, vehicle=vehicle, read_on=read_on, km=km,
                               source=MileageSource.REPAIR_ORDER)
            )
    readings.sort(key=lambda r: r.read_on, reverse=True)  # stable: same day keeps file readings first
    return readings


def customer_by_number(*, user, number: str) -> Customer | None:
    """The active customer with this number among the stores `user` works in, or None."""
    number = v.clean_text(number).replace(" ", "").upper()
    if not number:
        return None
    return (
        Customer.objects.filter(store_id__in=visible_store_ids(user), number__iexact=number, is_active=True)
        .select_related("store")
        .first()
    )


def audit_events_for(*, user, obj, limit: int = 100) -> QuerySet:
    """Audit events about one (already scoped) object, newest first. `view` events (someone opened the file) are
    the privacy trail, read in the admin's audit list, not the file's history: left out."""
    from aftercare.core.choices import AuditAction
    from aftercare.core.models import AuditEvent

    return (
        AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
        .exclude(action=AuditAction.VIEW)
        .select_related("actor", "actor__staff")
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str
    title: str
    detail: str = ""
    url: str = ""
    all_day: bool = False  # dated events (policy start, ownership) have no time of day


def customer_timeline(
    *, user, customer: Customer, deliveries, repair_orders, policies, ownerships, limit: int = 100
) -> list[TimelineEntry]:
    """Everything that happened to a customer, newest first: the already-loaded rows plus audit events.

    Costs one query (the audit events); pass in the lists the page already shows.
    """
    from django.urls import reverse
    from django.utils.translation import gettext as _

    entries: list[TimelineEntry] = []
    for d in deliveries:
        entries.append(TimelineEntry(d.delivered_at, "delivery", _("New-car delivery"),
                                     f"{d.vehicle} · {d.sales_consultant}",
                                     reverse("customers:vehicle_detail", args=[d.vehicle_id])))
    for ro in repair_orders:
        entries.append(TimelineEntry(ro.settled_at, "repair_order", ro.get_kind_display(),
                                     f"{ro.ro_number} · {ro.vehicle} · ¥{ro.amount}",
                                     reverse("customers:vehicle_detail", args=[ro.vehicle_id])))
    for p in policies:
        entries.append(TimelineEntry(business_day_start(p.start_date), "policy", p.get_kind_display(),
                                     f"{p.insurer} · {p.policy_number} · {p.vehicle}",
                                     reverse("customers:vehicle_detail", args=[p.vehicle_id]), all_day=True))
    for o in ownerships:
        url = reverse("customers:vehicle_detail", args=[o.vehicle_id])
        became = business_day_start(o.valid_from)
        entries.append(TimelineEntry(became, "ownership", _("Became owner"), str(o.vehicle), url, all_day=True))
        if o.valid_to is not None:
            ended = business_day_start(o.valid_to)
            entries.append(TimelineEntry(ended, "ownership", _("Ownership ended"), str(o.vehicle), url, all_day=True))
    for e in audit_events_for(user=user, obj=customer, limit=limit):
        actor = ""
        if e.actor is not None:
            actor = getattr(getattr(e.actor, "staff", None), "display_name", "") or e.actor.get_username()
        entries.append(TimelineEntry(e.created_at, "audit", e.get_action_display(),
                                     f"{actor} · {', '.join(e.changed_fields)}".strip(" ·")))
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


# --- Data quality (seed 000 p27) ---------------------------------------------------------------------------------
# Every count is one set-based query over all stores in scope (GROUP BY store); rows are paginated in SQL.
# Only active customers (not merged away) count. See docs/data-quality.md for the definitions and the score.

DQ_DUPLICATE_MOBILE = "duplicate_mobile"
DQ_DUPLICATE_NAME_VEHICLE = "duplicate_name_vehicle"
DQ_CUSTOMER_WITHOUT_VEHICLE = "customer_without_vehicle"
DQ_VEHICLE_WITHOUT_OWNER = "vehicle_without_owner"
DQ_MISSING_MOBILE = "missing_mobile"
DQ_MISSING_ADDRESS = "missing_address"
DQ_MISSING_CONTACT_PERSON = "missing_contact_person"
DQ_MISSING_BIRTHDAY = "missing_birthday"


@dataclass(frozen=True)
class DataQualityKind:
    code: str
    label: str
    description: str
    subject: str  # "group" (duplicates: counts are groups), "customer" or "vehicle"


DATA_QUALITY_KINDS: tuple[DataQualityKind, ...] = (
    DataQualityKind(DQ_DUPLICATE_MOBILE, _("Duplicates: same mobile"),
                    _("Two or more customer files of one store share a mobile number (first or second phone)."),
                    "group"),
    DataQualityKind(DQ_DUPLICATE_NAME_VEHICLE, _("Duplicates: same name and vehicle"),
                    _("Two or more customer files of one store with the same name own or owned the same vehicle."),
                    "group"),
    DataQualityKind(DQ_CUSTOMER_WITHOUT_VEHICLE, _("Customers without a vehicle"),
                    _("Customer files that never owned a vehicle, e.g. numbers created by parts-counter sales."),
                    "customer"),
    DataQualityKind(DQ_VEHICLE_WITHOUT_OWNER, _("Vehicles without a current owner"),
                    _("Vehicles of the store with no open ownership."), "vehicle"),
    DataQualityKind(DQ_MISSING_MOBILE, _("Missing mobile"), _("Customer files without a mobile number."),
                    "customer"),
    DataQualityKind(DQ_MISSING_ADDRESS, _("Missing address"), _("Customer files without an address."), "customer"),
    DataQualityKind(DQ_MISSING_CONTACT_PERSON, _("Missing contact person"),
                    _("Customer files without a contact person."), "customer"),
    DataQualityKind(DQ_MISSING_BIRTHDAY, _("Missing birthday"), _("Customer files without a birthday."), "customer"),
)
DATA_QUALITY_KIND_MAP = {k.code: k for k in DATA_QUALITY_KINDS}

# Fields every customer file should have (name is required by the model); the completeness part of the score.
DATA_QUALITY_REQUIRED_FIELDS = {
    DQ_MISSING_MOBILE: Q(mobile=""),
    DQ_MISSING_ADDRESS: Q(address=""),
    DQ_MISSING_CONTACT_PERSON: Q(contact_person=""),
    DQ_MISSING_BIRTHDAY: Q(birthday__isnull=True),
}


def _dq_active_customers(store_ids) -> QuerySet[Customer]:
    return Customer.objects.filter(store_id__in=store_ids, is_active=True)


def _dq_phone_occurrences_sql(store_ids) -> tuple[str, tuple]:
    """SQL of (id, store_id, phone) for every non-blank first or second mobile of active customers."""
    base = _dq_active_customers(store_ids).order_by()
    first = base.exclude(mobile="").annotate(phone=F("mobile")).values_list("id", "store_id", "phone")
    second = base.exclude(mobile2="").annotate(phone=F("mobile2")).values_list("id", "store_id", "phone")
    sql, params = first.union(second, all=True).query.sql_with_params()
    return sql, tuple(params)


def _dq_phone_groups_sql(store_ids) -> tuple[str, tuple]:
    """SQL of (store_id, phone): phones shared by two or more distinct active customers of one store."""
    occ, params = _dq_phone_occurrences_sql(store_ids)
    sql = (
        f"SELECT occ.store_id AS store_id, occ.phone AS phone FROM ({occ}) occ "
        "GROUP BY occ.store_id, occ.phone HAVING MIN(occ.id) <> MAX(occ.id)"
    )
    return sql, params


def _dq_phone_members_sql(store_ids) -> tuple[str, tuple]:
    """SQL of the ids of active customers in a same-mobile group (one pass, window functions)."""
    occ, params = _dq_phone_occurrences_sql(store_ids)
    sql = (
        "SELECT w.id AS id FROM (SELECT occ.id AS id, "
        "MIN(occ.id) OVER (PARTITION BY occ.store_id, occ.phone) AS lo, "
        "MAX(occ.id) OVER (PARTITION BY occ.store_id, occ.phone) AS hi "
        f"FROM ({occ}) occ) w WHERE w.lo <> w.hi"
    )
    return sql, params


def _dq_name_vehicle_groups(store_ids) -> QuerySet:
    """(sid, vid, cname): vehicles owned (now or before) by two or more active same-named customers of one store."""
    return (
        Ownership.objects.filter(customer__store_id__in=store_ids, customer__is_active=True)
        .values(sid=F("customer__store_id"), vid=F("vehicle_id"), cname=F("customer__name"))
        .annotate(lo=Min("customer_id"), hi=Max("customer_id"))
        .filter(lo__lt=F("hi"))
        .order_by()
    )


def _dq_name_vehicle_members_sql(store_ids) -> tuple[str, tuple]:
    """SQL of the ids of active customers in a same-name-and-vehicle group (a customer may appear twice)."""
    qn = connection.ops.quote_name
    groups, params = _dq_name_vehicle_groups(store_ids).query.sql_with_params()
    sql = (
        f"SELECT o.customer_id AS id FROM {qn(Ownership._meta.db_table)} o "
        f"INNER JOIN {qn(Customer._meta.db_table)} c ON c.id = o.customer_id "
        f"INNER JOIN ({groups}) g ON g.sid = c.store_id AND g.vid = o.vehicle_id AND g.cname = c.name"
    )
    return sql, tuple(params)


def _dq_customer_flags(store_ids) -> dict[int, dict[str, int]]:
    """Per store: customers in a duplicate group, without any vehicle, and either (each once). One query.

    Hash joins against derived sets (no per-row subqueries), so it stays fast on 100 k customers.
    """
    active = _dq_active_customers(store_ids).order_by()
    active_sql, active_params = active.values("id", "store_id").query.sql_with_params()
    phone_sql, phone_params = _dq_phone_members_sql(store_ids)
    name_sql, name_params = _dq_name_vehicle_members_sql(store_ids)
    novehicle_sql, novehicle_params = (
        active.filter(_dq_without_vehicle_condition()).values("id").query.sql_with_params()
    )
    sql = (
        "SELECT c.store_id, COUNT(d.id), COUNT(n.id), COUNT(COALESCE(d.id, n.id)) "
        f"FROM ({active_sql}) c "
        f"LEFT JOIN ({phone_sql} UNION {name_sql}) d ON d.id = c.id "
        f"LEFT JOIN ({novehicle_sql}) n ON n.id = c.id "
        "GROUP BY c.store_id"
    )
    params = (*active_params, *phone_params, *name_params, *novehicle_params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            store_id: {"duplicates": dup, "without_vehicle": nov, "flagged": flagged}
            for store_id, dup, nov, flagged in cursor.fetchall()
        }


def _dq_without_vehicle_condition() -> Q:
    return ~Exists(Ownership.objects.filter(customer_id=OuterRef("pk")))


def _dq_without_owner_condition() -> Q:
    return ~Exists(Ownership.objects.filter(vehicle_id=OuterRef("pk"), valid_to__isnull=True))


def _dq_count_by_store(sql: str, params: tuple, column: str = "store_id") -> dict[int, int]:
    """Rows of the grouped `sql` per store, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT g.{column}, COUNT(*) FROM ({sql}) g GROUP BY g.{column}", params)
        return {store_id: n for store_id, n in cursor.fetchall()}


@dataclass
class StoreQuality:
    """Data-quality figures of one store. `score` is None for a store with no customer and no vehicle."""

    store: object
    customers: int
    vehicles: int
    counts: dict[str, int]
    duplicate_customers: int  # active customers in any duplicate group
    flagged_customers: int  # without vehicle or in a duplicate group (each customer once)
    field_score: float | None
    mapping_score: float | None
    score: float | None

    def count_rows(self) -> list[tuple[DataQualityKind, int]]:
        return [(kind, self.counts.get(kind.code, 0)) for kind in DATA_QUALITY_KINDS]


def data_quality_score(
    *, customers: int, vehicles: int, missing_fields: int, flagged_customers: int, vehicles_without_owner: int
) -> tuple[float | None, float | None, float | None]:
    """(score, field_score, mapping_score), each in percent, one decimal.

    field_score   = filled required fields / (4 × customers)           (100 when there is no customer)
    mapping_score = 1 − (flagged customers + vehicles without owner) / (customers + vehicles)
    score         = (field_score + mapping_score) / 2
    """
    if customers + vehicles == 0:
        return None, None, None
    required = len(DATA_QUALITY_REQUIRED_FIELDS) * customers
    field = 1.0 if required == 0 else (required - missing_fields) / required
    mapping = max(0.0, 1 - (flagged_customers + vehicles_without_owner) / (customers + vehicles))
    return round(100 * (field + mapping) / 2, 1), round(100 * field, 1), round(100 * mapping, 1)


def data_quality_store_summaries(*, store_ids) -> list[StoreQuality]:
    """Figures per store for `store_ids` (unscoped: callers pass ids they may see). Six queries in all."""
    from aftercare.org.models import Store

    store_ids = sorted(set(store_ids))
    if not store_ids:
        return []
    aggregates = {code: Count("id", filter=cond) for code, cond in DATA_QUALITY_REQUIRED_FIELDS.items()}
    customer_rows = {
        row["store_id"]: row
        for row in _dq_active_customers(store_ids)
        .order_by()
        .values("store_id")
        .annotate(total=Count("id"), **aggregates)
    }
    flags = _dq_customer_flags(store_ids)
    # A LEFT JOIN to the open ownership (at most one per vehicle, by constraint): no per-row subquery.
    vehicle_rows = {
        row["store_id"]: row
        for row in Vehicle.objects.filter(store_id__in=store_ids)
        .annotate(current=FilteredRelation("ownerships", condition=Q(ownerships__valid_to__isnull=True)))
        .order_by()
        .values("store_id")
        .annotate(total=Count("id"), without_owner=Count("id", filter=Q(current__isnull=True)))
    }
    phone_groups = _dq_count_by_store(*_dq_phone_groups_sql(store_ids))
    name_sql, name_params = _dq_name_vehicle_groups(store_ids).query.sql_with_params()
    name_groups = _dq_count_by_store(name_sql, tuple(name_params), column="sid")
    result = []
    for store in Store.objects.filter(id__in=store_ids).order_by("code"):
        c = {**customer_rows.get(store.pk, {}), **flags.get(store.pk, {})}
        vrow = vehicle_rows.get(store.pk, {})
        counts = {
            DQ_DUPLICATE_MOBILE: phone_groups.get(store.pk, 0),
            DQ_DUPLICATE_NAME_VEHICLE: name_groups.get(store.pk, 0),
            DQ_CUSTOMER_WITHOUT_VEHICLE: c.get("without_vehicle", 0),
            DQ_VEHICLE_WITHOUT_OWNER: vrow.get("without_owner", 0),
            **{code: c.get(code, 0) for code in DATA_QUALITY_REQUIRED_FIELDS},
        }
        score, field_score, mapping_score = data_quality_score(
            customers=c.get("total", 0),
            vehicles=vrow.get("total", 0),
            missing_fields=sum(c.get(code, 0) for code in DATA_QUALITY_REQUIRED_FIELDS),
            flagged_customers=c.get("flagged", 0),
            vehicles_without_owner=vrow.get("without_owner", 0),
        )
        result.append(
            StoreQuality(
                store=store,
                customers=c.get("total", 0),
                vehicles=vrow.get("total", 0),
                counts=counts,
                duplicate_customers=c.get("duplicates", 0),
                flagged_customers=c.get("flagged", 0),
                field_score=field_score,
                mapping_score=mapping_score,
                score=score,
            )
        )
    return result


def data_quality_summary(*, user, store_ids=None) -> list[StoreQuality]:
    """Figures per store in scope (optionally narrowed to `store_ids`)."""
    return data_quality_store_summaries(store_ids=_store_ids(user, store_ids))


@dataclass
class DataQualityIssue:
    """One row of a problem list: a customer, a vehicle, or a duplicate group (customers oldest number first)."""

    kind: str
    store: object
    customers: list
    vehicle: Vehicle | None = None
    phone: str = ""  # the shared mobile of a same-mobile group

    @property
    def customer(self):
        return self.customers[0] if self.customers else None


class DataQualityIssueList:
    """A lazy, sliceable list of issues (Django's Paginator and ninja's pagination accept it).

    Costs one COUNT query, and per page one query for the rows plus one or two to load customers and vehicles.
    """

    def __init__(self, kind: str, store_ids):
        self.kind = kind
        self.store_ids = sorted(set(store_ids))
        self._count: int | None = None

    def all(self):
        return self

    def count(self) -> int:
        if self._count is None:
            self._count = 0 if not self.store_ids else self._count_rows()
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item):
        if not isinstance(item, slice):
            raise TypeError("DataQualityIssueList supports slices only")
        start = item.start or 0
        stop = self.count() if item.stop is None else item.stop
        if not self.store_ids or stop <= start:
            return []
        return self._fetch(start, stop - start)

    # --- counting
    def _count_rows(self) -> int:
        if self.kind == DQ_DUPLICATE_MOBILE:
            return sum(_dq_count_by_store(*_dq_phone_groups_sql(self.store_ids)).values())
        if self.kind == DQ_DUPLICATE_NAME_VEHICLE:
            return _dq_name_vehicle_groups(self.store_ids).count()
        return self._queryset().count()

    # --- rows
    def _queryset(self) -> QuerySet:
        if self.kind == DQ_VEHICLE_WITHOUT_OWNER:
            return (
                Vehicle.objects.filter(store_id__in=self.store_ids)
                .filter(_dq_without_owner_condition())
                .select_related("store")
                .order_by("store_id", "vin")
            )
        qs = _dq_active_customers(self.store_ids)
        if self.kind == DQ_CUSTOMER_WITHOUT_VEHICLE:
            qs = qs.filter(_dq_without_vehicle_condition())
        else:
            qs = qs.filter(DATA_QUALITY_REQUIRED_FIELDS[self.kind])
        return qs.select_related("store").order_by("store_id", "number")

    def _fetch(self, offset: int, limit: int) -> list[DataQualityIssue]:
        if self.kind == DQ_DUPLICATE_MOBILE:
            return self._fetch_phone_groups(offset, limit)
        if self.kind == DQ_DUPLICATE_NAME_VEHICLE:
            return self._fetch_name_vehicle_groups(offset, limit)
        rows = self._queryset()[offset : offset + limit]
        if self.kind == DQ_VEHICLE_WITHOUT_OWNER:
            return [DataQualityIssue(self.kind, v_.store, [], vehicle=v_) for v_ in rows]
        return [DataQualityIssue(self.kind, c.store, [c]) for c in customer_list_with_vehicles(rows)]

    def _fetch_phone_groups(self, offset: int, limit: int) -> list[DataQualityIssue]:
        sql, params = _dq_phone_groups_sql(self.store_ids)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT g.store_id, g.phone FROM ({sql}) g ORDER BY g.store_id, g.phone LIMIT %s OFFSET %s",
                (*params, limit, offset),
            )
            keys = cursor.fetchall()
        if not keys:
            return []
        phones = {phone for _sid, phone in keys}
        members = customer_list_with_vehicles(
            _dq_active_customers({sid for sid, _p in keys})
            .filter(Q(mobile__in=phones) | Q(mobile2__in=phones))
            .select_related("store")
            .order_by("number", "pk")
        )
        by_key: dict[tuple[int, str], list[Customer]] = {key: [] for key in keys}
        for c in members:
            for phone in {c.mobile, c.mobile2}:
                if (c.store_id, phone) in by_key:
                    by_key[(c.store_id, phone)].append(c)
        return [
            DataQualityIssue(self.kind, group[0].store, group, phone=phone)
            for (_sid, phone), group in by_key.items()
            if group
        ]

    def _fetch_name_vehicle_groups(self, offset: int, limit: int) -> list[DataQualityIssue]:
        keys = list(
            _dq_name_vehicle_groups(self.store_ids)
            .order_by("sid", "vid", "cname")
            .values_list("sid", "vid", "cname")[offset : offset + limit]
        )
        if not keys:
            return []
        ownerships = (
            Ownership.objects.filter(
                vehicle_id__in={vid for _s, vid, _n in keys},
                customer__store_id__in={sid for sid, _v, _n in keys},
                customer__is_active=True,
            )
            .select_related("vehicle", "customer", "customer__store")
            .order_by("customer__number", "customer_id", "valid_from")
        )
        by_key: dict[tuple, dict[int, Customer]] = {key: {} for key in keys}
        vehicles: dict[int, Vehicle] = {}
        for o in ownerships:
            key = (o.customer.store_id, o.vehicle_id, o.customer.name)
            if key in by_key:
                by_key[key].setdefault(o.customer_id, o.customer)
                vehicles[o.vehicle_id] = o.vehicle
        customers = [c for group in by_key.values() for c in group.values()]
        _dq_attach_current_vehicles(customers)
        return [
            DataQualityIssue(self.kind, next(iter(group.values())).store, list(group.values()), vehicle=vehicles[vid])
            for (_sid, vid, _name), group in by_key.items()
            if group
        ]


def _dq_attach_current_vehicles(customers: list[Customer]) -> None:
    """Attach `current_ownerships` (with vehicles) to already-loaded customers, in one query."""
    from django.db.models import prefetch_related_objects

    prefetch_related_objects(
        customers,
        Prefetch(
            "ownerships",
            queryset=Ownership.objects.filter(valid_to__isnull=True).select_related("vehicle").order_by("vehicle__vin"),
            to_attr="current_ownerships",
        ),
    )


def data_quality_issues(*, user, kind: str, store_ids=None) -> DataQualityIssueList:
    """The rows of one problem kind in scope, lazily paginated. Unknown `kind` raises ValueError."""
    if kind not in DATA_QUALITY_KIND_MAP:
        raise ValueError(f"unknown data-quality kind: {kind}")
    return DataQualityIssueList(kind, _store_ids(user, store_ids))


def data_quality_merge_preview(*, user, customers: list[Customer]) -> dict[int, dict[str, int]]:
    """For each customer (already scoped): how many ownerships, repair orders, deliveries and policies it has.

    One query per related table (four in all), whatever the number of customers.
    """
    ids = [c.pk for c in customers]
    result: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    for name, model in (
        ("ownerships", Ownership),
        ("repair_orders", RepairOrder),
        ("deliveries", SalesDelivery),
        ("policies", InsurancePolicy),
    ):
        counts = dict(
            model.objects.filter(customer_id__in=ids).order_by().values("customer_id").annotate(n=Count("id"))
            .values_list("customer_id", "n")
        )
        for pk in ids:
            result[pk][name] = counts.get(pk, 0)
    return result
