import datetime as dt

import pytest

from aftercare.appointments.choices import BayKind
from aftercare.appointments.models import Bay, OpeningHours, ServiceKind
from aftercare.org.choices import Role


@pytest.fixture
def workshop(store_a):
    """Store A: one appointment bay and one general bay, 08:30–17:30 every day, maintenance (60 min, any bay) and a
    body estimate (30 min, general bay only)."""
    bays = [Bay.objects.create(store=store_a, name="预约工位", kind=BayKind.APPOINTMENT),
            Bay.objects.create(store=store_a, name="1号工位", kind=BayKind.GENERAL)]
    for weekday in range(7):
        OpeningHours.objects.create(store=store_a, weekday=weekday, opens_at=dt.time(8, 30),
                                    closes_at=dt.time(17, 30))
    maintenance = ServiceKind.objects.create(store=store_a, code="maintenance", name="常规保养", duration_minutes=60,
                                             bay_kinds=["appointment", "general", "express"])
    estimate = ServiceKind.objects.create(store=store_a, code="estimate", name="钣喷估价", duration_minutes=30,
                                          bay_kinds=["general"])
    return {"bays": bays, "maintenance": maintenance, "estimate": estimate}


@pytest.fixture
def booker(users):
    return users[Role.GROUP_ADMIN]


# ---- booking pages, reminders, waitlist (abook) ----------------------------------------------------------------------


@pytest.fixture
def shop(store_a, workshop, time_machine):
    """`workshop` on Monday 2026-12-07 10:00 Shanghai (time frozen), no walk-in share, a year bookable."""
    from aftercare.appointments.models import AppointmentSettings

    from .abook_helpers import NOW

    time_machine.move_to(NOW, tick=False)
    AppointmentSettings.objects.create(store=store_a, walk_in_share=0, booking_horizon_days=365)
    return workshop


@pytest.fixture
def outbox(settings):
    """The SMS sent (the local backend's outbox)."""
    from aftercare.core.sms import LocmemBackend

    settings.SMS_BACKEND = "aftercare.core.sms.LocmemBackend"
    LocmemBackend.outbox.clear()
    yield LocmemBackend.outbox
    LocmemBackend.outbox.clear()
