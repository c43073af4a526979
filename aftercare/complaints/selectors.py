"""Scoped reads for feedback."""

import datetime as dt

from django.db.models import Q, QuerySet

from aftercare.core.scoping import get_scoped_or_404, visible_store_ids
from aftercare.customers.validators import clean_text
from aftercare.org.models import Department
from aftercare.org.permissions import Perm, has_perm

from .models import Feedback


def feedback_list(
    *,
    user,
    store_ids=None,
    kind: str = "",
    status: str = "",
    category: str = "",
    q: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[Feedback]:
    """Feedback of the stores in scope, newest first; `[since, until)` on the time it was recorded."""
    if not has_perm(user, Perm.FEEDBACK_VIEW):
        return Feedback.objects.none()
    visible = visible_store_ids(user)
    ids = visible if store_ids is None else visible & frozenset(store_ids)
    qs = Feedback.objects.filter(store_id__in=ids)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    q = clean_text(q or "").strip()
    if q:
        digits = "".join(ch for ch in q if ch.isdigit())
        cond = Q(customer__name__icontains=q) | Q(customer__number__iexact=q) | Q(text__icontains=q)
        if len(digits) >= 4:
            cond |= Q(customer__mobile__endswith=digits)
        qs = qs.filter(cond)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    return qs.select_related("store", "customer", "vehicle", "department", "created_by").order_by("-created_at", "-id")


def feedback_get(*, user, pk) -> Feedback:
    """One feedback record in scope, or 404."""
    return get_scoped_or_404(
        feedback_list(user=user).select_related("followup_task", "answer_sheet", "call_log"), pk=pk
    )


def department_list(*, user, store_ids=None) -> QuerySet[Department]:
    """Departments of the stores in scope (for choosing the responsible department)."""
    visible = visible_store_ids(user)
    ids = visible if store_ids is None else visible & frozenset(store_ids)
    return Department.objects.filter(store_id__in=ids).select_related("store").order_by("store_id", "kind")


# ---- measures (complaint KPIs, first-time fix) — owned by the measures helper; keep below this line --------------
