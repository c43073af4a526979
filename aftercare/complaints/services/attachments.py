"""Handling documents of a form: upload checks (size, extension, content sniffing, count) and the upload."""

import io
import os
import zipfile

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext

from aftercare.core.exports import XLSX_CONTENT_TYPE

from ..choices import FeedbackAction
from ..models import FeedbackAttachment
from .common import _check_may_work, _ensure_open, _event, _locked

MAX_ATTACHMENTS = 20


# extension → (content type, sniff)
def _is_pdf(head: bytes, path) -> bool:
    return head.startswith(b"%PDF-")


def _is_png(head: bytes, path) -> bool:
    return head.startswith(b"\x89PNG\r\n\x1a\n")


def _is_jpeg(head: bytes, path) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def _is_webp(head: bytes, path) -> bool:
    return len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _zip_with(prefix: str):
    def check(head: bytes, read) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(read())) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
        return "[Content_Types].xml" in names and any(n.startswith(prefix) for n in names)

    return check


def _is_text(head: bytes, read) -> bool:
    data = read()
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_ALLOWED = {
    "pdf": ("application/pdf", _is_pdf),
    "jpg": ("image/jpeg", _is_jpeg),
    "jpeg": ("image/jpeg", _is_jpeg),
    "png": ("image/png", _is_png),
    "webp": ("image/webp", _is_webp),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _zip_with("word/")),
    "xlsx": (XLSX_CONTENT_TYPE, _zip_with("xl/")),
    "txt": ("text/plain; charset=utf-8", _is_text),
}


def _upload_check(upload) -> tuple[str, str]:
    """The clean file name and content type of an upload, or ValidationError on `file`."""
    if upload is None:
        raise ValidationError({"file": [gettext("Choose a file.")]})
    name = os.path.basename(str(getattr(upload, "name", "") or "").replace("\\", "/")).replace("\x00", "").strip()
    size = getattr(upload, "size", None)
    limit = settings.COMPLAINT_UPLOAD_MAX_BYTES
    if size is None or size <= 0:
        raise ValidationError({"file": [gettext("The file is empty.")]})
    if size > limit:
        raise ValidationError(
            {"file": [gettext("The file is too big (at most %(mb)s MB).") % {"mb": round(limit / 1024 / 1024, 1)}]}
        )
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in _ALLOWED:
        raise ValidationError(
            {"file": [gettext("This file type is not allowed (PDF, JPG, PNG, WEBP, DOCX, XLSX or TXT).")]}
        )
    content_type, sniff = _ALLOWED[ext]

    def read() -> bytes:
        upload.seek(0)
        data = upload.read()
        upload.seek(0)
        return data

    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not sniff(head, read):
        raise ValidationError({"file": [gettext("The file's content is not a .%(ext)s file.") % {"ext": ext}]})
    stem = name.rsplit(".", 1)[0][:190] or "file"
    return f"{stem}.{ext}", content_type


def feedback_attachment_add(*, actor, feedback, upload) -> FeedbackAttachment:
    """Attach a handling document. Size, type (by extension and by content) and count are checked; errors name
    the field `file` and nothing is stored."""
    with transaction.atomic():
        fb = _locked(actor, feedback)
        _check_may_work(actor, fb)
        _ensure_open(fb)
        name, content_type = _upload_check(upload)
        if FeedbackAttachment.objects.filter(feedback=fb).count() >= MAX_ATTACHMENTS:
            raise ValidationError({"file": [gettext("At most %(n)s documents per form.") % {"n": MAX_ATTACHMENTS}]})
        row = FeedbackAttachment(
            store_id=fb.store_id,
            feedback=fb,
            name=name,
            content_type=content_type,
            size=upload.size,
            uploaded_by=actor,
        )
        upload.name = name
        row.file = upload
        row.full_clean(exclude=["file"])
        try:
            row.save()
            _event(
                fb,
                actor=actor,
                action=FeedbackAction.ATTACHMENT,
                from_status=fb.status,
                to_status=fb.status,
                detail={"attachment": row.pk, "name": name, "size": row.size},
                changed=["attachments"],
            )
        except Exception:
            if row.file and row.file.name:
                row.file.storage.delete(row.file.name)
            raise
    return row
