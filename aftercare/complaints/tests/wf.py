"""Builders shared by the complaint-workflow tests (services helper's tests)."""

import datetime as dt
from zoneinfo import ZoneInfo

from aftercare.complaints.services.configuration import department_designee_set
from aftercare.complaints.services.workflow import feedback_create
from aftercare.org.choices import DepartmentKind, Role
from aftercare.org.models import Staff
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")


def sh(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def staff_user(role, store, username, *, department=None, mobile=""):
    user = f.UserFactory(username=username)
    f.StaffFactory(
        user=user,
        group=store.group,
        role=role,
        stores=[store],
        display_name=username,
        department=department,
        mobile=mobile,
    )
    return user


def department_with_designee(store, kind, designee, *, manager):
    """A department of the store whose forms go to `designee` (set by `manager`, a CS manager)."""
    department = f.DepartmentFactory(store=store, kind=kind, name=f"{kind}-部门")
    Staff.objects.filter(user=designee).update(department=department)
    department_designee_set(actor=manager, department=department, user=designee)
    return department


def setup_store(store, users):
    """The mechanical department of store A with the designee user of the `users` fixture."""
    return department_with_designee(
        store, DepartmentKind.SERVICE_MECHANICAL, users[Role.DEPARTMENT_DESIGNEE], manager=users[Role.CS_MANAGER]
    )


def complaint(
    actor, store, *, text="发动机异响，修了三次还没好", kind="complaint", severity="normal", category="mechanical"
):
    return feedback_create(
        actor=actor,
        customer=f.CustomerFactory(store=store, name="王投诉"),
        kind=kind,
        source="inbound_call",
        category=category,
        severity=severity,
        text=text,
    )
