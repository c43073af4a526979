"""The complaint form as a PDF: Chinese text (Noto Sans CJK SC), the handling and the history; scoped; audited."""

import io
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from pypdf import PdfReader

from aftercare.complaints.services.attachments import feedback_attachment_add
from aftercare.complaints.services.pdf import feedback_pdf
from aftercare.complaints.services.workflow import feedback_return
from aftercare.core.models import AuditEvent
from aftercare.org.choices import Role

from .wf import complaint, setup_store, staff_user

pytestmark = pytest.mark.django_db

TEXT = "客户投诉：发动机异响，修了三次还没好，要求退车"


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"\s+", "", "".join(page.extract_text() or "" for page in reader.pages))


def test_it_prints_the_form_with_the_customers_chinese_text_and_history(store_a, users, specialist, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    designee = users[Role.DEPARTMENT_DESIGNEE]
    setup_store(store_a, users)
    fb = complaint(specialist, store_a, text=TEXT)
    feedback_attachment_add(actor=designee, feedback=fb, upload=SimpleUploadedFile("检测报告.txt", "正常".encode()))
    fb = feedback_return(
        actor=designee, feedback=fb, actions_taken="更换正时皮带", root_cause="皮带老化", result="异响消除"
    )
    content = feedback_pdf(actor=specialist, feedback=fb)
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    for expected in (re.sub(r"\s+", "", TEXT), "王投诉", "更换正时皮带", "皮带老化", "检测报告.txt", store_a.name):
        assert expected in text
    fonts = {
        str(font.get_object().get("/BaseFont"))
        for page in PdfReader(io.BytesIO(content)).pages
        for font in (page["/Resources"].get("/Font") or {}).values()
    }
    assert any("Noto-Sans-CJK-SC" in name for name in fonts), fonts
    audit = AuditEvent.objects.get(action="export", object_type="complaints.feedback")
    assert (audit.actor, audit.object_id) == (specialist, str(fb.pk))


def test_it_prints_only_forms_of_the_readers_stores(store_a, store_b, users, specialist):
    fb = complaint(specialist, store_a, text=TEXT)
    with pytest.raises(Http404):
        feedback_pdf(actor=staff_user(Role.CS_MANAGER, store_b, "csm_b"), feedback=fb)
    with pytest.raises(PermissionDenied):
        feedback_pdf(actor=users[Role.RENEWAL_SPECIALIST], feedback=fb)
    assert not AuditEvent.objects.filter(action="export").exists()
