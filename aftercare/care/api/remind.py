"""The care API, remind: reminders and reminder rules (issue 18, "Reminders"; docs/care.md).

Mounted under `/api/care` by `api/__init__.py`."""

import datetime as _dt
from typing import Literal

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from aftercare.core.api import ERRORS, Pagination, PathId
from aftercare.org.calendar import business_date
from aftercare.org.permissions import Perm, require_any_perm, require_perm
from aftercare.org.scoping import narrowed_store_ids, own_store_ids

from .. import selectors as _sel
from ..choices import ReminderAction, ReminderKind

router = Router(tags=["care"])


ReminderKindCode = Literal[tuple(ReminderKind.values)]  # type: ignore[valid-type]
ReminderActionCode = Literal[tuple(ReminderAction.values)]  # type: ignore[valid-type]


class ReminderOut(Schema):
    id: int
    store_id: int
    customer_id: int
    customer_name: str
    vehicle_id: int | None
    plate: str | None
    kind: str
    due_on: _dt.date
    made_on: _dt.date
    action: str
    state: str
    came_until: _dt.date
    task_id: int | None
    task_status: str | None
    churn_risk: float | None  # the customer's churn-risk score (None: not scored); the list's first key

    @staticmethod
    def resolve_customer_name(obj) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_plate(obj) -> str | None:
        return obj.vehicle.plate if obj.vehicle_id else None

    @staticmethod
    def resolve_task_status(obj) -> str | None:
        return obj.task.status if obj.task_id else None


class ReminderFilter(Schema):
    store_id: int | None = Field(None, ge=1)
    due: Literal["", "today", "overdue"] = ""
    kind: ReminderKindCode | Literal[""] = ""  # type: ignore[valid-type]


@router.get("/reminders", response={200: list[ReminderOut], **ERRORS}, operation_id="care_reminder_list")
@paginate(Pagination)
def reminder_list_api(request: HttpRequest, filters: Query[ReminderFilter]):
    """Reminders of the stores in scope (`care.work` or `care.manage`), highest churn risk first (unscored last),
    then by due date; `due`: today or overdue."""
    require_any_perm(request.user, Perm.CARE_WORK, Perm.CARE_MANAGE)
    ids = narrowed_store_ids(request.user, filters.store_id)
    return _sel.reminder_list(user=request.user, store_ids=ids, due=filters.due, kind=filters.kind,
                              today=business_date())


class ReminderRuleOut(Schema):
    id: int
    store_id: int
    kind: str
    is_active: bool
    lead_days: int
    action: str
    came_days: int
    months: int | None
    km: int | None


class ReminderRuleIn(Schema):
    is_active: bool
    lead_days: int = Field(..., ge=0, le=90)
    action: ReminderActionCode  # type: ignore[valid-type]
    came_days: int = Field(..., ge=1, le=365)
    months: int | None = Field(None, ge=1, le=60)
    km: int | None = Field(None, ge=500, le=100_000)


@router.get("/reminder-rules", response={200: list[ReminderRuleOut], **ERRORS}, operation_id="care_reminder_rules")
def reminder_rules_api(request: HttpRequest, store_id: int | None = Query(None, ge=1)):
    """The reminder rules of the caller's own stores (`care.manage`), the defaults seeded first."""
    require_perm(request.user, Perm.CARE_MANAGE)
    ids = sorted(narrowed_store_ids(request.user, store_id) & own_store_ids(request.user))
    return [rule for sid in ids for rule in _sel.reminder_rule_list(user=request.user, store_id=sid)]


@router.put("/reminder-rules/{rule_id}", response={200: ReminderRuleOut, **ERRORS},
            operation_id="care_reminder_rule_update")
def reminder_rule_update_api(request: HttpRequest, rule_id: PathId, payload: ReminderRuleIn):
    """Change one reminder rule of an own store; another store's rule answers 404, bad values 422."""
    from ..services.remind import reminder_rule_update

    require_perm(request.user, Perm.CARE_MANAGE)
    rule = _sel.reminder_rule_get(user=request.user, rule_id=rule_id)
    if rule is None or rule.store_id not in own_store_ids(request.user):
        raise Http404
    return reminder_rule_update(actor=request.user, rule=rule, **payload.dict())
