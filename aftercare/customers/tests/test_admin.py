import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from aftercare.core.models import ApiToken, AuditEvent
from aftercare.testing import factories as f

APPS = {"core", "org", "customers"}


@pytest.fixture
def admin_client_(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


def test_it_opens_every_admin_list_and_add_page(admin_client_, other_store_rows):
    models = [m for m in admin.site._registry if m._meta.app_label in APPS]
    assert len(models) >= 16
    for model in models:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert admin_client_.get(url).status_code == 200, url
        add = admin_client_.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        assert add.status_code == (403 if model is AuditEvent else 200), opts.label
    customer = other_store_rows["customer"]
    assert admin_client_.get(reverse("admin:customers_customer_change", args=[customer.pk])).status_code == 200


def test_it_keeps_the_audit_trail_read_only(admin_client_, store_a):
    event = AuditEvent.objects.create(action="create", object_type="customers.customer", object_id="1")
    change = reverse("admin:core_auditevent_change", args=[event.pk])
    assert admin_client_.get(change).status_code == 200  # view only
    admin_client_.post(change, {"action": "delete"})
    delete = reverse("admin:core_auditevent_delete", args=[event.pk])
    assert admin_client_.post(delete, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.action == "create"


def test_it_creates_an_api_token_and_shows_the_key_once(admin_client_, specialist):
    response = admin_client_.post(
        reverse("admin:core_apitoken_add"), {"user": specialist.pk, "name": "DMS bridge"}, follow=True
    )
    token = ApiToken.objects.get(name="DMS bridge")
    shown = [str(m) for m in response.context["messages"]]
    (key,) = re.findall(r"ac_[\w-]+", " ".join(shown))
    assert ApiToken.hash_key(key) == token.key_hash and token.prefix == key[3:11]
    listing = admin_client_.get(reverse("admin:core_apitoken_changelist")).content.decode()
    assert key not in listing


def test_it_registers_the_store_admin_with_departments(admin_client_, store_a):
    f.DepartmentFactory(store=store_a)
    body = admin_client_.get(reverse("admin:org_store_change", args=[store_a.pk])).content.decode()
    assert "客服部" in body
