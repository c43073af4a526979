"""Work planted for every role's start page (the link walk and the start-page browser test): store A's calls due
today and overdue, a verification call, unclaimed tasks, forms overdue / due / escalated / not routed, a renewal
contact due today, an appointment today. `plant(store, users, now)`; `users` is {role: user} (conftest `users`)."""

import datetime as dt
import itertools

from aftercare.appointments.choices import BayKind, BookingSource
from aftercare.appointments.models import Bay, Booking
from aftercare.complaints.models import Feedback
from aftercare.followups.choices import FollowupKind, TaskStatus
from aftercare.followups.models import FollowupTask
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.calendar import business_date
from aftercare.org.choices import DepartmentKind, Role
from aftercare.renewals.services.generation import renewals_daily
from aftercare.testing import factories as f

_subject = itertools.count(1)


def make_task(store, rule, *, due_at, kind=None, claimed_by=None):
    return FollowupTask.objects.create(
        store=store, rule=rule, kind=kind or rule.kind, subject_type="repair_order", subject_id=next(_subject),
        customer=f.CustomerFactory(store=store), event_at=due_at - dt.timedelta(days=2), due_at=due_at,
        status=TaskStatus.CLAIMED if claimed_by else TaskStatus.OPEN, claimed_by=claimed_by,
        claimed_at=due_at - dt.timedelta(hours=3) if claimed_by else None,
    )


def form(store, *, status="routed", assignee=None, deadline=None, level=0):
    routed = status != "new"
    return Feedback.objects.create(
        store=store, kind="complaint", source="walk_in", category="mechanical",
        department=f.DepartmentFactory(store=store, kind=DepartmentKind.SERVICE_MECHANICAL) if routed else None,
        customer=f.CustomerFactory(store=store), text="等太久", status=status, assignee=assignee,
        routed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3) if routed else None, deadline_at=deadline,
        escalation_level=level, created_by=assignee or f.UserFactory(),
    )


def appointment(store, *, start_at) -> Booking:
    """A booked appointment of `store` starting at `start_at` (one hour)."""
    customer = f.CustomerFactory(store=store)
    bay = Bay.objects.create(store=store, name=f"工位{next(_subject)}", kind=BayKind.APPOINTMENT)
    return Booking.objects.create(store=store, customer=customer, vehicle=f.owned_vehicle(customer), bay=bay,
                                  start_at=start_at, end_at=start_at + dt.timedelta(hours=1),
                                  source=BookingSource.PHONE_IN)


def plant(store, users, now) -> None:
    rules = {r.code: r for r in followup_rules_seed_defaults(store)}
    hour = dt.timedelta(hours=1)
    make_task(store, rules["CSI"], due_at=now - hour)  # overdue, unclaimed
    make_task(store, rules["CSI"], due_at=now + hour)  # due today, unclaimed
    make_task(store, rules["CSI"], due_at=now + hour, claimed_by=users[Role.CS_SPECIALIST])
    make_task(store, rules["CSI"], due_at=now + hour, kind=FollowupKind.COMPLAINT_VERIFICATION)
    for role in (Role.DEPARTMENT_DESIGNEE, Role.SUPERVISOR):
        form(store, assignee=users[role], deadline=now - hour)  # overdue
        form(store, assignee=users[role], deadline=now + hour)  # due today
    form(store, assignee=users[Role.DEPARTMENT_DESIGNEE], deadline=now - 2 * hour, level=1)  # escalated
    form(store, status="new")  # not yet routed
    customer = f.CustomerFactory(store=store)
    vehicle = f.owned_vehicle(customer)
    today = business_date(now)
    expiry = today + dt.timedelta(days=45)  # the first renewal contact is due today
    f.InsurancePolicyFactory(store=store, customer=customer, vehicle=vehicle, kind="new_car", insurer="中国人保",
                             start_date=expiry - dt.timedelta(days=364), expiry_date=expiry)
    renewals_daily(store_id=store.pk, today=today)
    appointment(store, start_at=now + 2 * hour)  # today's appointment
