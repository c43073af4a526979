"""Scoped reads of customer files. Every function takes the acting user first."""

from django.db.models import Prefetch, Q, QuerySet

from aftercare.core.scoping import get_scoped_or_404, visible_store_ids
from aftercare.org.choices import SharedResource

from . import validators as v
from .models import Customer, InsurancePolicy, Ownership, RepairOrder, SalesDelivery, Vehicle


def _store_ids(user, store_ids=None, resource=SharedResource.CUSTOMERS):
    visible = visible_store_ids(user, resource)
    if store_ids is None:
        return visible
    return visible & frozenset(store_ids)


def customer_list(*, user, store_ids=None, q: str = "", filters: dict | None = None) -> QuerySet[Customer]:
    """Customers in scope, searched by name, mobile, plate, VIN or customer number."""
    qs = Customer.objects.filter(store_id__in=_store_ids(user, store_ids), is_active=True)
    q = v.clean_text(q)
    if q:
        cond = Q(name__icontains=q) | Q(number__iexact=q)
        digits = "".join(ch for ch in q if ch.isdigit())
        if len(digits) >= 4 and len(digits) == len(q.replace("+", "")):
            cond |= Q(mobile__contains=digits) | Q(mobile2__contains=digits)
        vehicle_ids = Vehicle.objects.filter(Q(plate__iexact=q.replace(" ", "")) | Q(vin__iexact=q))
        if len(q) >= 6:
            vehicle_ids = Vehicle.objects.filter(
                Q(plate__iexact=q.replace(" ", "")) | Q(vin__iexact=q) | Q(vin__endswith=q.upper())
            )
        cond |= Q(
            ownerships__valid_to__isnull=True,
            ownerships__vehicle__in=vehicle_ids.values("id"),
        )
        qs = qs.filter(cond).distinct()
    filters = filters or {}
    if filters.get("source"):
        qs = qs.filter(source=filters["source"])
    if filters.get("background"):
        qs = qs.filter(background=filters["background"])
    if filters.get("consent_service_calls") in (True, False):
        qs = qs.filter(consent_service_calls=filters["consent_service_calls"])
    if filters.get("has_vehicle") is True:
        qs = qs.filter(ownerships__valid_to__isnull=True).distinct()
    elif filters.get("has_vehicle") is False:
        qs = qs.exclude(ownerships__valid_to__isnull=True)
    return qs.select_related("store").order_by("store_id", "number")


def customer_get(*, user, pk) -> Customer:
    """One customer in scope, or 404."""
    return get_scoped_or_404(Customer.objects.filter(store_id__in=_store_ids(user)).select_related("store"), pk=pk)


def customer_vehicles(*, user, customer: Customer) -> QuerySet[Vehicle]:
    """Vehicles the customer owns now."""
    return Vehicle.objects.filter(
        ownerships__customer=customer, ownerships__valid_to__isnull=True
    ).order_by("vin")


def vehicle_list(*, user, store_ids=None, q: str = "") -> QuerySet[Vehicle]:
    qs = Vehicle.objects.filter(store_id__in=_store_ids(user, store_ids))
    q = v.clean_text(q).replace(" ", "").upper()
    if q:
        qs = qs.filter(Q(plate__iexact=q) | Q(vin__iexact=q) | Q(vin__endswith=q))
    return qs.prefetch_related(
        Prefetch(
            "ownerships",
            queryset=Ownership.objects.filter(valid_to__isnull=True).select_related("customer"),
            to_attr="current_ownerships",
        )
    ).order_by("vin")


def vehicle_get(*, user, pk) -> Vehicle:
    return get_scoped_or_404(Vehicle.objects.filter(store_id__in=_store_ids(user)), pk=pk)


def repair_order_list(*, user, store_ids=None, customer=None, vehicle=None) -> QuerySet[RepairOrder]:
    qs = RepairOrder.objects.filter(store_id__in=_store_ids(user, store_ids))
    if customer is not None:
        qs = qs.filter(customer=customer)
    if vehicle is not None:
        qs = qs.filter(vehicle=vehicle)
    return qs.select_related("vehicle", "customer").order_by("-settled_at", "-id")


def repair_order_get(*, user, pk) -> RepairOrder:
    return get_scoped_or_404(repair_order_list(user=user), pk=pk)


def delivery_list(*, user, store_ids=None, customer=None, vehicle=None) -> QuerySet[SalesDelivery]:
    qs = SalesDelivery.objects.filter(store_id__in=_store_ids(user, store_ids))
    if customer is not None:
        qs = qs.filter(customer=customer)
    if vehicle is not None:
        qs = qs.filter(vehicle=vehicle)
    return qs.select_related("vehicle", "customer").order_by("-delivered_at", "-id")


def policy_list(*, user, store_ids=None, customer=None, vehicle=None) -> QuerySet[InsurancePolicy]:
    qs = InsurancePolicy.objects.filter(store_id__in=_store_ids(user, store_ids, SharedResource.POLICIES))
    if customer is not None:
        qs = qs.filter(customer=customer)
    if vehicle is not None:
        qs = qs.filter(vehicle=vehicle)
    return qs.select_related("vehicle", "customer").order_by("-expiry_date", "-id")


def policy_get(*, user, pk) -> InsurancePolicy:
    return get_scoped_or_404(policy_list(user=user), pk=pk)


def ownership_history(*, user, vehicle: Vehicle) -> QuerySet[Ownership]:
    return (
        Ownership.objects.filter(vehicle=vehicle, store_id__in=_store_ids(user))
        .select_related("customer")
        .order_by("-valid_from")
    )
