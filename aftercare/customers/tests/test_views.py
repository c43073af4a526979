import datetime as dt

import pytest
from django.urls import reverse

from aftercare.core.models import AuditEvent
from aftercare.customers.models import Customer, Ownership, Vehicle
from aftercare.org.choices import Role
from aftercare.org.scoping import SESSION_STORE_KEY
from aftercare.testing import factories as f
from conftest import CANARY


@pytest.fixture
def client_as(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def zhang(store_a):
    customer = f.CustomerFactory(store=store_a, name="张伟", mobile="+8613812345678", number="A010000042")
    vehicle = f.owned_vehicle(customer, plate="粤A12345", vin=f.make_vin(4242), model="君威")
    return customer, vehicle


def test_it_finds_a_customer_by_name_mobile_plate_vin_and_number(client_as, specialist, zhang, store_a):
    customer, vehicle = zhang
    f.CustomerFactory(store=store_a, name="李娜", mobile="+8613900000000")
    client = client_as(specialist)
    url = reverse("customers:list")
    for q in ["张伟", "张", "1234 5678", "138123", "粤A12345", "a12345", vehicle.vin, vehicle.vin[-6:], "A010000042"]:
        body = client.get(url, {"q": q}).content.decode()
        assert "张伟" in body, q
        assert "李娜" not in body, q
    assert "李娜" in client.get(url).content.decode()


def test_it_finds_customers_by_plate_prefix_and_contact_person(client_as, specialist, zhang, store_a):
    li = f.CustomerFactory(store=store_a, name="李娜", mobile="+8613900000000", contact_person="王经理",
                           contact_phone="+8613711112222")
    f.owned_vehicle(li, plate="粤B54321", vin=f.make_vin(4343))
    client = client_as(specialist)
    url = reverse("customers:list")
    body = client.get(url, {"q": "粤A"}).content.decode()  # the province and city: a plate's start
    assert "张伟" in body and "李娜" not in body
    body = client.get(url, {"q": "王经理"}).content.decode()  # a company's contact person
    assert "李娜" in body and "张伟" not in body
    assert "李娜" in client.get(url, {"q": "1111 2222"}).content.decode()  # the contact phone


def test_it_masks_phones_in_the_list(client_as, specialist, zhang):
    body = client_as(specialist).get(reverse("customers:list")).content.decode()
    assert "138****5678" in body
    assert "13812345678" not in body


def test_it_answers_htmx_with_the_results_table_only(client_as, specialist, zhang):
    response = client_as(specialist).get(reverse("customers:list"), {"q": "张伟"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert 'id="customer-table"' in body
    assert "<html" not in body and 'id="customer-search"' not in body


def test_it_filters_by_source_background_consent_and_vehicle(client_as, specialist, store_a, zhang):
    f.CustomerFactory(
        store=store_a, name="车队客户", background="company", source="parts_counter", consent_service_calls=False
    )
    client = client_as(specialist)
    url = reverse("customers:list")

    def names(**params):
        page = client.get(url, params).context["page"]
        return {c.name for c in page}

    assert names(has_vehicle="no") == {"车队客户"}
    assert names(has_vehicle="yes") == {"张伟"}
    assert names(background="company") == {"车队客户"}
    assert names(source="parts_counter") == {"车队客户"}
    assert names(consent="calls_no") == {"车队客户"}
    assert names(consent="calls_yes") == {"张伟"}


def test_it_paginates(client_as, specialist, store_a):
    f.CustomerFactory.create_batch(30, store=store_a)
    client = client_as(specialist)
    first = client.get(reverse("customers:list")).context["page"]
    second = client.get(reverse("customers:list"), {"page": 2}).context["page"]
    assert first.paginator.count == 30 and len(first) == 25 and len(second) == 5


def test_it_narrows_the_list_to_the_switched_store(client, store_a, store_b):
    admin = f.UserFactory(username="admin_g")
    f.StaffFactory(user=admin, group=store_a.group, role=Role.GROUP_ADMIN, stores=[store_a])
    f.CustomerFactory(store=store_a, name="天河客户")
    f.CustomerFactory(store=store_b, name="南山客户")
    client.force_login(admin)
    body = client.get(reverse("customers:list")).content.decode()
    assert "天河客户" in body and "南山客户" in body
    client.post(reverse("store_switch"), {"store": store_b.pk, "next": "/customers/"})
    assert client.session[SESSION_STORE_KEY] == store_b.pk
    body = client.get(reverse("customers:list")).content.decode()
    assert "南山客户" in body and "天河客户" not in body


def test_it_never_lists_another_stores_customers(client_as, specialist, zhang, other_store_rows):
    client = client_as(specialist)
    for q in ["", "画眉", other_store_rows["vehicle"].vin, other_store_rows["vehicle"].plate]:
        response = client.get(reverse("customers:list"), {"q": q}, headers={"HX-Request": "true"})
        assert CANARY not in response.content.decode()
        assert [c.name for c in response.context["page"]] == ([] if q else ["张伟"])


def _rich_customer(store, vehicles=3, orders=4):
    customer = f.CustomerFactory(store=store, name="王芳")
    for _ in range(vehicles):
        vehicle = f.owned_vehicle(customer)
        f.SalesDeliveryFactory(store=store, customer=customer, vehicle=vehicle)
        f.InsurancePolicyFactory(store=store, customer=customer, vehicle=vehicle)
        f.RepairOrderFactory.create_batch(orders, store=store, customer=customer, vehicle=vehicle)
    return customer


def test_it_shows_the_customer_360_page(client_as, specialist, store_a):
    customer = _rich_customer(store_a)
    body = client_as(specialist).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    for vehicle in Vehicle.objects.filter(ownerships__customer=customer):
        assert vehicle.vin in body
    assert body.count("RO0") >= 12
    assert "中国人保" in body and "王销售" in body
    assert 'id="timeline"' in body and body.count("timeline-item") >= 3 * (1 + 1 + 4 + 1)


def test_it_loads_the_360_page_in_constant_queries(client_as, specialist, store_a, django_assert_max_num_queries):
    small = _rich_customer(store_a, vehicles=1, orders=1)
    big = _rich_customer(store_a, vehicles=6, orders=8)
    client = client_as(specialist)
    client.get(reverse("customers:detail", args=[small.pk]))  # warm the session
    # 31: the appointments panel reads in one query; care's class, churn-risk and projected-dues panels in 12
    with django_assert_max_num_queries(31) as small_ctx:
        client.get(reverse("customers:detail", args=[small.pk]))
    with django_assert_max_num_queries(len(small_ctx.captured_queries)):
        response = client.get(reverse("customers:detail", args=[big.pk]))
    assert response.status_code == 200 and len(response.context["repair_orders"]) == 48


def test_it_loads_the_list_in_constant_queries(client_as, specialist, store_a, django_assert_max_num_queries):
    for _ in range(10):
        _rich_customer(store_a, vehicles=2, orders=0)
    client = client_as(specialist)
    client.get(reverse("customers:list"))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("customers:list"))
    assert len(response.context["page"]) == 10


def test_it_reveals_the_phone_and_audits_without_the_number(client_as, specialist, zhang):
    customer, _ = zhang
    response = client_as(specialist).post(
        reverse("customers:reveal_phone", args=[customer.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "138 1234 5678" in response.content.decode()
    event = AuditEvent.objects.get(action="reveal")
    assert event.actor == specialist and event.object_id == str(customer.pk) and event.store_id == customer.store_id
    assert "5678" not in f"{event.changed_fields} {event.detail}"


def test_it_refuses_reveal_without_permission_or_by_get(client_as, users, zhang):
    customer, _ = zhang
    client = client_as(users[Role.DEPARTMENT_DESIGNEE])
    assert client.post(reverse("customers:reveal_phone", args=[customer.pk])).status_code == 403
    assert client.get(reverse("customers:reveal_phone", args=[customer.pk])).status_code == 405
    assert not AuditEvent.objects.filter(action="reveal").exists()
    detail = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "reveal-phone" not in detail and "138****5678" in detail


def test_it_creates_a_customer_in_one_of_my_stores(client_as, specialist, store_a):
    response = client_as(specialist).post(
        reverse("customers:create"),
        {"store": store_a.pk, "name": " 赵敏 ", "mobile": "138 0000 1111", "source": "service",
         "consent_service_calls": "on"},
    )
    customer = Customer.objects.get(name="赵敏")
    assert response.status_code == 302 and response.url == reverse("customers:detail", args=[customer.pk])
    assert customer.mobile == "+8613800001111" and customer.store == store_a and customer.number.startswith("A01")


def test_it_shows_errors_per_field_and_saves_nothing(client_as, specialist, store_a):
    response = client_as(specialist).post(
        reverse("customers:create"), {"store": store_a.pk, "name": "赵敏", "mobile": "12345", "source": "service"}
    )
    assert response.status_code == 200
    assert "mobile" in response.context["form"].errors
    assert "12345" in response.content.decode()
    assert Customer.objects.count() == 0


def test_it_offers_only_my_stores_when_creating(client_as, specialist, store_a, store_b):
    client = client_as(specialist)
    form = client.get(reverse("customers:create")).context["form"]
    assert list(form.fields["store"].queryset) == [store_a]
    response = client.post(reverse("customers:create"), {"store": store_b.pk, "name": "X", "source": "service"})
    assert response.status_code == 200 and "store" in response.context["form"].errors
    assert Customer.objects.count() == 0


def test_it_edits_a_customer_and_audits_the_reveal(client_as, specialist, zhang):
    customer, _ = zhang
    client = client_as(specialist)
    assert client.get(reverse("customers:edit", args=[customer.pk])).status_code == 200
    assert AuditEvent.objects.filter(action="reveal").count() == 1
    response = client.post(
        reverse("customers:edit", args=[customer.pk]),
        {"name": "张伟", "mobile": "13812345678", "address": "广州市越秀区中山五路3号", "source": "other",
         "background": "private", "consent_service_calls": "on", "contact_person": "本人", "birthday": "1985-05-01"},
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.address == "广州市越秀区中山五路3号" and customer.background == "private"
    event = AuditEvent.objects.get(action="update")
    assert set(event.changed_fields) == {"address", "background"}


@pytest.mark.parametrize("role", [Role.DEPARTMENT_DESIGNEE, Role.RENEWAL_SPECIALIST])
def test_it_forbids_edits_to_roles_without_the_permission(client_as, users, zhang, role):
    customer, vehicle = zhang
    client = client_as(users[role])
    for url in [
        reverse("customers:create"),
        reverse("customers:edit", args=[customer.pk]),
        reverse("customers:vehicle_create", args=[customer.pk]),
        reverse("customers:vehicle_transfer", args=[vehicle.pk]),
    ]:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"name": "x"}).status_code == 403, url


def test_it_answers_404_for_another_stores_ids(client_as, users, other_store_rows):
    customer, vehicle = other_store_rows["customer"], other_store_rows["vehicle"]
    for role in [Role.CS_SPECIALIST, Role.CS_MANAGER, Role.STORE_MANAGER]:
        client = client_as(users[role])
        for name, pk in [
            ("customers:detail", customer.pk),
            ("customers:edit", customer.pk),
            ("customers:vehicle_create", customer.pk),
            ("customers:vehicle_detail", vehicle.pk),
            ("customers:vehicle_transfer", vehicle.pk),
        ]:
            response = client.get(reverse(name, args=[pk]))
            assert response.status_code == 404, (role, name)
            assert CANARY not in response.content.decode()
        assert client.post(reverse("customers:reveal_phone", args=[customer.pk])).status_code == 404


def test_it_lets_the_group_admin_open_every_store(client_as, users, other_store_rows):
    client = client_as(users[Role.GROUP_ADMIN])
    customer = other_store_rows["customer"]
    assert CANARY in client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert client.get(reverse("customers:vehicle_detail", args=[other_store_rows["vehicle"].pk])).status_code == 200


def test_it_shows_the_vehicle_page(client_as, specialist, zhang, store_a):
    customer, vehicle = zhang
    f.RepairOrderFactory(store=store_a, customer=customer, vehicle=vehicle, ro_number="RO-777", mileage=15321)
    vehicle.mileage_readings.create(store=store_a, read_on=dt.date(2025, 9, 1), km=8, source="delivery")
    body = client_as(specialist).get(reverse("customers:vehicle_detail", args=[vehicle.pk])).content.decode()
    assert vehicle.vin in body and "RO-777" in body and "张伟" in body
    # the mileage history: the order's mileage (not stored twice) and the delivery reading
    assert "15321 km" in body and "8 km" in body


def test_it_adds_a_vehicle_to_a_customer(client_as, specialist, zhang):
    customer, _ = zhang
    vin = f.make_vin(9001)
    response = client_as(specialist).post(
        reverse("customers:vehicle_create", args=[customer.pk]),
        {"vin": vin.lower(), "plate": "粤AD12345", "brand": "别克", "model": "微蓝6", "owner_since": "2025-03-01"},
    )
    vehicle = Vehicle.objects.get(vin=vin)
    assert response.status_code == 302 and response.url == reverse("customers:vehicle_detail", args=[vehicle.pk])
    ownership = Ownership.objects.get(vehicle=vehicle)
    assert ownership.customer == customer and ownership.valid_from == dt.date(2025, 3, 1)


def test_it_rejects_a_bad_vin_on_its_field(client_as, specialist, zhang):
    customer, vehicle = zhang
    client = client_as(specialist)
    bad = client.post(reverse("customers:vehicle_create", args=[customer.pk]), {"vin": "LSGAB12E0R0000001"})
    assert "vin" in bad.context["form"].errors
    dup = client.post(reverse("customers:vehicle_create", args=[customer.pk]), {"vin": vehicle.vin})
    assert "vin" in dup.context["form"].errors
    assert Vehicle.objects.count() == 1


def test_it_transfers_ownership_and_keeps_history(client_as, specialist, zhang, store_a):
    customer, vehicle = zhang
    buyer = f.CustomerFactory(store=store_a, name="陈静", number="A010000099")
    client = client_as(specialist)
    response = client.post(
        reverse("customers:vehicle_transfer", args=[vehicle.pk]), {"new_owner": "a010000099", "on": "2026-01-10"}
    )
    assert response.status_code == 302
    rows = list(Ownership.objects.filter(vehicle=vehicle).order_by("valid_from"))
    assert [(o.customer, o.valid_to) for o in rows] == [(customer, dt.date(2026, 1, 9)), (buyer, None)]
    body = client.get(reverse("customers:vehicle_detail", args=[vehicle.pk])).content.decode()
    assert "陈静" in body and "2026-01-09" in body


def test_it_rejects_a_transfer_to_an_unknown_or_foreign_customer(client_as, specialist, zhang, other_store_rows):
    _, vehicle = zhang
    client = client_as(specialist)
    for number in ["NOPE", other_store_rows["customer"].number]:
        response = client.post(
            reverse("customers:vehicle_transfer", args=[vehicle.pk]), {"new_owner": number, "on": "2026-01-10"}
        )
        assert "new_owner" in response.context["form"].errors
    early = client.post(
        reverse("customers:vehicle_transfer", args=[vehicle.pk]),
        {"new_owner": f.CustomerFactory(store=vehicle.store).number, "on": "2020-01-01"},
    )
    assert "on" in early.context["form"].errors
    assert Ownership.objects.filter(vehicle=vehicle).count() == 1


def test_it_renders_the_ui_in_chinese_by_default_and_english_on_request(client_as, specialist, zhang):
    client = client_as(specialist)
    assert "客户" in client.get(reverse("customers:list")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/customers/"})
    body = client.get(reverse("customers:list")).content.decode()
    assert "Customers" in body and "Customer number" in body


def test_it_shows_the_login_page(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200 and 'name="password"' in response.content.decode()
    assert client.get(reverse("customers:list")).status_code == 302
