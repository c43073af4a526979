"""A store's channel settings (`/care/channels/settings/`, care.manage): quiet hours, the weekly caps of marketing
messages and of calls, the channels the store sends on; saved by the audited service `channel_settings_update`,
errors naming the field, another store's settings a 404; a channel turned off sends nothing."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from aftercare.care.services.channels import channel_settings_update
from aftercare.core.models import AuditEvent
from aftercare.followups.models import ChannelSettings, LetterLog
from aftercare.followups.services.outbound import channel_rules, letter_deliver, message_send
from aftercare.org.choices import Role
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db
URL = "/care/channels/settings/"
VALID = {"quiet_start": "22:00", "quiet_end": "07:30", "marketing_weekly_cap": "2", "calls_weekly_cap": "3",
         "enabled_channels": ["sms", "wechat"]}


@pytest.fixture
def manager_client(users):
    client = Client(HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False)
    client.force_login(users[Role.CS_MANAGER])
    return client


def test_it_shows_the_defaults_of_a_store_without_settings(manager_client, store_a):
    page = manager_client.get(URL)
    html = page.content.decode()
    assert page.status_code == 200 and store_a.name in html
    assert 'value="21:00"' in html and 'value="08:00"' in html
    assert 'name="marketing_weekly_cap" value="3"' in html and 'name="calls_weekly_cap" value="2"' in html
    assert html.count('name="enabled_channels"') == 3 and html.count("checked") == 3


def test_it_saves_the_settings_audited_and_the_sending_rules_follow(manager_client, users, store_a):
    response = manager_client.post(URL, {**VALID, "store": store_a.pk})
    assert response.status_code == 302 and response.url == f"{URL}?store={store_a.pk}"
    rules = channel_rules(store_a.pk)
    assert (rules.quiet_start, rules.quiet_end, rules.marketing_weekly_cap, rules.calls_weekly_cap, rules.channels) == (
        dt.time(22), dt.time(7, 30), 2, 3, ("sms", "wechat"))
    event = AuditEvent.objects.get(object_type="followups.channelsettings")
    assert (event.actor, event.store_id, event.action) == (users[Role.CS_MANAGER], store_a.pk, "create")
    assert set(event.changed_fields) == {"quiet_start", "quiet_end", "marketing_weekly_cap", "calls_weekly_cap",
                                         "enabled_channels"}
    manager_client.post(URL, {**VALID, "calls_weekly_cap": "4", "store": store_a.pk})
    assert AuditEvent.objects.filter(object_type="followups.channelsettings").latest("pk").changed_fields == [
        "calls_weekly_cap"]
    assert ChannelSettings.objects.get(store=store_a).calls_weekly_cap == 4


@pytest.mark.parametrize(("field", "value"), [
    ("marketing_weekly_cap", "99"), ("marketing_weekly_cap", "-1"), ("calls_weekly_cap", "0"),
    ("calls_weekly_cap", "x"), ("quiet_start", "25:00"), ("quiet_end", ""), ("enabled_channels", ["fax"]),
])
def test_bad_input_names_the_field_and_saves_nothing(manager_client, store_a, field, value):
    response = manager_client.post(URL, {**VALID, field: value, "store": store_a.pk})
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not ChannelSettings.objects.exists()


def test_the_service_refuses_out_of_range_values_naming_the_field(users, store_a):
    manager = users[Role.CS_MANAGER]
    with pytest.raises(ValidationError) as caught:
        channel_settings_update(actor=manager, store=store_a, marketing_weekly_cap=50, calls_weekly_cap=0,
                                enabled_channels=["letter"])
    assert set(caught.value.message_dict) == {"marketing_weekly_cap", "calls_weekly_cap", "enabled_channels"}
    with pytest.raises(PermissionDenied):
        channel_settings_update(actor=users[Role.CS_SPECIALIST], store=store_a, calls_weekly_cap=3)


def test_another_stores_settings_are_a_404_and_stay_unchanged(manager_client, store_a, store_b):
    theirs = ChannelSettings.objects.create(store=store_b, quiet_start=dt.time(21), quiet_end=dt.time(8),
                                            marketing_weekly_cap=3, calls_weekly_cap=2)
    assert manager_client.get(URL, {"store": store_b.pk}).status_code == 404
    assert manager_client.post(URL, {**VALID, "store": store_b.pk}).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.calls_weekly_cap, theirs.enabled_channels) == (2, ["sms", "email", "wechat"])
    assert manager_client.get(URL, {"store": "abc"}).status_code == 200  # not a store id: the own store


def test_a_specialist_may_not_change_channel_settings(users):
    client = Client()
    client.force_login(users[Role.CS_SPECIALIST])
    assert client.get(URL).status_code == 403
    assert client.post(URL, VALID).status_code == 403


def test_a_channel_turned_off_sends_nothing_of_either_purpose(users, store_a, settings):
    settings.SMS_BACKEND = "aftercare.core.sms.LocmemBackend"
    from aftercare.core.sms import LocmemBackend

    LocmemBackend.outbox.clear()
    customer = f.CustomerFactory(store=store_a, consent_service_calls=True, consent_marketing=True)
    queued = message_send(customer=customer, purpose="service", channel="sms", text="预约提醒")
    channel_settings_update(actor=users[Role.CS_MANAGER], store=store_a, enabled_channels=["email"])
    assert letter_deliver(letter_id=queued.pk) is False  # queued before, checked again when sent
    refused = message_send(customer=customer, purpose="service", channel="sms", text="预约确认")
    assert {(m.status, m.error) for m in LetterLog.objects.filter(pk__in=[queued.pk, refused.pk])} == {
        ("cancelled", "channel disabled")}
    assert LocmemBackend.outbox == []
