"""Handling documents: size, type by extension and by content, count; a refused file leaves nothing behind."""

import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from aftercare.complaints.models import FeedbackAttachment, FeedbackEvent
from aftercare.complaints.services.attachments import MAX_ATTACHMENTS, feedback_attachment_add
from aftercare.org.choices import Role

from .wf import complaint, setup_store, staff_user

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 24
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


def office(kind: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml" if kind == "docx" else "xl/workbook.xml", "<x/>")
    return out.getvalue()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def form(store_a, users, specialist):
    setup_store(store_a, users)
    return complaint(specialist, store_a)


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    "name, content, content_type",
    [
        ("检测报告.pdf", PDF, "application/pdf"),
        ("photo.PNG", PNG, "image/png"),
        ("photo.jpeg", JPEG, "image/jpeg"),
        ("photo.webp", WEBP, "image/webp"),
        ("说明.docx", office("docx"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("明细.xlsx", office("xlsx"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("记录.txt", "客户已确认".encode(), "text/plain; charset=utf-8"),
    ],
)
def test_it_stores_allowed_documents(media, form, users, name, content, content_type):
    designee = users[Role.DEPARTMENT_DESIGNEE]
    row = feedback_attachment_add(
        actor=designee, feedback=form, upload=SimpleUploadedFile(f"C:\\temp\\{name}", content, "x/anything")
    )
    stem, ext = name.rsplit(".", 1)
    assert (row.name, row.content_type, row.size, row.uploaded_by) == (
        f"{stem}.{ext.lower()}",
        content_type,
        len(content),
        designee,
    )
    assert stem not in row.file.name  # stored under a random name
    with row.file.open("rb") as fh:
        assert fh.read() == content
    event = FeedbackEvent.objects.get(feedback=form, action="attachment")
    assert event.detail["attachment"] == row.pk


@pytest.mark.parametrize(
    "name, content",
    [
        ("setup.exe", EXE),  # wrong type
        ("report.pdf", EXE),  # an executable renamed
        ("photo.png", JPEG),  # the content is another allowed type
        ("note.txt", "客户".encode("gbk")),  # not UTF-8
        ("note.txt", b"a\x00b"),
        ("说明.docx", office("xlsx")),  # a workbook is not a document
        ("说明.docx", b"PK\x03\x04broken zip"),
        ("noextension", PDF),
        ("empty.pdf", b""),
    ],
)
def test_it_refuses_bad_files_on_the_file_field_and_stores_nothing(media, form, users, name, content):
    with pytest.raises(ValidationError) as exc:
        feedback_attachment_add(
            actor=users[Role.DEPARTMENT_DESIGNEE], feedback=form, upload=SimpleUploadedFile(name, content)
        )
    assert list(exc.value.message_dict) == ["file"]
    assert not FeedbackAttachment.objects.exists()
    assert not FeedbackEvent.objects.filter(action="attachment").exists()
    assert stored_files(media) == []


def test_it_refuses_a_file_over_the_size_limit(media, settings, form, users):
    settings.COMPLAINT_UPLOAD_MAX_BYTES = len(PDF) - 1
    with pytest.raises(ValidationError) as exc:
        feedback_attachment_add(
            actor=users[Role.DEPARTMENT_DESIGNEE], feedback=form, upload=SimpleUploadedFile("big.pdf", PDF)
        )
    assert "too big" in exc.value.message_dict["file"][0]
    assert not FeedbackAttachment.objects.exists() and stored_files(media) == []


def test_it_limits_the_number_of_documents(media, form, users):
    designee = users[Role.DEPARTMENT_DESIGNEE]
    for i in range(MAX_ATTACHMENTS):
        feedback_attachment_add(actor=designee, feedback=form, upload=SimpleUploadedFile(f"{i}.txt", b"ok"))
    with pytest.raises(ValidationError) as exc:
        feedback_attachment_add(actor=designee, feedback=form, upload=SimpleUploadedFile("one-more.txt", b"ok"))
    assert "file" in exc.value.message_dict
    assert FeedbackAttachment.objects.count() == MAX_ATTACHMENTS == len(stored_files(media))


def test_it_lets_only_the_handler_supervisors_and_cs_attach(media, store_a, form, users):
    other = staff_user(Role.DEPARTMENT_DESIGNEE, store_a, "paint_a")
    with pytest.raises(PermissionDenied):
        feedback_attachment_add(actor=other, feedback=form, upload=SimpleUploadedFile("a.txt", b"ok"))
    for role in (Role.SUPERVISOR, Role.CS_SPECIALIST):
        feedback_attachment_add(actor=users[role], feedback=form, upload=SimpleUploadedFile("a.txt", b"ok"))
    assert FeedbackAttachment.objects.count() == 2
