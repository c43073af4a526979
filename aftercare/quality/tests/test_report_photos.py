"""Photos on parts-quality reports (docs/quality.md, "Codes and reports"): added on the report's page and through the
API by the report's store (a draft or a submitted report), checked as the visit photos are (an image Pillow reads,
at most 10 MB: `core.forms.PhotoField`), downloaded only as an attachment with nosniff, audited, and scoped
(another store's report or photo answers 404; a role that reads but does not report answers 403)."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from aftercare.core.forms import MAX_PHOTO_BYTES
from aftercare.core.models import AuditEvent
from aftercare.org.choices import Role
from aftercare.quality.models import PartFamily, QualityReport, QualityReportPhoto
from aftercare.quality.services import reports
from aftercare.testing import factories as f
from aftercare.testing.clients import api_client as _api
from aftercare.testing.clients import page_client as _client

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def png(name="shock.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def not_an_image() -> SimpleUploadedFile:
    return SimpleUploadedFile("x.png", b"not an image", content_type="image/png")


def too_large() -> SimpleUploadedFile:
    # the size is refused before the content is read
    return SimpleUploadedFile("big.png", b"\0" * (MAX_PHOTO_BYTES + 1), content_type="image/png")


def _report(store, user, *, submitted=True) -> QualityReport:
    if not submitted:
        return QualityReport.objects.create(store=store, source="entered", symptom_text="漏油", created_by=user)
    vehicle = f.owned_vehicle(f.CustomerFactory(store=store), delivery_date=dt.date(2025, 4, 2))
    return QualityReport.objects.create(
        store=store,
        source="entered",
        status="submitted",
        vehicle=vehicle,
        vin=vehicle.vin,
        build_month=dt.date(2025, 4, 1),
        part_family=PartFamily.objects.get(code="FRONT_SHOCK"),
        failure_date=dt.date(2026, 1, 5),
        symptom_text="漏油",
        created_by=user,
        submitted_at=NOW,
    )


@pytest.fixture
def advisor(users):
    return users[Role.SERVICE_ADVISOR]


@pytest.fixture
def report(store_a, advisor):
    return _report(store_a, advisor)


def test_it_adds_a_photo_on_the_page_to_a_submitted_report_and_lists_it(advisor, report):
    client = _client(advisor)
    url = f"/quality/reports/{report.pk}/"
    assert 'id="report-photo"' in client.get(url).content.decode()
    added = client.post(url, {"what": "photo", "image": png(), "caption": "油封渗漏"})
    assert added.status_code == 302
    photo = QualityReportPhoto.objects.get()
    assert (photo.report_id, photo.caption) == (report.pk, "油封渗漏")
    assert photo.image.name.startswith("quality/reports/2026/03/")
    page = client.get(url).content.decode()
    assert f"/quality/reports/{report.pk}/photos/{photo.pk}/" in page and "油封渗漏" in page


def test_it_adds_a_photo_to_a_draft_and_keeps_the_draft_form(advisor, store_a):
    draft = _report(store_a, advisor, submitted=False)
    client = _client(advisor)
    assert client.post(f"/quality/reports/{draft.pk}/", {"what": "photo", "image": png()}).status_code == 302
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.photos.count() == 1
    bad = client.post(f"/quality/reports/{draft.pk}/", {"what": "photo", "image": not_an_image()})
    body = bad.content.decode()
    assert bad.status_code == 400 and 'id="report-form"' in body and 'id="report-photo"' in body


@pytest.mark.parametrize(
    ("upload", "message"),
    [(not_an_image, "Upload a valid image"), (too_large, "at most 10 MB")],
    ids=["not-an-image", "too-large"],
)
def test_it_names_the_image_field_on_the_page_for_a_bad_file(advisor, report, upload, message):
    answer = _client(advisor).post(f"/quality/reports/{report.pk}/", {"what": "photo", "image": upload()})
    assert answer.status_code == 400
    body = answer.content.decode()
    assert message in body and 'name="image"' in body and "is-invalid" in body
    assert not QualityReportPhoto.objects.exists()


def test_it_names_the_image_field_on_the_page_in_chinese(advisor, report):
    answer = _client(advisor, lang="zh-hans").post(f"/quality/reports/{report.pk}/", {"what": "photo",
                                                                                       "image": too_large()})
    assert answer.status_code == 400 and "10 MB" in answer.content.decode()


def test_it_adds_a_photo_through_the_api_and_lists_it_on_the_report(advisor, report):
    api = _api(advisor)
    answer = api.post(f"/api/quality/reports/{report.pk}/photos", {"image": png(), "caption": "减震器"})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["caption"] == "减震器" and body["id"] == QualityReportPhoto.objects.get().pk
    got = api.get(f"/api/quality/reports/{report.pk}").json()
    assert [p["id"] for p in got["photos"]] == [body["id"]]
    listed = api.get("/api/quality/reports").json()["items"]
    assert [p["caption"] for p in listed[0]["photos"]] == ["减震器"]


@pytest.mark.parametrize("upload", [not_an_image, too_large], ids=["not-an-image", "too-large"])
def test_it_answers_422_naming_image_through_the_api(advisor, report, upload):
    answer = _api(advisor).post(f"/api/quality/reports/{report.pk}/photos", {"image": upload()})
    assert answer.status_code == 422 and set(answer.json()["errors"]) == {"image"}
    missing = _api(advisor).post(f"/api/quality/reports/{report.pk}/photos", {"caption": "x"})
    assert missing.status_code == 422
    assert not QualityReportPhoto.objects.exists()


def test_it_answers_404_for_another_stores_report_and_photo(advisor, users, report, store_b):
    foreign = _report(store_b, advisor)
    foreign_photo = reports.quality_report_photo_add(
        actor=_staff_of(store_b), report=foreign, image=png(), caption="B"
    )
    client, api = _client(advisor), _api(advisor)
    assert client.post(f"/quality/reports/{foreign.pk}/", {"what": "photo", "image": png()}).status_code == 404
    assert client.get(f"/quality/reports/{foreign.pk}/photos/{foreign_photo.pk}/").status_code == 404
    assert api.post(f"/api/quality/reports/{foreign.pk}/photos", {"image": png()}).status_code == 404
    # a photo of another report, even one in scope, is not served under this report's id
    mine = reports.quality_report_photo_add(actor=advisor, report=report, image=png())
    other = _report(report.store, advisor)
    assert client.get(f"/quality/reports/{other.pk}/photos/{mine.pk}/").status_code == 404
    assert client.get(f"/quality/reports/{report.pk}/photos/{foreign_photo.pk}/").status_code == 404
    assert QualityReportPhoto.objects.filter(report=foreign).count() == 1


def _staff_of(store):
    user = f.UserFactory(username=f"adv-{store.code}")
    f.StaffFactory(user=user, group=store.group, role=Role.SERVICE_ADVISOR, stores=[store], display_name="B")
    return user


def test_it_downloads_a_photo_as_an_attachment_with_nosniff(advisor, users, report):
    photo = reports.quality_report_photo_add(actor=advisor, report=report, image=png("油封.png"), caption="c")
    # the quality engineer reads every store's reports, so their photos too
    for user in (advisor, users[Role.QUALITY_ENGINEER]):
        answer = _client(user).get(f"/quality/reports/{report.pk}/photos/{photo.pk}/")
        assert answer.status_code == 200
        assert answer["Content-Type"] == "image/png"
        assert answer["Content-Disposition"].startswith("attachment;")
        assert ".png" in answer["Content-Disposition"]
        assert answer["X-Content-Type-Options"] == "nosniff"
        assert b"".join(answer.streaming_content).startswith(b"\x89PNG")


def test_it_stores_a_photo_under_the_extension_of_the_image_found(advisor, report):
    """A PNG uploaded as `.html` is stored and served as `.png`, `image/png` (the content type follows the name)."""
    client = _client(advisor)
    assert client.post(f"/quality/reports/{report.pk}/", {"what": "photo", "image": png("x.html")}).status_code == 302
    photo = QualityReportPhoto.objects.get()
    assert photo.image.name.endswith(".png")
    answer = client.get(f"/quality/reports/{report.pk}/photos/{photo.pk}/")
    assert answer["Content-Type"] == "image/png" and ".html" not in answer["Content-Disposition"]


def test_it_writes_an_audit_event_for_each_photo(advisor, report):
    before = AuditEvent.objects.count()
    photo = reports.quality_report_photo_add(actor=advisor, report=report, image=png(), caption="x")
    event = AuditEvent.objects.order_by("-id").first()
    assert AuditEvent.objects.count() == before + 1
    assert (event.action, event.object_type, event.object_id) == ("update", "quality.qualityreport", str(report.pk))
    assert event.store_id == report.store_id and event.changed_fields == ["photos"]
    assert event.detail == {"photo_id": photo.pk} and event.actor_id == advisor.pk


def test_it_answers_403_to_a_role_that_reads_reports_but_does_not_report(users, report):
    engineer = users[Role.QUALITY_ENGINEER]  # quality.view and quality.group, no quality.report
    with pytest.raises(PermissionDenied):
        reports.quality_report_photo_add(actor=engineer, report=report, image=png())
    assert _client(engineer).post(f"/quality/reports/{report.pk}/", {"what": "photo",
                                                                      "image": png()}).status_code == 403
    assert _api(engineer).post(f"/api/quality/reports/{report.pk}/photos", {"image": png()}).status_code == 403
    page = _client(engineer).get(f"/quality/reports/{report.pk}/").content.decode()
    assert 'id="report-photo"' not in page
    assert not QualityReportPhoto.objects.exists()


def test_it_refuses_in_the_service_a_photo_on_a_report_outside_the_actors_own_stores(users, store_b):
    report = _report(store_b, _staff_of(store_b))
    advisor = users[Role.SERVICE_ADVISOR]
    with pytest.raises(PermissionDenied):
        reports.quality_report_photo_add(actor=advisor, report=report, image=png())
