"""The delivery log (search, export, API) and the message template pages."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftercare.followups.models import LetterLog, MessageTemplate
from aftercare.org.choices import Role
from aftercare.testing import factories as f


def _message(store, *, name="王芳", mobile="+8613800001234", **kw):
    customer = f.CustomerFactory(store=store, name=name, mobile=mobile)
    kw.setdefault("status", "sent")
    kw.setdefault("channel", "sms")
    return LetterLog.objects.create(store=store, customer=customer, kind="message", text="促销", **kw)


def test_it_searches_the_delivery_log_by_phone_tail_status_and_channel(client, manager, store_a):
    _message(store_a, name="甲", mobile="+8613800001234", status="sent")
    _message(store_a, name="乙", mobile="+8613800005678", status="held", purpose="marketing")
    _message(store_a, name="丙", mobile="+8613800009999", status="failed", channel="email", error="SMTP down")
    LetterLog.objects.create(store=store_a, customer=f.CustomerFactory(store=store_a, name="丁"), kind="notice",
                             channel="letter", text="paper")  # a paper letter is no message
    client.force_login(manager)

    def names(**query):
        html = client.get("/care/messages/", query, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        return set(re.findall(r'customers/\d+/">([^<]+)<', html))

    assert names() == {"甲", "乙", "丙"}
    assert names(phone_tail="5678") == {"乙"}
    assert names(status="failed") == {"丙"}
    assert names(channel="email") == {"丙"}
    assert names(purpose="marketing") == {"乙"}
    assert names(q="甲") == {"甲"}


def test_it_lists_the_delivery_log_in_a_constant_number_of_queries(client, manager, store_a):
    client.force_login(manager)
    _message(store_a)
    client.get("/care/messages/")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/care/messages/").status_code == 200
    for i in range(15):
        _message(store_a, name=f"客户{i}", mobile=f"+86138000{i:05d}")
    with CaptureQueriesContext(connection) as many:
        client.get("/care/messages/")
    assert len(many) == len(few)


def test_it_lists_messages_through_the_api_with_masked_phones(client, manager, store_a):
    _message(store_a, mobile="+8613812345678", status="failed", error="gateway down")
    client.force_login(manager)
    answer = client.get("/api/care/messages", {"status": "failed"})
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert [(m["mobile"], m["error"], m["channel"]) for m in items] == [("138****5678", "gateway down", "sms")]


def test_it_refuses_the_api_list_to_roles_without_care(client, users):
    client.force_login(users[Role.SERVICE_ADVISOR])
    assert client.get("/api/care/messages").status_code == 403


def test_it_creates_a_template_and_names_an_unknown_variable(client, manager, store_a):
    client.force_login(manager)
    data = {"code": "promo", "name": "Promo", "purpose": "marketing", "channel": "sms", "store": "",
            "body_zh": "{customer_name}您好，{coupon}", "is_active": "on"}
    page = client.post("/care/templates/new/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and "Unknown variable {coupon}" in page.content.decode()
    assert not MessageTemplate.objects.exists()
    data["body_zh"] = "{customer_name}您好，退订 {optout_url}"
    assert client.post("/care/templates/new/", data).status_code == 302
    template = MessageTemplate.objects.get()
    assert template.store_id is None and template.group_id == store_a.group_id
    data.update(body_en="Dear {customer_name}", store=store_a.pk)
    assert client.post(f"/care/templates/{template.pk}/", data).status_code == 302
    template.refresh_from_db()
    assert template.body_en == "Dear {customer_name}"


@pytest.mark.parametrize("role", [Role.CS_SPECIALIST, Role.SERVICE_ADVISOR])
def test_it_lets_only_care_managers_edit_templates(client, users, role):
    client.force_login(users[role])
    assert client.get("/care/templates/new/").status_code == 403
