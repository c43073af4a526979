"""Reads of parts quality, scoped to the acting user.

Reports are store-owned: a user reads those of the stores in scope (`org.scoping.visible_store_ids`), a role with
`quality.group` (the quality engineer) those of every store of its dealer group. Alarms belong to the group: only
`quality.group` roles read them. Nothing here reads a customer: a report names its vehicle by VIN, model and store.
"""

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from aftercare.org.models import Store
from aftercare.org.permissions import ROLE_PERMISSIONS, Perm, has_perm
from aftercare.org.scoping import SESSION_STORE_KEY, current_store_ids, get_scoped_or_404, visible_store_ids

from .models import PartFamily, QualityAlarm, QualityReport, QualityReportPhoto, SymptomCode


def quality_store_ids(user, request=None) -> frozenset[int]:
    """The stores whose parts-quality reports `user` may read (narrowed by the store switcher with `request`)."""
    if user is None or not user.is_authenticated or not has_perm(user, Perm.QUALITY_VIEW):
        return frozenset()
    if has_perm(user, Perm.QUALITY_GROUP):
        cache = user.__dict__.setdefault("_scope_cache", {})
        if "quality.group" not in cache:
            staff = user.staff
            cache["quality.group"] = frozenset(
                Store.objects.filter(group_id=staff.group_id).values_list("id", flat=True)
            )
        ids = cache["quality.group"]
        chosen = request.session.get(SESSION_STORE_KEY) if request is not None else None
        return frozenset({chosen}) if chosen in ids else ids
    return current_store_ids(user, request) if request is not None else visible_store_ids(user)


def part_family_list(*, active_only: bool = False) -> QuerySet[PartFamily]:
    qs = PartFamily.objects.all()
    return qs.filter(active=True) if active_only else qs


def symptom_code_list(*, active_only: bool = False) -> QuerySet[SymptomCode]:
    qs = SymptomCode.objects.select_related("family")
    return qs.filter(active=True) if active_only else qs


def quality_report_list(*, user, request=None, store_ids=None) -> QuerySet[QualityReport]:
    """The reports of the stores in scope (`store_ids` narrows them further), newest failure first."""
    ids = quality_store_ids(user, request)
    if store_ids is not None:
        ids = ids & frozenset(store_ids)
    return (
        QualityReport.objects.filter(store_id__in=ids)
        .select_related("store", "part_family", "symptom")
        .order_by("-failure_date", "-id")
    )


def quality_report_narrow(qs, *, family=None, build_month=None, store=None, status="", source=""):
    """The list's filters (each optional)."""
    if family is not None:
        qs = qs.filter(part_family=family)
    if build_month is not None:
        qs = qs.filter(build_month=build_month)
    if store is not None:
        qs = qs.filter(store=store)
    if status:
        qs = qs.filter(status=status)
    if source:
        qs = qs.filter(source=source)
    return qs


def quality_report_get(*, user, report_id: int) -> QualityReport:
    """One report of the stores in scope, else 404."""
    return get_scoped_or_404(quality_report_list(user=user), pk=report_id)


def quality_report_photo_get(*, user, report_id: int, photo_id: int) -> QualityReportPhoto:
    """One photo of a report of the stores in scope (the photo must be that report's), else 404."""
    qs = QualityReportPhoto.objects.filter(report__store_id__in=quality_store_ids(user), report_id=report_id)
    return get_scoped_or_404(qs, pk=photo_id)


def quality_alarm_list(*, user) -> QuerySet[QualityAlarm]:
    """The alarms of the user's dealer group (roles with `quality.group`), none for anyone else."""
    if not has_perm(user, Perm.QUALITY_GROUP):
        return QualityAlarm.objects.none()
    return QualityAlarm.objects.filter(group_id=user.staff.group_id).select_related("part_family")


def quality_alarm_get(*, user, alarm_id: int) -> QualityAlarm:
    return get_scoped_or_404(quality_alarm_list(user=user), pk=alarm_id)


def quality_alarm_recipients(*, group_id: int) -> list:
    """Who is told of a new alarm: the active users of the group whose role may work alarms (`quality.manage`)."""
    roles = [role for role, perms in ROLE_PERMISSIONS.items() if Perm.QUALITY_MANAGE in perms]
    return list(
        get_user_model().objects.filter(staff__group_id=group_id, staff__role__in=roles, is_active=True).order_by("pk")
    )
