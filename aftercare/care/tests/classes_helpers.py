"""Builders of the classes tests: repair orders, deliveries and care tasks at Shanghai wall-clock times."""

import datetime as dt
from decimal import Decimal
from itertools import count

from aftercare.core.timezones import business_tz
from aftercare.followups.choices import FollowupKind, SubjectType, Trigger
from aftercare.followups.models import FollowupTask
from aftercare.followups.services.rules import followup_rule_get
from aftercare.testing import factories as f

_subject = count(900_000)


def at(day: str, time: str = "10:00") -> dt.datetime:
    """A Shanghai wall-clock instant ("2026-01-15", "23:30")."""
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=business_tz())


def customer(store, **kw):
    return f.CustomerFactory(store=store, **kw)


def visit(cust, day: str, *, kind="maintenance", amount="680.00", time="10:00"):
    vehicle = getattr(cust, "_vehicle", None) or f.VehicleFactory(store=cust.store)
    cust._vehicle = vehicle
    return f.RepairOrderFactory(store=cust.store, customer=cust, vehicle=vehicle, settled_at=at(day, time), kind=kind,
                                amount=Decimal(amount))


def delivered(cust, day: str, time: str = "10:00"):
    vehicle = getattr(cust, "_vehicle", None) or f.VehicleFactory(store=cust.store)
    cust._vehicle = vehicle
    return f.SalesDeliveryFactory(store=cust.store, customer=cust, vehicle=vehicle, delivered_at=at(day, time))


def care_task(cust, day: str):
    rule = followup_rule_get(store=cust.store, trigger=Trigger.CARE_REMINDER_DUE)
    when = at(day)
    return FollowupTask.objects.create(
        store=cust.store, rule=rule, kind=FollowupKind.CARE, subject_type=SubjectType.FOLLOWUP_TASK,
        subject_id=next(_subject), customer=cust, event_at=when, due_at=when + dt.timedelta(days=3),
    )
