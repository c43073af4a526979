"""Capacity settings: the defaults a new store gets, and the page's sections (settings, bays, kinds, hours and caps,
kind caps, day overrides) through the services: validated, audited, errors next to the field, never a 500."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from aftercare.appointments.choices import BayKind
from aftercare.appointments.models import AppointmentSettings, Bay, DayOverride, KindCap, OpeningHours, ServiceKind
from aftercare.appointments.services.configuration import appointment_capacity_seed_defaults, service_kind_create
from aftercare.core.models import AuditEvent
from aftercare.org.choices import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(users):
    return users[Role.STORE_MANAGER]


def client_for(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_a_new_store_gets_the_usual_capacity_once(users, store_a):
    from aftercare.org.models import Store
    from aftercare.org.services import store_create

    store = store_create(actor=users[Role.GROUP_ADMIN], store=Store(group=store_a.group, region=store_a.region,
                                                                    code="C01", name="佛山店", brand="别克"))
    kinds = {k.code: k.duration_minutes for k in ServiceKind.objects.filter(store=store)}
    assert kinds == {"first_maintenance": 60, "maintenance": 60, "mechanical": 120, "body_estimate": 30, "wash": 30}
    assert Bay.objects.filter(store=store).count() == 3 and OpeningHours.objects.filter(store=store).count() == 7
    ServiceKind.objects.filter(store=store, code="wash").update(duration_minutes=45)
    appointment_capacity_seed_defaults(store)  # idempotent, keeps the store's changes
    assert ServiceKind.objects.filter(store=store).count() == 5
    assert ServiceKind.objects.get(store=store, code="wash").duration_minutes == 45
    assert AppointmentSettings.objects.filter(store=store).count() == 1


def test_it_saves_each_section_of_the_settings_page(store_a, manager):
    client = client_for(manager)
    assert client.get("/appointments/settings/").status_code == 200
    ok = client.post("/appointments/settings/", {"section": "settings", "store": store_a.pk, "s-slot_minutes": 20,
                                                 "s-walk_in_share": 10, "s-no_show_grace_minutes": 20,
                                                 "s-booking_horizon_days": 30})
    assert ok.status_code == 302
    row = AppointmentSettings.objects.get(store=store_a)
    saved = (row.slot_minutes, row.walk_in_share, row.no_show_grace_minutes, row.booking_horizon_days)
    assert saved == (20, 10, 20, 30)
    assert client.post("/appointments/settings/", {"section": "bay", "store": store_a.pk, "b-name": "2号工位",
                                                   "b-kind": "general"}).status_code == 302
    assert client.post("/appointments/settings/", {"section": "kind", "store": store_a.pk, "k-code": "tyres",
                                                   "k-name": "换胎", "k-duration_minutes": 40,
                                                   "k-bay_kinds": ["express", "general"]}).status_code == 302
    kind = ServiceKind.objects.get(store=store_a, code="tyres")
    assert kind.bay_kinds == ["express", "general"] and kind.duration_minutes == 40
    hours = {"section": "hours", "store": store_a.pk}
    for weekday in range(7):
        if weekday < 6:
            hours |= {f"h{weekday}-opens_at": "08:30", f"h{weekday}-closes_at": "18:00", f"h{weekday}-daily_cap": 30}
    assert client.post("/appointments/settings/", hours).status_code == 302
    assert OpeningHours.objects.filter(store=store_a).count() == 6  # Sunday closed
    assert OpeningHours.objects.get(store=store_a, weekday=0).daily_cap == 30
    assert client.post("/appointments/settings/", {"section": "cap", "store": store_a.pk, "c-weekday": 5,
                                                   "c-service_kind": kind.pk, "c-cap": 2}).status_code == 302
    assert KindCap.objects.get(store=store_a, weekday=5, service_kind=kind).cap == 2
    assert client.post("/appointments/settings/", {"section": "override", "store": store_a.pk,
                                                   "o-date": "2027-02-10", "o-closed": "on",
                                                   "o-note": "年会"}).status_code == 302
    override = DayOverride.objects.get(store=store_a)
    assert override.closed and override.note == "年会"
    bay = Bay.objects.get(store=store_a, name="2号工位")
    assert client.post(f"/appointments/settings/bays/{bay.pk}/", {f"bay{bay.pk}-name": "2号", f"bay{bay.pk}-kind":
                                                                 "express"}).status_code == 302
    bay.refresh_from_db()
    assert (bay.name, bay.kind, bay.is_active) == ("2号", BayKind.EXPRESS, False)
    assert client.post(f"/appointments/settings/kinds/{kind.pk}/", {
        f"kind{kind.pk}-name": "换胎", f"kind{kind.pk}-duration_minutes": 50, f"kind{kind.pk}-bay_kinds": ["general"],
        f"kind{kind.pk}-is_active": "on"}).status_code == 302
    kind.refresh_from_db()
    assert kind.duration_minutes == 50 and kind.bay_kinds == ["general"]
    assert client.post(f"/appointments/settings/overrides/{override.pk}/delete/").status_code == 302
    assert not DayOverride.objects.exists()
    assert AuditEvent.objects.filter(object_type__startswith="appointments.").count() >= 12


def test_bad_input_is_named_on_its_field_never_a_500(store_a, manager):
    client = client_for(manager)
    Bay.objects.create(store=store_a, name="1号工位", kind="general")
    cases = [
        ({"section": "bay", "b-name": "1号工位", "b-kind": "general"}, "already has a bay of this name"),
        ({"section": "bay", "b-name": "x", "b-kind": "crane"}, "Select a valid choice"),
        ({"section": "kind", "k-code": "x", "k-name": "x", "k-duration_minutes": 5}, "greater than or equal to 10"),
        ({"section": "hours", "h0-opens_at": "18:00", "h0-closes_at": "08:00"}, "close after it opens"),
        ({"section": "hours", "h0-opens_at": "08:00"}, "Give both opening and closing times"),
        ({"section": "override", "o-date": "1800-01-01"}, "between 2000 and 2999"),
        ({"section": "override", "o-date": "2027-01-01", "o-opens_at": "12:00", "o-closes_at": "09:00"},
         "close after it opens"),
        ({"section": "settings", "s-slot_minutes": "abc"}, "Enter a whole number"),
    ]
    for data, message in cases:
        response = client.post("/appointments/settings/", {"store": store_a.pk, **data})
        assert response.status_code == 400, data
        assert message in response.content.decode(), (data, message)
    with pytest.raises(ValidationError) as e:
        service_kind_create(actor=manager, store=store_a, code="x", name="x", duration_minutes=30, bay_kinds=[])
    assert "bay_kinds" in e.value.message_dict


def test_only_settings_roles_of_their_own_stores_change_capacity(store_a, store_b, users):
    assert client_for(users[Role.SERVICE_ADVISOR]).get("/appointments/settings/").status_code == 403
    bay = Bay.objects.create(store=store_b, name="B", kind="general")
    client = client_for(users[Role.STORE_MANAGER])
    assert client.post(f"/appointments/settings/bays/{bay.pk}/", {f"bay{bay.pk}-name": "x"}).status_code == 404
    assert client.get("/appointments/settings/", {"store": store_b.pk}).status_code == 404


def test_a_closed_override_and_a_kind_cap_change_what_is_free(store_a, manager, workshop):
    from aftercare.appointments.availability import availability
    from aftercare.appointments.services.configuration import day_override_set, kind_cap_set

    day = dt.date(2027, 3, 2)
    now = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    assert availability(store_id=store_a.pk, start=day, end=day, now=now)[0].open
    kind_cap_set(actor=manager, store=store_a, weekday=day.weekday(), service_kind=workshop["estimate"], cap=0)
    assert availability(store_id=store_a.pk, start=day, end=day, kinds=[workshop["estimate"]], now=now)[0].full
    day_override_set(actor=manager, store=store_a, date=day, closed=True, note="盘点")
    assert not availability(store_id=store_a.pk, start=day, end=day, now=now)[0].open
