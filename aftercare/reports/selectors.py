"""Scoped reads of the reports app (docs/reports.md)."""

import datetime as dt

from django.db.models import Count, Q, QuerySet

from aftercare.org.permissions import has_perm
from aftercare.org.scoping import STORE_ACTIONS_MANAGE, get_scoped_or_404, visible_store_ids

from .choices import ActionStatus
from .models import RectificationAction

OPEN_STATES = (ActionStatus.OPEN, ActionStatus.DONE)


def action_list(
    *, user, store_ids=None, status: str = "", mine: bool = False, overdue_on: dt.date | None = None
) -> QuerySet[RectificationAction]:
    """Actions in scope: a manager of the store's actions (`STORE_ACTIONS_MANAGE`) sees the store's register, anyone
    else the actions they own. `status`: one status, or "active" (open or awaiting verification); `overdue_on`: open
    and due before that day."""
    stores = visible_store_ids(user)
    if store_ids is not None:
        stores = stores & frozenset(store_ids)
    qs = RectificationAction.objects.filter(store_id__in=stores)
    if mine or not has_perm(user, STORE_ACTIONS_MANAGE):
        qs = qs.filter(owner=user)
    if status == "active":
        qs = qs.filter(status__in=OPEN_STATES)
    elif status:
        qs = qs.filter(status=status)
    if overdue_on is not None:
        qs = qs.filter(status=ActionStatus.OPEN, due_date__lt=overdue_on)
    return qs.select_related("store", "owner__staff").order_by("status", "due_date", "id")


def action_get(*, user, pk) -> RectificationAction:
    """One action the user may see (their own, or any of the store for a manager), else 404."""
    stores = visible_store_ids(user)
    qs = RectificationAction.objects.filter(store_id__in=stores)
    if not has_perm(user, STORE_ACTIONS_MANAGE):
        qs = qs.filter(owner=user)
    return get_scoped_or_404(qs.select_related("store", "owner__staff", "verified_by__staff"), pk=pk)


def action_counts(*, user, store_ids, today: dt.date) -> dict[str, int]:
    """The start card's numbers in one query."""
    qs = action_list(user=user, store_ids=store_ids).order_by()
    return qs.aggregate(
        mine_open=Count("id", filter=Q(owner=user, status=ActionStatus.OPEN)),
        mine_overdue=Count("id", filter=Q(owner=user, status=ActionStatus.OPEN, due_date__lt=today)),
        overdue=Count("id", filter=Q(status=ActionStatus.OPEN, due_date__lt=today)),
        to_verify=Count("id", filter=Q(status=ActionStatus.DONE)),
        active=Count("id", filter=Q(status__in=OPEN_STATES)),
    )
