"""The action register's API under `/api/reports` (docs/reports.md, "Action register")."""

import datetime as _dt
from typing import Literal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from aftercare.core.api import ERRORS, Pagination, PathId
from aftercare.org.calendar import business_date
from aftercare.org.scoping import narrowed_store_ids

from . import selectors
from .choices import ActionSource, ActionStatus
from .services import actions as services

router = Router(tags=["reports"])

SourceCode = Literal[tuple(ActionSource.values)]  # type: ignore[valid-type]
StatusFilter = Literal[("", "active", *ActionStatus.values)]  # type: ignore[valid-type]


class ActionOut(Schema):
    id: int
    store_id: int
    title: str
    source: str
    source_detail: str
    description: str
    owner_id: int
    due_date: _dt.date
    status: str
    overdue: bool
    done_at: _dt.datetime | None
    done_note: str
    verified_at: _dt.datetime | None
    verification_note: str
    reopen_count: int

    @staticmethod
    def resolve_overdue(obj) -> bool:
        return obj.status == ActionStatus.OPEN and obj.due_date < business_date()


class ActionFilter(Schema):
    store_id: int | None = Field(None, ge=1)
    status: StatusFilter = "active"  # type: ignore[valid-type]
    mine: bool = False
    overdue: bool = False


class ActionIn(Schema):
    store_id: int = Field(..., ge=1)
    title: str = Field(..., min_length=1, max_length=200)
    source: SourceCode  # type: ignore[valid-type]
    source_detail: str = Field("", max_length=200)
    description: str = Field("", max_length=5000)
    owner_id: int = Field(..., ge=1)
    due_date: _dt.date


class ActionNoteIn(Schema):
    note: str = Field("", max_length=2000)


class ActionVerifyIn(ActionNoteIn):
    effective: bool


@router.get("/actions", response={200: list[ActionOut], **ERRORS}, operation_id="reports_action_list")
@paginate(Pagination)
def action_list_api(request: HttpRequest, filters: Query[ActionFilter]):
    """The action register: a manager's (`kpi.set_target`) stores, anyone else the actions they own; `status`
    "active" (default): open or awaiting verification."""
    ids = narrowed_store_ids(request.user, filters.store_id)
    return selectors.action_list(
        user=request.user,
        store_ids=ids,
        status=filters.status,
        mine=filters.mine,
        overdue_on=business_date() if filters.overdue else None,
    )


@router.get("/actions/{action_id}", response={200: ActionOut, **ERRORS}, operation_id="reports_action_get")
def action_get_api(request: HttpRequest, action_id: PathId):
    return selectors.action_get(user=request.user, pk=action_id)


@router.post("/actions", response={201: ActionOut, **ERRORS}, operation_id="reports_action_create")
def action_create_api(request: HttpRequest, payload: ActionIn):
    """A new action (`kpi.set_target`); the owner must be active staff of the store (else 422 naming `owner_id`)."""
    owner = get_user_model().objects.filter(pk=payload.owner_id).first()
    try:
        action = services.action_create(
            actor=request.user,
            store_id=payload.store_id,
            title=payload.title,
            source=payload.source,
            source_detail=payload.source_detail,
            description=payload.description,
            owner=owner,
            due_date=payload.due_date,
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "owner" in exc.error_dict:
            exc.error_dict["owner_id"] = exc.error_dict.pop("owner")
        raise
    return 201, action


@router.post("/actions/{action_id}/done", response={200: ActionOut, **ERRORS}, operation_id="reports_action_done")
def action_done_api(request: HttpRequest, action_id: PathId, payload: ActionNoteIn):
    """The owner (or a manager) marks the action done, saying what was done."""
    action = selectors.action_get(user=request.user, pk=action_id)
    return services.action_complete(actor=request.user, action_id=action.pk, note=payload.note)


@router.post("/actions/{action_id}/verify", response={200: ActionOut, **ERRORS}, operation_id="reports_action_verify")
def action_verify_api(request: HttpRequest, action_id: PathId, payload: ActionVerifyIn):
    """A manager verifies a done action: effective → verified, not effective (with a note) → open again."""
    action = selectors.action_get(user=request.user, pk=action_id)
    return services.action_verify(actor=request.user, action_id=action.pk, effective=payload.effective,
                                  note=payload.note)


@router.post("/actions/{action_id}/cancel", response={200: ActionOut, **ERRORS}, operation_id="reports_action_cancel")
def action_cancel_api(request: HttpRequest, action_id: PathId, payload: ActionNoteIn):
    """A manager cancels an open or done action, giving the reason in `note` (as the page's cancel step)."""
    action = selectors.action_get(user=request.user, pk=action_id)
    return services.action_cancel(actor=request.user, action_id=action.pk, note=payload.note)
