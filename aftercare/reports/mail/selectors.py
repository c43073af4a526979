"""Scoped reads of the report archive: managers (`report.archive_all`) see every report of their stores, a
department's designee or supervisor (`report.archive`) only their own department's; anything else is a 404."""

from django.db.models import Prefetch, QuerySet

from aftercare.org.permissions import Perm, has_perm
from aftercare.org.scoping import get_scoped_or_404, visible_store_ids

from ..mail_models import Report, ReportDelivery


def report_list(*, user, store_ids=None, department_id: int | None = None, store_manager: bool = False,
                kind: str = "") -> QuerySet[Report]:
    """Reports of the stores in scope, newest period first; `store_manager` keeps the store-wide reports."""
    if not has_perm(user, Perm.REPORT_ARCHIVE):
        return Report.objects.none()
    ids = visible_store_ids(user)
    if store_ids is not None:
        ids = ids & frozenset(store_ids)
    qs = Report.objects.filter(store_id__in=ids)
    if not has_perm(user, Perm.REPORT_ARCHIVE_ALL):
        own = getattr(getattr(user, "staff", None), "department_id", None)
        if own is None:
            return Report.objects.none()
        qs = qs.filter(department_id=own)
    if store_manager:
        qs = qs.filter(department__isnull=True)
    elif department_id:
        qs = qs.filter(department_id=department_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("store", "department").order_by("-period_start", "store_id", "kind",
                                                              "department__kind", "id")


def report_get(*, user, pk) -> Report:
    """One report in scope with its deliveries, or 404."""
    deliveries = ReportDelivery.objects.select_related("recipient__staff", "resent_by__staff").order_by("sent_at",
                                                                                                       "id")
    return get_scoped_or_404(report_list(user=user).prefetch_related(Prefetch("deliveries", queryset=deliveries)),
                             pk=pk)
