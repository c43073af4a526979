"""Feedback API: the complaints, grievances and suggestions of the stores in scope (read-only for now)."""

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from aftercare.core.api import ERRORS, Pagination, PathId
from aftercare.org.permissions import Perm, require_perm

from . import selectors
from .choices import FeedbackKind, FeedbackStatus

router = Router(tags=["complaints"])

KindCode = Literal[tuple(FeedbackKind.values)]  # type: ignore[valid-type]
StatusCode = Literal[tuple(FeedbackStatus.values)]  # type: ignore[valid-type]


class FeedbackOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    kind: str
    source: str
    category: str
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
    deadline_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_department(obj) -> str | None:
        return obj.department.name if obj.department_id else None


class FeedbackFilter(Schema):
    kind: KindCode | None = None
    status: StatusCode | None = None


@router.get("/feedback", response={200: list[FeedbackOut], **ERRORS}, operation_id="feedback_list")
@paginate(Pagination)
def feedback_list(request: HttpRequest, filters: Query[FeedbackFilter]):
    """Feedback records of the stores in scope, newest first."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    return selectors.feedback_list(user=request.user, kind=filters.kind or "", status=filters.status or "")


@router.get("/feedback/{feedback_id}", response={200: FeedbackOut, **ERRORS}, operation_id="feedback_detail")
def feedback_detail(request: HttpRequest, feedback_id: PathId):
    """One feedback record; another store's id answers 404."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    return selectors.feedback_get(user=request.user, pk=feedback_id)
