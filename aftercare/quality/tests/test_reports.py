"""Parts-quality reports: recording (by hand, from a repair order), the draft from a product-quality complaint,
scoping (another store's report 404; the quality engineer reads every store of the group, never a customer file),
codes edited by the engineer, the pages and the API."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from aftercare.core.models import AuditEvent
from aftercare.org.choices import Role
from aftercare.quality.models import PartFamily, QualityReport, SymptomCode
from aftercare.quality.services import codes, reports
from aftercare.testing import factories as f
from aftercare.testing.clients import api_client as _api
from aftercare.testing.clients import page_client as _client
from conftest import CANARY

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield




@pytest.fixture
def shock():
    return PartFamily.objects.get(code="FRONT_SHOCK")


@pytest.fixture
def vehicle(store_a):
    customer = f.CustomerFactory(store=store_a, name="王先生")
    return f.owned_vehicle(customer, model="英朗", delivery_date=dt.date(2025, 4, 18))


def test_it_seeds_the_seven_important_part_families_in_both_languages():
    codes_ = list(PartFamily.objects.filter(important=True).values_list("code", flat=True))
    assert codes_ == ["MOTOR", "CONTROLLER", "REAR_AXLE", "DIFFERENTIAL", "FRAME", "FRONT_SHOCK", "RIM_WELD"]
    assert PartFamily.objects.get(code="FRONT_SHOCK").name_zh == "前减震器"
    assert SymptomCode.objects.filter(family__isnull=True).exists()


def test_it_records_a_report_by_vin_with_model_build_month_and_months_in_service(users, store_a, vehicle, shock):
    advisor = users[Role.SERVICE_ADVISOR]
    report = reports.quality_report_create(
        actor=advisor,
        store_id=store_a.pk,
        vin=vehicle.vin.lower(),
        part_family=shock,
        part_number="54610-A1",
        supplier_batch="B2504",
        failure_date=dt.date(2026, 2, 20),
        mileage_km=18_500,
        symptom=SymptomCode.objects.get(code="SHOCK_LEAK"),
        submit=True,
    )
    assert (report.vin, report.vehicle_model, report.build_month) == (vehicle.vin, "英朗", dt.date(2025, 4, 1))
    assert report.months_in_service == 10  # 2025-04-18 → 2026-02-20
    assert report.status == "submitted" and report.submitted_at is not None
    assert AuditEvent.objects.filter(object_type="quality.qualityreport", object_id=str(report.pk)).exists()


def test_it_fills_a_report_from_a_repair_order(users, store_a, vehicle, shock):
    order = f.RepairOrderFactory(
        store=store_a,
        customer=vehicle.ownerships.first().customer,
        vehicle=vehicle,
        mileage=21_000,
        settled_at=dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC),
    )
    report = reports.quality_report_create(
        actor=users[Role.SERVICE_ADVISOR],
        store_id=store_a.pk,
        source="repair_order",
        repair_order=order,
        part_family=shock,
    )
    assert (report.vin, report.failure_date, report.mileage_km) == (vehicle.vin, dt.date(2026, 3, 1), 21_000)
    assert report.status == "draft"


def test_it_names_every_missing_field_on_submit_and_refuses_bad_dates(users, store_a, vehicle, shock):
    advisor = users[Role.SERVICE_ADVISOR]
    with pytest.raises(ValidationError) as exc:
        reports.quality_report_create(actor=advisor, store_id=store_a.pk, submit=True)
    assert {"vin", "part_family", "failure_date", "symptom"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError) as exc:
        reports.quality_report_create(actor=advisor, store_id=store_a.pk, vin="LSGAA0000000000XX")
    assert "vin" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        reports.quality_report_create(
            actor=advisor, store_id=store_a.pk, vin=vehicle.vin, failure_date=dt.date(2027, 1, 1)
        )
    assert "failure_date" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        reports.quality_report_create(
            actor=advisor,
            store_id=store_a.pk,
            vin=vehicle.vin,
            part_family=shock,
            symptom=SymptomCode.objects.get(code="MOTOR_OVERHEAT"),
        )
    assert "symptom" in exc.value.message_dict


def test_it_keeps_a_submitted_report_complete_in_the_database(users, store_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        QualityReport.objects.create(
            store=store_a, source="entered", status="submitted", created_by=users[Role.SERVICE_ADVISOR]
        )


def test_it_refuses_reports_in_another_store_and_roles_without_the_permission(users, store_a, store_b):
    with pytest.raises(PermissionDenied):
        reports.quality_report_create(actor=users[Role.SERVICE_ADVISOR], store_id=store_b.pk)
    with pytest.raises(PermissionDenied):
        reports.quality_report_create(actor=users[Role.CS_SPECIALIST], store_id=store_a.pk)
    with pytest.raises(PermissionDenied):
        reports.quality_report_create(actor=users[Role.QUALITY_ENGINEER], store_id=store_a.pk)


def _product_quality_complaint(user, vehicle, category="product_quality"):
    from aftercare.complaints.services.workflow import feedback_create

    return feedback_create(
        actor=user,
        customer=vehicle.ownerships.first().customer,
        vehicle=vehicle,
        kind="complaint",
        source="walk_in" if False else "inbound_call",
        category=category,
        text="前减震器漏油，开了不到一年",
    )


def test_it_hands_a_product_quality_complaint_over_as_a_draft_report(users, store_a, vehicle):
    feedback = _product_quality_complaint(users[Role.CS_SPECIALIST], vehicle)
    report = QualityReport.objects.get(complaint=feedback)
    assert (report.status, report.source, report.store_id, report.vin) == (
        "draft",
        "complaint",
        store_a.pk,
        vehicle.vin,
    )
    assert report.symptom_text == "前减震器漏油，开了不到一年" and report.build_month == dt.date(2025, 4, 1)
    other = _product_quality_complaint(users[Role.CS_SPECIALIST], vehicle, category="mechanical")
    assert not QualityReport.objects.filter(complaint=other).exists()
    # the store completes and submits it
    shock = PartFamily.objects.get(code="FRONT_SHOCK")
    reports.quality_report_update(actor=users[Role.SERVICE_ADVISOR], report=report, part_family=shock, submit=True)
    report.refresh_from_db()
    assert report.status == "submitted"
    with pytest.raises(ValidationError):
        reports.quality_report_update(actor=users[Role.SERVICE_ADVISOR], report=report, part_number="X")


def test_it_rolls_the_complaint_back_when_the_hand_over_fails(users, vehicle, monkeypatch):
    from aftercare.complaints.models import Feedback
    from aftercare.quality.services import reports as module

    def boom(**kwargs):
        raise RuntimeError("hand-over failed")

    monkeypatch.setattr(module, "quality_report_from_complaint", boom)
    with pytest.raises(RuntimeError):
        _product_quality_complaint(users[Role.CS_SPECIALIST], vehicle)
    assert not Feedback.objects.exists()


@pytest.fixture
def two_store_reports(users, store_a, store_b, shock):
    other_customer = f.CustomerFactory(store=store_b, name=CANARY)
    other_vehicle = f.owned_vehicle(other_customer, delivery_date=dt.date(2025, 4, 2))
    mine = f.owned_vehicle(f.CustomerFactory(store=store_a, name="本店客户"), delivery_date=dt.date(2025, 4, 2))
    out = {}
    for store, vehicle in ((store_a, mine), (store_b, other_vehicle)):
        out[store.code] = QualityReport.objects.create(
            store=store,
            source="entered",
            status="submitted",
            vehicle=vehicle,
            vin=vehicle.vin,
            build_month=dt.date(2025, 4, 1),
            part_family=shock,
            failure_date=dt.date(2026, 1, 5),
            symptom_text="漏油",
            created_by=users[Role.SERVICE_ADVISOR],
            submitted_at=NOW,
        )
    return out


def test_it_answers_404_for_another_stores_report_to_a_store_user(users, two_store_reports):
    advisor = users[Role.SERVICE_ADVISOR]
    foreign = two_store_reports["B01"].pk
    assert _client(advisor).get(f"/quality/reports/{foreign}/").status_code == 404
    assert _api(advisor).get(f"/api/quality/reports/{foreign}").status_code == 404
    listed = _api(advisor).get("/api/quality/reports").json()
    assert [r["id"] for r in listed["items"]] == [two_store_reports["A01"].pk]


def test_it_lets_the_quality_engineer_read_every_store_of_the_group_but_no_customer(users, two_store_reports):
    engineer = users[Role.QUALITY_ENGINEER]
    listed = _api(engineer).get("/api/quality/reports").json()
    assert {r["store"] for r in listed["items"]} == {"A01", "B01"}
    page = _client(engineer).get(f"/quality/reports/{two_store_reports['B01'].pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert two_store_reports["B01"].vin in body and CANARY not in body
    customer_id = two_store_reports["B01"].vehicle.ownerships.first().customer_id
    assert _client(engineer).get(f"/customers/{customer_id}/").status_code in (403, 404)
    assert _api(engineer).get(f"/api/customers/{customer_id}").status_code in (403, 404)
    # another group's report stays out of sight
    other_group_store = f.StoreFactory(code="X01", group=f.DealerGroupFactory(code="G2"))
    far = QualityReport.objects.create(
        store=other_group_store, source="entered", created_by=users[Role.SERVICE_ADVISOR]
    )
    assert _client(engineer).get(f"/quality/reports/{far.pk}/").status_code == 404


def test_it_filters_the_list_by_family_build_month_store_and_status(
    users, two_store_reports, django_assert_max_num_queries
):
    engineer = users[Role.QUALITY_ENGINEER]
    client = _client(engineer)
    family = PartFamily.objects.get(code="FRONT_SHOCK").pk
    with django_assert_max_num_queries(12):
        page = client.get(f"/quality/reports/?family={family}&build_month=2025-04&status=submitted")
    assert page.status_code == 200 and page.content.decode().count("data-report=") == 2
    store_b = two_store_reports["B01"].store_id
    page = client.get(f"/quality/reports/?store={store_b}")
    assert page.content.decode().count("data-report=") == 1
    assert client.get("/quality/reports/?build_month=nonsense").status_code == 200


def test_it_records_a_report_on_the_page_and_through_the_api(users, store_a, vehicle, shock):
    advisor = users[Role.SERVICE_ADVISOR]
    page = _client(advisor).post(
        "/quality/reports/new/",
        {
            "store": store_a.pk,
            "source": "entered",
            "vin": vehicle.vin,
            "part_family": shock.pk,
            "failure_date": "2026-02-01",
            "symptom_text": "异响",
            "submit": "1",
        },
    )
    assert page.status_code == 302, page.content.decode()[:2000]
    assert QualityReport.objects.get(vin=vehicle.vin).status == "submitted"
    bad = _client(advisor).post(
        "/quality/reports/new/", {"store": store_a.pk, "source": "entered", "vin": "NOPE", "submit": "1"}
    )
    assert bad.status_code == 400 and "is-invalid" in bad.content.decode()
    answer = _api(advisor).post(
        "/api/quality/reports",
        {
            "store_id": store_a.pk,
            "vin": vehicle.vin,
            "part_family": "front_shock",
            "failure_date": "2026-02-02",
            "symptom": "SHOCK_NOISE",
            "submit": True,
        },
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["part_family"] == "FRONT_SHOCK" and answer.json()["months_in_service"] == 9
    missing = _api(advisor).post(
        "/api/quality/reports", {"store_id": store_a.pk, "submit": True}, content_type="application/json"
    )
    assert missing.status_code == 422 and "part_family" in missing.json()["errors"]
    unknown = _api(advisor).post(
        "/api/quality/reports", {"store_id": store_a.pk, "part_family": "NOPE"}, content_type="application/json"
    )
    assert unknown.status_code == 422 and "part_family" in unknown.json()["errors"]


def test_it_opens_the_create_page_from_a_repair_order(users, store_a, vehicle):
    order = f.RepairOrderFactory(store=store_a, customer=vehicle.ownerships.first().customer, vehicle=vehicle)
    page = _client(users[Role.SERVICE_ADVISOR]).get(f"/quality/reports/new/?repair_order={order.pk}")
    assert page.status_code == 200 and vehicle.vin in page.content.decode()


def test_it_lets_the_engineer_edit_codes_in_both_languages_and_no_one_else(users):
    engineer = users[Role.QUALITY_ENGINEER]
    family = codes.part_family_save(actor=engineer, code="battery", name_zh="动力电池", name_en="Traction battery")
    assert family.code == "BATTERY"
    page = _client(engineer).post(
        "/quality/codes/",
        {
            "kind": "symptom",
            "symptom-code": "BAT_SWELL",
            "symptom-name_zh": "电池鼓包",
            "symptom-name_en": "Battery swells",
            "symptom-family": family.pk,
            "symptom-active": "on",
        },
    )
    assert page.status_code == 302
    page = _client(engineer).post(
        "/quality/codes/",
        {
            "kind": "symptom",
            "symptom-code": "bat_swell",
            "symptom-name_zh": "电池鼓胀",
            "symptom-name_en": "Battery swells",
            "symptom-family": family.pk,
            "symptom-active": "on",
        },
    )
    assert page.status_code == 302 and SymptomCode.objects.get(code="BAT_SWELL").name_zh == "电池鼓胀"
    with pytest.raises(PermissionDenied):
        codes.part_family_save(actor=users[Role.SERVICE_ADVISOR], code="X", name_zh="x", name_en="x")
    assert _client(users[Role.SERVICE_ADVISOR]).post("/quality/codes/", {"kind": "family"}).status_code == 403
    zh = _client(engineer, "zh-hans").get("/quality/codes/").content.decode()
    assert "动力电池" in zh
