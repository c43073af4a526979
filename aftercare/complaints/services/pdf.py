"""The complaint form as a PDF (WeasyPrint), audited as an export."""

from django.utils import timezone

from aftercare.core.choices import AuditAction
from aftercare.core.pdf import html_to_pdf
from aftercare.core.services import audit_event_record
from aftercare.org.calendar import deadline_day
from aftercare.org.permissions import Perm, require_perm


def feedback_pdf(*, actor, feedback) -> bytes:
    """The complaint form, its handling, documents and full history as a PDF (WeasyPrint, Noto Sans CJK SC)."""
    from django.template.loader import render_to_string

    from ..selectors import feedback_get

    require_perm(actor, Perm.FEEDBACK_VIEW)
    fb = feedback_get(user=actor, pk=getattr(feedback, "pk", feedback))
    events = list(fb.events.select_related("actor__staff"))
    attachments = list(fb.attachments.select_related("uploaded_by__staff"))
    html = render_to_string(
        "complaints/pdf/feedback.html",
        {
            "fb": fb,
            "events": events,
            "attachments": attachments,
            "due_date": deadline_day(fb.deadline_at) if fb.deadline_at else None,
            "printed_at": timezone.now(),
        },
    )
    pdf = html_to_pdf(html)
    audit_event_record(actor=actor, action=AuditAction.EXPORT, obj=fb, detail={"format": "pdf"})
    return pdf
