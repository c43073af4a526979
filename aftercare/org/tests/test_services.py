"""`org.services.store_create` and its `store_created` signal: the apps above org answer it, org knows none of them."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from aftercare.core.choices import AuditAction
from aftercare.core.models import AuditEvent
from aftercare.followups.models import FollowupRule, StoreFollowupSettings
from aftercare.org.models import Store
from aftercare.org.services import store_create
from aftercare.org.signals import store_created


def _new_store(store_a, code="N01") -> Store:
    return Store(group=store_a.group, region=store_a.region, code=code, name="新店", brand="别克")


def test_it_gives_a_store_created_through_the_service_the_default_followup_rules(store_a, users):
    store = store_create(actor=users["group_admin"], store=_new_store(store_a))
    codes = set(FollowupRule.objects.filter(store=store).values_list("code", flat=True))
    assert {"SSI", "CSI", "VERIFY", "FTF"} <= codes
    assert StoreFollowupSettings.objects.filter(store=store).exists()
    event = AuditEvent.objects.get(object_type="org.store", object_id=str(store.pk))
    assert (event.action, event.store_id, event.actor_id) == (AuditAction.CREATE, store.pk, users["group_admin"].pk)


def test_it_sends_store_created_once_inside_the_transaction_with_the_saved_store_and_the_actor(store_a, users):
    seen = []

    def listen(sender, *, store, actor, **kwargs):
        from django.db import connection

        seen.append((sender, store.pk, actor, connection.in_atomic_block))

    store_created.connect(listen, dispatch_uid="test.listen")
    try:
        store = store_create(actor=users["group_admin"], store=_new_store(store_a))
    finally:
        store_created.disconnect(dispatch_uid="test.listen")
    assert seen == [(Store, store.pk, users["group_admin"], True)]


# serialized_rollback, as every transactional test here: without it the flush re-creates the content types, and the
# next serialized test fails loading them again (duplicate key)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_writes_nothing_when_a_receiver_fails(store_a):
    def fail(sender, **kwargs):
        raise ValidationError("no")

    store_created.connect(fail, dispatch_uid="test.fail")
    try:
        with pytest.raises(ValidationError):
            store_create(actor=None, store=_new_store(store_a))
    finally:
        store_created.disconnect(dispatch_uid="test.fail")
    assert not Store.objects.filter(code="N01").exists()
    assert not FollowupRule.objects.filter(store__code="N01").exists()
    assert not AuditEvent.objects.filter(object_type="org.store").exists()


def test_it_refuses_an_invalid_store_and_writes_nothing(store_a):
    with pytest.raises(ValidationError) as excinfo:
        store_create(actor=None, store=_new_store(store_a, code=""))
    assert "code" in excinfo.value.message_dict
    assert Store.objects.count() == 1 and not FollowupRule.objects.exists()


def test_it_does_not_announce_a_store_edited_in_admin(client, store_a):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    client.force_login(admin)
    seen = []
    store_created.connect(lambda sender, **kw: seen.append(kw["store"].code), dispatch_uid="test.seen", weak=False)
    try:
        data = {
            "group": store_a.group_id,
            "region": store_a.region_id,
            "code": store_a.code,
            "name": "Renamed",
            "brand": "Demo",
            "customer_number_prefix": "",
            "departments-TOTAL_FORMS": "0",
            "departments-INITIAL_FORMS": "0",
            "departments-MIN_NUM_FORMS": "0",
            "departments-MAX_NUM_FORMS": "1000",
        }
        assert client.post(f"/admin/org/store/{store_a.pk}/change/", data).status_code == 302
        data["code"] = "N02"
        assert client.post("/admin/org/store/add/", data).status_code == 302
    finally:
        store_created.disconnect(dispatch_uid="test.seen")
    assert seen == ["N02"]
    assert Store.objects.get(pk=store_a.pk).name == "Renamed"
