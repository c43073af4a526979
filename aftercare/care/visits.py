"""What counts as a customer's visit for care: the classes, the churn label and the "came" of a reminder or a
campaign. Seed 000 p20 counts visits and spend by maintenance and repair, "free maintenance, warranty claims and
insurance jobs excluded"; car washes and the dealer's internal orders are no visit either."""

from django.db.models import Q, QuerySet

from aftercare.customers.choices import RepairKind

# Repair orders that count as a visit (and whose amount counts as spend).
COUNTED_KINDS: tuple[str, ...] = (RepairKind.MAINTENANCE, RepairKind.MECHANICAL, RepairKind.BODY, RepairKind.PAINT)
# Every other kind is left out: free first maintenance, warranty claims, insurance jobs (seed 000 p20), washes,
# internal orders.


def counted_q(prefix: str = "") -> Q:
    """The condition of a counted visit on repair orders (or on rows reaching them through `prefix`, e.g.
    "repair_orders__"), for a filter or an aggregate's `filter=`."""
    return Q(**{f"{prefix}kind__in": COUNTED_KINDS})


def counted(orders: QuerySet, prefix: str = "") -> QuerySet:
    """Narrow a queryset of repair orders (or of rows reaching them through `prefix`, e.g. "repair_orders__") to
    the visits care counts."""
    return orders.filter(counted_q(prefix))
