"""Feedback API: complaints, grievances and suggestions of the stores in scope, and their workflow.

new → routed (the department's designee; the clock runs on the store's work calendar) → handled (returned to
customer service; a verification call is planned) → verified → archived. Each step is one POST under
`/feedback/{id}/…`; the answer is the form as it is afterwards. Another store's id answers 404, a role
without the step's permission 403, bad input 422 naming the field. Archived and closed forms are read-only.
"""

import datetime as dt
from typing import Annotated, Literal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate

from aftercare.core import selectors as core_selectors
from aftercare.core import services as core_services
from aftercare.core.api import ERRORS, MAX_ID, Pagination, PathId
from aftercare.core.exports import XLSX_CONTENT_TYPE
from aftercare.customers import selectors as customer_selectors
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import get_scoped_or_404

from . import selectors
from .choices import FeedbackCategory, FeedbackKind, FeedbackSeverity, FeedbackSource, FeedbackStatus, PauseReason
from .services import attachments, pdf, workflow

router = Router(tags=["complaints"])
notifications_router = Router(tags=["notifications"])

KindCode = Literal[tuple(FeedbackKind.values)]  # type: ignore[valid-type]
StatusCode = Literal[tuple(FeedbackStatus.values)]  # type: ignore[valid-type]
SourceCode = Literal[tuple(FeedbackSource.values)]  # type: ignore[valid-type]
CategoryCode = Literal[tuple(FeedbackCategory.values)]  # type: ignore[valid-type]
SeverityCode = Literal[tuple(FeedbackSeverity.values)]  # type: ignore[valid-type]
PauseCode = Literal[tuple(PauseReason.values)]  # type: ignore[valid-type]

_ID = Field(None, ge=1, le=MAX_ID)
# Handling documents are served with the type sniffed at upload; these are the ones the upload accepts.
ATTACHMENT_TYPES = (
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/webp",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    XLSX_CONTENT_TYPE,
    "text/plain",
    "application/octet-stream",
)


def _text(value: str | None) -> str:
    """Text without NUL characters (PostgreSQL rejects them)."""
    return (value or "").replace("\x00", "")


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


def _binary(description: str, types=("application/pdf",)) -> dict:
    """OpenAPI for a 200 answered with a file rather than JSON."""
    content = {t: {"schema": {"type": "string", "format": "binary"}} for t in types}
    return {"responses": {200: {"description": description, "content": content}}}


# ---- schemas -------------------------------------------------------------------------------------------------


class FeedbackOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    kind: str
    source: str
    category: str
    severity: str
    department_id: int | None
    department: str | None = None
    person_concerned: str
    customer_id: int
    customer_name: str = Field(..., alias="customer.name")
    vehicle_id: int | None
    text: str
    followup_task_id: int | None
    answer_sheet_id: int | None
    call_log_id: int | None
    status: str
    assignee_id: int | None
    assignee: str | None = Field(None, description="Username of the person handling it now")
    deadline_at: dt.datetime | None = Field(..., description="Half-open: returned in time if before this instant")
    overdue: bool = Field(False, description="With the department, clock running, deadline passed")
    paused: bool = Field(False, description="Clock paused (see pause_reason)")
    pause_reason: str
    escalation_level: int
    reopen_count: int
    created_at: dt.datetime

    @staticmethod
    def resolve_department(obj) -> str | None:
        return obj.department.name if obj.department_id else None

    @staticmethod
    def resolve_assignee(obj) -> str | None:
        return _username(obj.assignee) if obj.assignee_id else None

    @staticmethod
    def resolve_paused(obj) -> bool:
        return obj.paused_at is not None

    @staticmethod
    def resolve_overdue(obj) -> bool:
        return bool(
            obj.status == FeedbackStatus.ROUTED
            and obj.paused_at is None
            and obj.deadline_at is not None
            and obj.deadline_at <= timezone.now()
        )


class FeedbackDetailOut(FeedbackOut):
    created_by: str | None = None
    routed_at: dt.datetime | None
    warn_at: dt.datetime | None
    warned_at: dt.datetime | None
    next_escalation_at: dt.datetime | None
    escalated_at: dt.datetime | None
    paused_at: dt.datetime | None
    paused_working_days: int
    actions_taken: str
    root_cause: str
    result: str
    returned_at: dt.datetime | None
    returned_by: str | None = None
    returned_by_role: str
    returned_in_time: bool | None
    first_returned_at: dt.datetime | None
    first_returned_in_time: bool | None
    verification_task_id: int | None
    verified_at: dt.datetime | None
    verified_by: str | None = None
    verification_result: str
    archived_at: dt.datetime | None
    archived_by: str | None = None
    read_only: bool = Field(False, description="Archived or closed: no further changes")

    @staticmethod
    def resolve_created_by(obj) -> str | None:
        return _username(obj.created_by)

    @staticmethod
    def resolve_returned_by(obj) -> str | None:
        return _username(obj.returned_by) if obj.returned_by_id else None

    @staticmethod
    def resolve_verified_by(obj) -> str | None:
        return _username(obj.verified_by) if obj.verified_by_id else None

    @staticmethod
    def resolve_archived_by(obj) -> str | None:
        return _username(obj.archived_by) if obj.archived_by_id else None

    @staticmethod
    def resolve_read_only(obj) -> bool:
        return obj.status in (FeedbackStatus.ARCHIVED, FeedbackStatus.CLOSED)


class EventOut(Schema):
    id: int
    action: str
    from_status: str
    to_status: str
    actor: str | None = Field(None, description="Username; null for the system job")
    note: str
    detail: dict
    created_at: dt.datetime

    @staticmethod
    def resolve_actor(obj) -> str | None:
        return _username(obj.actor) if obj.actor_id else None


class AttachmentOut(Schema):
    id: int
    feedback_id: int
    name: str
    content_type: str
    size: int
    uploaded_by: str | None = None
    created_at: dt.datetime

    @staticmethod
    def resolve_uploaded_by(obj) -> str | None:
        return _username(obj.uploaded_by)


class NotificationOut(Schema):
    id: int
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class FeedbackFilter(Schema):
    kind: KindCode | None = None
    status: StatusCode | None = None
    severity: SeverityCode | None = None
    overdue: bool | None = Field(None, description="true: only forms past their deadline with the department")
    department_id: int | None = _ID


class FeedbackCreateIn(Schema):
    customer_id: int = Field(..., ge=1, le=MAX_ID)
    kind: KindCode
    source: SourceCode
    category: CategoryCode
    severity: SeverityCode = "normal"
    text: str = Field(..., min_length=1, max_length=4000)
    department_id: int | None = Field(None, ge=1, le=MAX_ID, description="Default: the category's department")
    vehicle_id: int | None = Field(None, ge=1, le=MAX_ID)
    person_concerned: str = Field("", max_length=100)


class RouteIn(Schema):
    department_id: int | None = Field(None, ge=1, le=MAX_ID, description="Default: the form's department")
    assignee_id: int | None = Field(None, ge=1, le=MAX_ID, description="Default: the department's designee")
    note: str = Field("", max_length=4000)


class NoteIn(Schema):
    note: str = Field("", max_length=4000)


class ReportIn(Schema):
    note: str = Field(..., min_length=1, max_length=4000, description="Why the department cannot solve it")


class PauseIn(Schema):
    reason: PauseCode
    note: str = Field("", max_length=4000)


class HandlingIn(Schema):
    actions_taken: str | None = Field(None, max_length=10000)
    root_cause: str | None = Field(None, max_length=10000)
    result: str | None = Field(None, max_length=10000)


class ReturnIn(Schema):
    actions_taken: str = Field(..., max_length=10000)
    root_cause: str = Field("", max_length=10000)
    result: str = Field(..., max_length=10000)


class VerifyIn(Schema):
    satisfied: bool
    notes: str = Field("", max_length=4000)
    duration_s: int | None = Field(None, ge=0, le=86400)


class ReadIn(Schema):
    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        None, description="Notifications to mark read; omitted: all of yours", max_length=500
    )


class ReadOut(Schema):
    marked: int


# ---- feedback --------------------------------------------------------------------------------------------------


def _form(request: HttpRequest, feedback_id: int):
    """The form in scope (404 otherwise)."""
    return selectors.feedback_get(user=request.user, pk=feedback_id)


def _detail(request: HttpRequest, feedback) -> object:
    return selectors.feedback_get(user=request.user, pk=feedback.pk)


@router.get("/feedback", response={200: list[FeedbackOut], **ERRORS}, operation_id="feedback_list")
@paginate(Pagination)
def feedback_list(request: HttpRequest, filters: Query[FeedbackFilter]):
    """Feedback records of the stores in scope, newest first."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    return selectors.feedback_list(
        user=request.user,
        kind=filters.kind or "",
        status=filters.status or "",
        severity=filters.severity or "",
        overdue=bool(filters.overdue),
        department_id=filters.department_id,
    )


@router.post("/feedback", response={200: FeedbackDetailOut, **ERRORS}, operation_id="feedback_create")
def feedback_create(request: HttpRequest, payload: FeedbackCreateIn):
    """Record a complaint, grievance or suggestion; with a designee for its department it is routed at once."""
    require_perm(request.user, Perm.FEEDBACK_CREATE)
    user = request.user
    customer = customer_selectors.customer_get(user=user, pk=payload.customer_id)
    department = (
        get_scoped_or_404(selectors.department_list(user=user), pk=payload.department_id)
        if payload.department_id
        else None
    )
    vehicle = customer_selectors.vehicle_get(user=user, pk=payload.vehicle_id) if payload.vehicle_id else None
    feedback = workflow.feedback_create(
        actor=user,
        customer=customer,
        kind=payload.kind,
        source=payload.source,
        category=payload.category,
        severity=payload.severity,
        text=_text(payload.text),
        department=department,
        vehicle=vehicle,
        person_concerned=_text(payload.person_concerned),
    )
    return _detail(request, feedback)


@router.get("/feedback/{feedback_id}", response={200: FeedbackDetailOut, **ERRORS}, operation_id="feedback_detail")
def feedback_detail(request: HttpRequest, feedback_id: PathId):
    """One feedback record with its handling, verification and archive; another store's id answers 404."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    return _form(request, feedback_id)


@router.post(
    "/feedback/{feedback_id}/route", response={200: FeedbackDetailOut, **ERRORS}, operation_id="feedback_route"
)
def feedback_route(request: HttpRequest, feedback_id: PathId, payload: RouteIn):
    """Send a new form to a department's designee (starts the clock), or hand a routed one to someone else."""
    require_perm(request.user, Perm.FEEDBACK_ROUTE)
    feedback = _form(request, feedback_id)
    department = (
        get_scoped_or_404(selectors.department_list(user=request.user, store_ids=[feedback.store_id]),
                          pk=payload.department_id)
        if payload.department_id
        else None
    )
    assignee = None
    if payload.assignee_id:
        assignee = get_user_model().objects.filter(pk=payload.assignee_id, is_active=True).first()
        if assignee is None:
            raise ValidationError({"assignee_id": [_("Choose a person of the store who handles complaints.")]})
    workflow.feedback_route(
        actor=request.user, feedback=feedback, department=department, assignee=assignee, note=_text(payload.note)
    )
    return _detail(request, feedback)


@router.post(
    "/feedback/{feedback_id}/take-over",
    response={200: FeedbackDetailOut, **ERRORS},
    operation_id="feedback_take_over",
)
def feedback_take_over(request: HttpRequest, feedback_id: PathId):
    """A supervisor (or above) takes the form over and handles it personally."""
    require_perm(request.user, Perm.FEEDBACK_HANDLE)
    feedback = _form(request, feedback_id)
    workflow.feedback_take_over(actor=request.user, feedback=feedback)
    return _detail(request, feedback)


@router.post(
    "/feedback/{feedback_id}/report", response={200: FeedbackDetailOut, **ERRORS}, operation_id="feedback_report"
)
def feedback_report(request: HttpRequest, feedback_id: PathId, payload: ReportIn):
    """The department cannot solve it: report to the store's supervisors (within 2 days, seed 004)."""
    require_perm(request.user, Perm.FEEDBACK_HANDLE)
    feedback = _form(request, feedback_id)
    workflow.feedback_report_to_supervisor(actor=request.user, feedback=feedback, note=_text(payload.note))
    return _detail(request, feedback)


@router.post(
    "/feedback/{feedback_id}/pause", response={200: FeedbackDetailOut, **ERRORS}, operation_id="feedback_pause"
)
def feedback_pause(request: HttpRequest, feedback_id: PathId, payload: PauseIn):
    """Stop the clock while waiting for parts or for the customer (audited, shown in the history).

    The handler, a supervisor, or customer service (`feedback.route`) may pause."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    feedback = _form(request, feedback_id)
    workflow.feedback_pause(actor=request.user, feedback=feedback, reason=payload.reason, note=_text(payload.note))
    return _detail(request, feedback)


@router.post(
    "/feedback/{feedback_id}/resume", response={200: FeedbackDetailOut, **ERRORS}, operation_id="feedback_resume"
)
def feedback_resume(request: HttpRequest, feedback_id: PathId, payload: NoteIn):
    """Restart the clock; the deadline moves by the working days it was paused."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    feedback = _form(request, feedback_id)
    workflow.feedback_resume(actor=request.user, feedback=feedback, note=_text(payload.note))
    return _detail(request, feedback)


@router.post(
    "/feedback/{feedback_id}/handling",
    response={200: FeedbackDetailOut, **ERRORS},
    operation_id="feedback_handling_save",
)
def feedback_handling(request: HttpRequest, feedback_id: PathId, payload: HandlingIn):
    """Save a draft of the handling (fields left out stay as they are)."""
    require_perm(request.user, Perm.FEEDBACK_HANDLE)
    feedback = _form(request, feedback_id)
    workflow.feedback_handling_save(
        actor=request.user,
        feedback=feedback,
        actions_taken=None if payload.actions_taken is None else _text(payload.actions_taken),
        root_cause=None if payload.root_cause is None else _text(payload.root_cause),
        result=None if payload.result is None else _text(payload.result),
    )
    return _detail(request, feedback)


@router.post(
    "/feedback/{feedback_id}/return", response={200: FeedbackDetailOut, **ERRORS}, operation_id="feedback_return"
)
def feedback_return(request: HttpRequest, feedback_id: PathId, payload: ReturnIn):
    """Return the handled form to customer service; plans the verification call."""
    require_perm(request.user, Perm.FEEDBACK_HANDLE)
    feedback = _form(request, feedback_id)
    workflow.feedback_return(
        actor=request.user,
        feedback=feedback,
        actions_taken=_text(payload.actions_taken),
        root_cause=_text(payload.root_cause),
        result=_text(payload.result),
    )
    return _detail(request, feedback)


@router.post(
    "/feedback/{feedback_id}/verify", response={200: FeedbackDetailOut, **ERRORS}, operation_id="feedback_verify"
)
def feedback_verify(request: HttpRequest, feedback_id: PathId, payload: VerifyIn):
    """The verification call: satisfied → verified (to archive); not satisfied → back to the department."""
    require_perm(request.user, Perm.FEEDBACK_VERIFY)
    feedback = _form(request, feedback_id)
    workflow.feedback_verify(
        actor=request.user,
        feedback=feedback,
        satisfied=payload.satisfied,
        notes=_text(payload.notes),
        duration_s=payload.duration_s,
    )
    return _detail(request, feedback)


@router.post(
    "/feedback/{feedback_id}/archive", response={200: FeedbackDetailOut, **ERRORS}, operation_id="feedback_archive"
)
def feedback_archive(request: HttpRequest, feedback_id: PathId, payload: NoteIn):
    """Archive a verified form (read-only from then on)."""
    require_perm(request.user, Perm.FEEDBACK_ARCHIVE)
    feedback = _form(request, feedback_id)
    workflow.feedback_archive(actor=request.user, feedback=feedback, note=_text(payload.note))
    return _detail(request, feedback)


@router.post(
    "/feedback/{feedback_id}/close", response={200: FeedbackDetailOut, **ERRORS}, operation_id="feedback_close"
)
def feedback_close(request: HttpRequest, feedback_id: PathId, payload: NoteIn):
    """Close a new or routed form without action (a suggestion, a duplicate); the note is required."""
    require_perm(request.user, Perm.FEEDBACK_ARCHIVE)
    feedback = _form(request, feedback_id)
    workflow.feedback_close(actor=request.user, feedback=feedback, note=_text(payload.note))
    return _detail(request, feedback)


@router.get(
    "/feedback/{feedback_id}/events", response={200: list[EventOut], **ERRORS}, operation_id="feedback_events"
)
def feedback_events(request: HttpRequest, feedback_id: PathId):
    """The form's history, oldest first."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    return list(selectors.feedback_event_list(user=request.user, feedback=_form(request, feedback_id)))


@router.get(
    "/feedback/{feedback_id}/attachments",
    response={200: list[AttachmentOut], **ERRORS},
    operation_id="feedback_attachments",
)
def feedback_attachments(request: HttpRequest, feedback_id: PathId):
    """The form's handling documents."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    return list(selectors.feedback_attachment_list(user=request.user, feedback=_form(request, feedback_id)))


@router.post(
    "/feedback/{feedback_id}/attachments",
    response={200: AttachmentOut, **ERRORS},
    operation_id="feedback_attachment_add",
)
def feedback_attachment_add(request: HttpRequest, feedback_id: PathId, file: File[UploadedFile]):
    """Upload a handling document (multipart field `file`): pdf, jpg, png, webp, docx, xlsx or txt, size-limited.

    The handler, a supervisor, or customer service (`feedback.route`) may add documents."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    feedback = _form(request, feedback_id)
    return attachments.feedback_attachment_add(actor=request.user, feedback=feedback, upload=file)


@router.get(
    "/feedback/attachments/{attachment_id}",
    response={**ERRORS},
    operation_id="feedback_attachment_download",
    openapi_extra=_binary("The document, with its stored type", ATTACHMENT_TYPES),
)
def feedback_attachment_download(request: HttpRequest, attachment_id: PathId):
    """Download a handling document (always as an attachment, never rendered inline)."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    attachment = selectors.feedback_attachment_get(user=request.user, pk=attachment_id)
    response = FileResponse(
        attachment.file.open("rb"), as_attachment=True, filename=attachment.name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.get(
    "/feedback/{feedback_id}/pdf",
    response={**ERRORS},
    operation_id="feedback_pdf",
    openapi_extra=_binary("The complaint form and its history as PDF"),
)
def feedback_pdf(request: HttpRequest, feedback_id: PathId):
    """The complaint form, its handling, documents and full history as a PDF (audited as an export)."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    feedback = _form(request, feedback_id)
    content = pdf.feedback_pdf(actor=request.user, feedback=feedback)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="feedback-{feedback.pk}.pdf"'
    return response


@router.get("/inbox", response={200: list[FeedbackOut], **ERRORS}, operation_id="feedback_inbox")
@paginate(Pagination)
def feedback_inbox(request: HttpRequest):
    """The forms the caller must act on: assigned to them, or escalated to their role; overdue first."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    return selectors.feedback_inbox(user=request.user)


class StageOut(Schema):
    status: str
    key: str = Field(..., description="to_route, with_department, awaiting_verification, awaiting_archive")
    label: str
    count: int
    overdue: int
    due_soon: int
    rows: list[FeedbackOut] = Field(..., description="The most urgent forms of the stage (at most 50)")


class BoardOut(Schema):
    total: int
    overdue: int
    due_soon: int
    stages: list[StageOut]


@router.get("/board", response={200: BoardOut, **ERRORS}, operation_id="feedback_board")
def feedback_board(request: HttpRequest):
    """All open feedback of the stores in scope by stage, with overdue and due-soon counts (the CS manager's board)."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    board = selectors.feedback_board(user=request.user)
    return {**board, "stages": [{**s, "label": str(s["label"])} for s in board["stages"]]}


# ---- notifications (mounted at /api/notifications) ------------------------------------------------------------


@notifications_router.get("", response={200: list[NotificationOut], **ERRORS}, operation_id="notification_list")
@paginate(Pagination)
def notification_list(request: HttpRequest, unread: bool = False):
    """The caller's own notifications, newest first (`unread=true`: only unread ones)."""
    return core_selectors.notification_list(user=request.user, unread=unread)


@notifications_router.post("/read", response={200: ReadOut, **ERRORS}, operation_id="notification_read")
def notification_read(request: HttpRequest, payload: ReadIn):
    """Mark the caller's notifications read (others' ids are ignored); without `ids`, all of them."""
    marked = core_services.notification_mark_read(actor=request.user, ids=payload.ids, all=payload.ids is None)
    return {"marked": marked}
