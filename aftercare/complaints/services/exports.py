"""The feedback list as XLSX (through `aftercare.core.exports`), audited as an export."""

from django.utils.translation import gettext

from aftercare.core.choices import AuditAction
from aftercare.core.exports import staff_name, xlsx_bytes
from aftercare.core.services import audit_event_record

from ..models import Feedback


def feedback_export_xlsx(*, actor, feedback) -> bytes:
    """The (already scoped and filtered) feedback list as XLSX; no phone numbers. Audited as an export."""

    header = [
        gettext("Number"),
        gettext("Recorded"),
        gettext("Store"),
        gettext("Kind"),
        gettext("Source"),
        gettext("Category"),
        gettext("Severity"),
        gettext("Stage"),
        gettext("Customer number"),
        gettext("Customer"),
        gettext("Department"),
        gettext("Handled by"),
        gettext("Deadline"),
        gettext("Escalation level"),
        gettext("Times reopened"),
        gettext("Returned to CS at"),
        gettext("Returned in time"),
        gettext("Verification result"),
        gettext("Archived at"),
        gettext("What the customer said"),
    ]
    rows = (
        [
            fb.pk,
            fb.created_at,
            fb.store.code,
            fb.get_kind_display(),
            fb.get_source_display(),
            fb.get_category_display(),
            fb.get_severity_display(),
            fb.get_status_display(),
            fb.customer.number,
            fb.customer.name,
            fb.department.name if fb.department_id else "",
            staff_name(fb.assignee),
            fb.deadline_at,
            fb.escalation_level,
            fb.reopen_count,
            fb.returned_at,
            {True: gettext("yes"), False: gettext("no")}.get(fb.returned_in_time, ""),
            fb.get_verification_result_display(),
            fb.archived_at,
            fb.text,
        ]
        for fb in feedback.iterator(chunk_size=500)
    )
    content, n = xlsx_bytes("feedback", header, rows)
    audit_event_record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type=Feedback._meta.label_lower,
        store_id=None,
        detail={"rows": n},
    )
    return content
