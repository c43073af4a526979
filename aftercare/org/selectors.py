"""Reads for the organisation: stores in scope and staff. Business time and working days: `org.calendar`."""

# moved to org.calendar; remaining callers: aftercare/complaints/services.py, aftercare/followups/services.py
from .calendar import business_date, business_day_start, working_days_between, working_deadline  # noqa: F401
from .models import Staff, Store
from .scoping import visible_store_ids


def store_list(*, user):
    """Stores the user may see."""
    return Store.objects.filter(id__in=visible_store_ids(user)).select_related("region", "group")


def staff_list(*, user):
    """Staff working in the stores the user may see."""
    return (
        Staff.objects.filter(stores__in=visible_store_ids(user))
        .select_related("user", "department")
        .distinct()
    )


def staff_mobiles(user_ids) -> dict[int, str]:
    """`{user id: mobile}` of the staff among `user_ids` who have one; core's SMS lookup (`OrgConfig.ready`)."""
    return dict(Staff.objects.filter(user_id__in=user_ids).exclude(mobile="").values_list("user_id", "mobile"))


def job_alert_recipients() -> list[tuple[int, list]]:
    """`[(store id, users)]`: active staff whose role may see the jobs page, each under their first store (else the
    first store of their group); who core's schedule tells of a failed or late job (`OrgConfig.ready`)."""
    from .permissions import ROLE_PERMISSIONS, Perm

    roles = [role for role, perms in ROLE_PERMISSIONS.items() if Perm.JOBS_VIEW in perms]
    first_of_group = {}
    for store_id, group_id in Store.objects.order_by("-id").values_list("id", "group_id"):
        first_of_group[group_id] = store_id
    by_store: dict[int, list] = {}
    staff = Staff.objects.filter(role__in=roles, user__is_active=True).select_related("user")
    for member in staff.prefetch_related("stores").order_by("pk"):
        store_ids = sorted(s.pk for s in member.stores.all())
        store_id = store_ids[0] if store_ids else first_of_group.get(member.group_id)
        if store_id is not None:
            by_store.setdefault(store_id, []).append(member.user)
    return sorted(by_store.items())
