"""Follow-up calls API: the queue, claiming, call attempts, answer sheets, rules and the return-visit rate.

A task of another store answers 404; a task someone else holds answers 409 on claim.
"""

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from aftercare.core.api import ERRORS, ConflictOut, Pagination, PathId
from aftercare.customers.validators import mask_mobile
from aftercare.org.permissions import Perm, has_perm, require_any_perm, require_perm

from . import ranking, selectors
from .choices import CallOutcome, FollowupKind
from .services import attempts, claiming, scoring

router = Router(tags=["follow-ups"])

KindCode = Literal[tuple(FollowupKind.values)]  # type: ignore[valid-type]
OutcomeCode = Literal[tuple(CallOutcome.values)]  # type: ignore[valid-type]


class TaskOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    kind: str
    status: str
    subject_type: str
    subject_id: int
    customer_id: int
    customer_name: str = Field(..., alias="customer.name")
    customer_mobile: str = Field(..., description="Masked, e.g. 138****5678")
    vehicle_plate: str | None = None
    event_at: dt.datetime
    due_at: dt.datetime = Field(..., description="Half-open: in time if closed before this instant")
    next_call_at: dt.datetime | None
    attempts: int
    claimed_by: str | None = None
    template_id: int | None
    customer_value: Decimal | None = Field(None, description="Repair-order spend over 12 months (queue only)")
    ranking: dict[str, float | None] | None = Field(
        None,
        description="The values that rank calls of one deadline, highest first (queue only), e.g. "
        '{"churn_risk": 0.42} from the care app; null for an unscored customer',
    )

    @staticmethod
    def resolve_customer_mobile(obj) -> str:
        return mask_mobile(obj.customer.mobile) if obj.customer.mobile else ""

    @staticmethod
    def resolve_vehicle_plate(obj) -> str | None:
        return obj.vehicle.plate if obj.vehicle_id else None

    @staticmethod
    def resolve_claimed_by(obj) -> str | None:
        return obj.claimed_by.get_username() if obj.claimed_by_id else None

    @staticmethod
    def resolve_ranking(obj) -> dict[str, float | None] | None:
        names = [p.name for p in ranking.queue_priorities() if hasattr(obj, p.name)]
        return {name: getattr(obj, name) for name in names} or None


class FeedbackIn(Schema):
    kind: Literal["complaint", "grievance", "suggestion"]
    category: str = Field(
        "",
        description="sales, mechanical, body, paint, wash, parts, facilities, product_quality; "
        "empty: from the task (sales for a delivery, else the repair order's kind)",
    )
    text: str = Field(..., min_length=1, max_length=4000)


class AttemptIn(Schema):
    outcome: OutcomeCode
    notes: str = Field("", max_length=4000)
    call_back_at: dt.datetime | None = Field(None, description="Required for call_back; with a time zone")
    duration_s: int | None = Field(None, ge=0, le=86400)
    feedback: FeedbackIn | None = Field(None, description="A complaint, grievance or suggestion said on the call")


class CallOut(Schema):
    id: int
    task_id: int | None
    outcome: str
    called_at: dt.datetime
    duration_s: int | None
    call_back_at: dt.datetime | None
    task_status: str = Field(..., alias="task.status")


class SheetIn(Schema):
    answers: dict[str, Any] = Field(..., description="Question id → value (scale: int; yes/no: bool; choice: value)")
    dissatisfied: bool = Field(False, description="The specialist marks the customer dissatisfied")
    notes: str = Field("", max_length=4000)
    feedback: FeedbackIn | None = Field(None, description="Said on the call (a dissatisfied sheet records one anyway)")


class SheetOut(Schema):
    id: int
    task_id: int
    template_id: int
    score_total: Decimal | None = Field(..., description="Carmaker 1000-point score")
    factor_scores: dict[str, Decimal | None]
    dissatisfied: bool
    dissatisfied_reasons: list[str]


class RuleOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    code: str
    name: str
    trigger: str
    kind: str
    delay_hours: int
    deadline_amount: int
    deadline_unit: str
    template_id: int | None
    allowed_roles: list[str]
    excluded_repair_kinds: list[str]
    is_active: bool
    is_carmaker_variant: bool


class QuestionOut(Schema):
    id: int
    code: str
    type: str
    text_zh: str
    text_en: str
    choices: list[dict]
    required: bool


class FactorOut(Schema):
    code: str
    name_zh: str
    name_en: str
    weight: Decimal
    questions: list[QuestionOut]


class TemplateOut(Schema):
    id: int
    code: str
    version: int
    kind: str
    status: str
    name_zh: str
    name_en: str
    factors: list[FactorOut]


class RateOut(Schema):
    key: str | None = Field(..., description="Store id, kind or specialist user id")
    due: int
    in_time: int
    unreachable: int
    refused: int
    rate: Decimal | None = Field(..., description="Percent")


class QueueFilter(Schema):
    kind: KindCode | None = None
    specialist_id: int | None = Field(None, ge=1, le=2**63 - 1, description="Managers only")


class RateFilter(Schema):
    month: str = Field(..., pattern=r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$", description="YYYY-MM (Asia/Shanghai)")
    by: Literal["store", "kind", "specialist"] = "store"


@router.get("/queue", response={200: list[TaskOut], **ERRORS}, operation_id="followup_queue")
@paginate(Pagination)
def queue(request: HttpRequest, filters: Query[QueueFilter]):
    """Today's due and overdue tasks, most urgent first (deadline, then churn risk, then customer value)."""
    require_perm(request.user, Perm.FOLLOWUP_CALL)
    return selectors.followup_queue(user=request.user, kind=filters.kind, specialist_id=filters.specialist_id)


@router.get("/tasks/{task_id}", response={200: TaskOut, **ERRORS}, operation_id="followup_task_detail")
def task_detail(request: HttpRequest, task_id: PathId):
    """One task: for who makes the calls, and read-only for who manages them (as the call screen)."""
    require_any_perm(request.user, Perm.FOLLOWUP_CALL, Perm.FOLLOWUP_MANAGE)
    return selectors.followup_task_get(user=request.user, pk=task_id)


@router.post(
    "/tasks/{task_id}/claim", response={200: TaskOut, 409: ConflictOut, **ERRORS}, operation_id="followup_task_claim"
)
def claim(request: HttpRequest, task_id: PathId):
    """Lock the task to the caller. 409 when another specialist holds it."""
    try:
        claiming.followup_task_claim(actor=request.user, task_id=task_id)
    except claiming.TaskAlreadyClaimed:
        return Status(409, {"detail": "Another specialist holds this task."})
    return selectors.followup_task_get(user=request.user, pk=task_id)


@router.post("/tasks/{task_id}/attempts", response={200: CallOut, **ERRORS}, operation_id="followup_attempt_record")
def attempt(request: HttpRequest, task_id: PathId, payload: AttemptIn):
    """Log a call on a task the caller holds: completed, no_answer, busy, wrong_number, refused or call_back."""
    task = selectors.followup_task_get(user=request.user, pk=task_id)
    return attempts.followup_attempt_record(
        actor=request.user,
        task=task,
        outcome=payload.outcome,
        notes=payload.notes.replace("\x00", ""),
        call_back_at=payload.call_back_at,
        duration_s=payload.duration_s,
        feedback=payload.feedback.model_dump() if payload.feedback else None,
    )


@router.post("/tasks/{task_id}/sheet", response={200: SheetOut, **ERRORS}, operation_id="followup_sheet_submit")
def sheet(request: HttpRequest, task_id: PathId, payload: SheetIn):
    """Submit the questionnaire; scores it, completes the task. Bad answers: 422 under `answers.<question id>`."""
    task = selectors.followup_task_get(user=request.user, pk=task_id)
    return scoring.answer_sheet_submit(
        actor=request.user,
        task=task,
        answers=payload.answers,
        dissatisfied=payload.dissatisfied,
        notes=payload.notes.replace("\x00", ""),
        feedback=payload.feedback.model_dump() if payload.feedback else None,
    )


@router.get("/templates/{template_id}", response={200: TemplateOut, **ERRORS}, operation_id="followup_template")
def template(request: HttpRequest, template_id: PathId):
    """A questionnaire with its factors and questions (the ids `sheet` expects)."""
    return selectors.questionnaire_template_get(user=request.user, pk=template_id)


@router.get("/rules", response={200: list[RuleOut], **ERRORS}, operation_id="followup_rule_list")
def rules(request: HttpRequest):
    """The follow-up rules of the stores in scope."""
    if not any(has_perm(request.user, p) for p in (Perm.FOLLOWUP_CALL, Perm.FOLLOWUP_MANAGE, Perm.FOLLOWUP_RULES)):
        raise PermissionDenied
    return list(selectors.followup_rule_list(user=request.user))


@router.get("/return-visit-rate", response={200: list[RateOut], **ERRORS}, operation_id="followup_return_visit_rate")
def return_visit_rate(request: HttpRequest, filters: Query[RateFilter]):
    """Return-visit rate of a month (definition: docs/kpis.md)."""
    require_perm(request.user, Perm.FOLLOWUP_MANAGE)
    year, month = (int(x) for x in filters.month.split("-"))
    rows = selectors.return_visit_rate(user=request.user, month=dt.date(year, month, 1), by=filters.by)
    return [{**r, "key": None if r[filters.by] is None else str(r[filters.by])} for r in rows]
