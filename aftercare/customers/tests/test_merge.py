import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import override

from aftercare.core.models import AuditEvent
from aftercare.customers.models import (
    Customer,
    InsurancePolicy,
    MileageReading,
    Ownership,
    RepairOrder,
    SalesDelivery,
)
from aftercare.customers.services import customer_merge
from aftercare.org.choices import Role
from aftercare.testing import factories as f
from aftercare.testing.clients import api_client

D = dt.date


@pytest.fixture
def pair(store_a):
    """Two files of one person: `keep` from sales, `dup` created at the service desk with other details."""
    keep = f.CustomerFactory(
        store=store_a, name="周杰", number="A0000001", mobile="+8613811112222", address="", birthday=None,
        contact_person="", consent_marketing=True,
    )
    dup = f.CustomerFactory(
        store=store_a, name="周杰", number="A0000002", mobile="+8613933334444", address="广州市天河路1号",
        birthday=D(1980, 2, 3), contact_person="周太太", region="天河区", dms_code="DMS-77",
        consent_service_calls=False, consent_marketing=True,
    )
    kept_vehicle = f.owned_vehicle(keep)
    dup_vehicle = f.owned_vehicle(dup)
    MileageReading.objects.create(store=store_a, vehicle=dup_vehicle, read_on=D(2025, 1, 1), km=12000,
                                  source="manual")
    f.RepairOrderFactory(store=store_a, customer=dup, vehicle=dup_vehicle)
    f.RepairOrderFactory(store=store_a, customer=dup, vehicle=dup_vehicle)
    f.RepairOrderFactory(store=store_a, customer=keep, vehicle=kept_vehicle)
    f.SalesDeliveryFactory(store=store_a, customer=dup, vehicle=dup_vehicle)
    f.InsurancePolicyFactory(store=store_a, customer=dup, vehicle=dup_vehicle)
    return keep, dup, dup_vehicle


def test_it_moves_everything_to_the_kept_file(manager, pair):
    keep, dup, dup_vehicle = pair

    kept = customer_merge(actor=manager, keep=keep, merge=dup)

    assert kept.pk == keep.pk
    for model in (Ownership, RepairOrder, SalesDelivery, InsurancePolicy):
        assert not model.objects.filter(customer=dup).exists(), model
    assert RepairOrder.objects.filter(customer=keep).count() == 3
    assert SalesDelivery.objects.filter(customer=keep).count() == 1
    assert InsurancePolicy.objects.filter(customer=keep).count() == 1
    assert Ownership.objects.get(vehicle=dup_vehicle, valid_to__isnull=True).customer_id == keep.pk
    # the mileage history travels with the vehicle
    assert MileageReading.objects.filter(vehicle__ownerships__customer=keep).count() == 1
    dup.refresh_from_db()
    assert dup.is_active is False and dup.merged_into_id == keep.pk  # kept, never deleted
    assert Customer.objects.filter(pk=dup.pk).exists()


def test_it_fills_blank_fields_and_keeps_opt_outs(manager, pair):
    keep, dup, _vehicle = pair

    customer_merge(actor=manager, keep=keep, merge=dup)

    keep.refresh_from_db()
    assert keep.mobile == "+8613811112222"  # its own number stays first
    assert keep.mobile2 == "+8613933334444"  # the other file's number is not lost
    assert (keep.address, keep.birthday, keep.contact_person, keep.region) == (
        "广州市天河路1号", D(1980, 2, 3), "周太太", "天河区",
    )
    assert keep.dms_code == "DMS-77"
    assert keep.consent_service_calls is False  # an opt-out on either file wins
    assert keep.consent_marketing is True


def test_it_does_not_overwrite_filled_fields(manager, store_a):
    keep = f.CustomerFactory(store=store_a, address="保留地址", mobile="+8613800000001")
    dup = f.CustomerFactory(store=store_a, address="另一个地址", mobile="+8613800000001")

    customer_merge(actor=manager, keep=keep, merge=dup)

    keep.refresh_from_db()
    assert keep.address == "保留地址"
    assert keep.mobile2 == ""  # same number: nothing to add


def test_it_audits_both_files_with_ids_and_field_names_only(manager, pair):
    keep, dup, _vehicle = pair

    customer_merge(actor=manager, keep=keep, merge=dup)

    events = AuditEvent.objects.filter(action="merge")
    assert {(e.object_id, e.actor_id, e.store_id) for e in events} == {
        (str(keep.pk), manager.pk, keep.store_id),
        (str(dup.pk), manager.pk, keep.store_id),
    }
    on_keep = events.get(object_id=str(keep.pk))
    assert on_keep.detail["kept_id"] == keep.pk and on_keep.detail["merged_id"] == dup.pk
    assert on_keep.detail["moved"] == {"ownerships": 1, "repair_orders": 2, "deliveries": 1, "policies": 1}
    assert set(on_keep.changed_fields) == {
        "mobile2", "address", "birthday", "contact_person", "region", "dms_code", "consent_service_calls"
    }
    blob = str(on_keep.detail) + str(on_keep.changed_fields)
    for value in ("13933334444", "广州市天河路1号", "周太太", "周杰", "DMS-77", "1980"):
        assert value not in blob


def test_it_joins_the_ownerships_when_both_owned_the_same_vehicle(manager, store_a):
    keep = f.CustomerFactory(store=store_a, name="王芳")
    dup = f.CustomerFactory(store=store_a, name="王芳")
    vehicle = f.VehicleFactory(store=store_a)
    f.OwnershipFactory(customer=keep, vehicle=vehicle, valid_from=D(2023, 1, 1), valid_to=D(2024, 3, 9))
    f.OwnershipFactory(customer=dup, vehicle=vehicle, valid_from=D(2024, 3, 10))
    # a vehicle with a real owner in between keeps its history as it is
    other = f.CustomerFactory(store=store_a, name="别人")
    resold = f.VehicleFactory(store=store_a)
    f.OwnershipFactory(customer=keep, vehicle=resold, valid_from=D(2020, 1, 1), valid_to=D(2020, 12, 31))
    f.OwnershipFactory(customer=other, vehicle=resold, valid_from=D(2021, 1, 1), valid_to=D(2021, 12, 31))
    f.OwnershipFactory(customer=dup, vehicle=resold, valid_from=D(2022, 1, 1), valid_to=D(2022, 12, 31))

    customer_merge(actor=manager, keep=keep, merge=dup)

    rows = list(Ownership.objects.filter(vehicle=vehicle).values_list("customer_id", "valid_from", "valid_to"))
    assert rows == [(keep.pk, D(2023, 1, 1), None)]
    assert Ownership.objects.filter(vehicle=vehicle, valid_to__isnull=True).count() == 1
    resold_rows = Ownership.objects.filter(vehicle=resold).order_by("valid_from").values_list("customer_id", flat=True)
    assert list(resold_rows) == [keep.pk, other.pk, keep.pk]
    event = AuditEvent.objects.get(action="merge", object_id=str(keep.pk))
    assert len(event.detail["joined_ownership_ids"]) == 1


def test_it_joins_overlapping_ownerships_of_the_same_vehicle(manager, store_a):
    keep = f.CustomerFactory(store=store_a)
    dup = f.CustomerFactory(store=store_a)
    vehicle = f.VehicleFactory(store=store_a)
    f.OwnershipFactory(customer=dup, vehicle=vehicle, valid_from=D(2023, 1, 1), valid_to=D(2024, 6, 30))
    f.OwnershipFactory(customer=keep, vehicle=vehicle, valid_from=D(2024, 3, 1), valid_to=D(2024, 5, 1))

    customer_merge(actor=manager, keep=keep, merge=dup)

    rows = list(Ownership.objects.filter(vehicle=vehicle).values_list("customer_id", "valid_from", "valid_to"))
    assert rows == [(keep.pk, D(2023, 1, 1), D(2024, 6, 30))]


def test_it_refuses_to_merge_across_stores_and_changes_nothing(users, store_a, store_b):
    admin = users[Role.GROUP_ADMIN]
    keep = f.CustomerFactory(store=store_a)
    other = f.CustomerFactory(store=store_b)
    f.RepairOrderFactory(store=store_b, customer=other)

    with override("en"):
        with pytest.raises(ValidationError) as exc:
            customer_merge(actor=admin, keep=keep, merge=other)
        assert "different stores" in str(exc.value.message_dict["merge"])

    other.refresh_from_db()
    assert other.is_active and other.merged_into_id is None
    assert RepairOrder.objects.filter(customer=other).count() == 1
    assert not AuditEvent.objects.filter(action="merge").exists()


def test_it_refuses_itself_and_files_already_merged(manager, store_a):
    a, b, c = (f.CustomerFactory(store=store_a) for _ in range(3))
    with pytest.raises(ValidationError):
        customer_merge(actor=manager, keep=a, merge=a)
    customer_merge(actor=manager, keep=a, merge=b)
    with override("en"), pytest.raises(ValidationError, match="already merged"):
        customer_merge(actor=manager, keep=c, merge=b)
    with override("en"), pytest.raises(ValidationError, match="already merged"):
        customer_merge(actor=manager, keep=b, merge=c)


def test_it_repoints_files_merged_earlier(manager, store_a):
    a, b, c = (f.CustomerFactory(store=store_a) for _ in range(3))
    customer_merge(actor=manager, keep=b, merge=c)
    customer_merge(actor=manager, keep=a, merge=b)
    assert Customer.objects.get(pk=c.pk).merged_into_id == a.pk


def test_it_merges_in_constant_queries(manager, store_a, django_assert_max_num_queries):
    def scenario(n):
        keep, dup = f.CustomerFactory(store=store_a), f.CustomerFactory(store=store_a, address="", birthday=None)
        for _ in range(n):
            vehicle = f.owned_vehicle(dup)
            f.RepairOrderFactory(store=store_a, customer=dup, vehicle=vehicle)
            f.InsurancePolicyFactory(store=store_a, customer=dup, vehicle=vehicle)
        return keep, dup

    keep, dup = scenario(1)
    with django_assert_max_num_queries(20) as small:
        customer_merge(actor=manager, keep=keep, merge=dup)
    keep, dup = scenario(15)
    with django_assert_max_num_queries(len(small.captured_queries)):
        customer_merge(actor=manager, keep=keep, merge=dup)


# ---- page -----------------------------------------------------------------------------------------------------


def test_the_confirm_page_shows_both_files_side_by_side(client, manager, pair):
    keep, dup, _vehicle = pair
    client.force_login(manager)

    response = client.get(reverse("customers:merge", args=[keep.pk, dup.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "A0000001" in body and "A0000002" in body
    assert "广州市天河路1号" in body and "周太太" in body
    assert "138****2222" in body and "139****4444" in body
    assert "13933334444" not in body
    assert 'id="merge-form"' in body
    assert reverse("customers:merge", args=[dup.pk, keep.pk]) in body  # keep the other one instead
    assert not AuditEvent.objects.filter(action="merge").exists()  # looking changes nothing


def test_posting_the_confirm_page_merges(client, manager, pair):
    keep, dup, _vehicle = pair
    client.force_login(manager)

    response = client.post(reverse("customers:merge", args=[keep.pk, dup.pk]))

    assert response.status_code == 302 and response["Location"] == reverse("customers:detail", args=[keep.pk])
    assert Customer.objects.get(pk=dup.pk).merged_into_id == keep.pk


def test_the_page_refuses_a_cross_store_merge(client, users, store_a, store_b):
    admin = users[Role.GROUP_ADMIN]
    keep, other = f.CustomerFactory(store=store_a), f.CustomerFactory(store=store_b)
    client.force_login(admin)
    url = reverse("customers:merge", args=[keep.pk, other.pk])

    body = client.get(url).content.decode()
    assert 'id="merge-error"' in body and 'id="merge-form"' not in body
    response = client.post(url)
    assert response.status_code == 400
    assert Customer.objects.get(pk=other.pk).is_active


def test_the_page_answers_404_for_another_stores_customer(client, manager, store_a, other_store_rows):
    keep = f.CustomerFactory(store=store_a)
    other = other_store_rows["customer"]
    client.force_login(manager)
    for args in ([keep.pk, other.pk], [other.pk, keep.pk]):
        url = reverse("customers:merge", args=args)
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    assert Customer.objects.get(pk=other.pk).is_active


def test_the_page_answers_403_without_the_permission(client, specialist, pair):
    keep, dup, _vehicle = pair
    client.force_login(specialist)
    url = reverse("customers:merge", args=[keep.pk, dup.pk])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert Customer.objects.get(pk=dup.pk).is_active


# ---- API ------------------------------------------------------------------------------------------------------


def test_the_api_merges(manager, pair):
    keep, dup, _vehicle = pair
    response = api_client(manager).post(
        f"/api/customers/{keep.pk}/merge", {"merge_id": dup.pk}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"id": keep.pk, "number": "A0000001", "name": "周杰", "merged_id": dup.pk}
    assert Customer.objects.get(pk=dup.pk).merged_into_id == keep.pk


def test_the_api_refuses_cross_store_other_store_and_missing_permission(users, manager, specialist, store_a, store_b,
                                                                        other_store_rows):
    keep = f.CustomerFactory(store=store_a)
    other = other_store_rows["customer"]

    def post(user, pk, merge_id):
        return api_client(user).post(f"/api/customers/{pk}/merge", {"merge_id": merge_id},
                                     content_type="application/json")

    assert post(manager, keep.pk, other.pk).status_code == 404
    assert post(manager, other.pk, keep.pk).status_code == 404
    assert post(specialist, keep.pk, f.CustomerFactory(store=store_a).pk).status_code == 403
    response = post(users[Role.GROUP_ADMIN], keep.pk, other.pk)
    assert response.status_code == 422
    assert "different stores" in response.json()["errors"]["merge"][0]
    assert post(manager, keep.pk, 0).status_code == 422
    assert Customer.objects.get(pk=other.pk).is_active
