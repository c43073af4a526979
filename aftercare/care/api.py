"""The care API under `/api/care` (django-ninja; errors from `aftercare.core.api.ERRORS`)."""

from ninja import Router

router = Router(tags=["care"])


# ---- classes: class counts, flows and churn rate of a month; a customer's class ----
import datetime as dt  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.http import HttpRequest  # noqa: E402
from ninja import Field, Query, Schema  # noqa: E402

from aftercare.core.api import ERRORS, PathId  # noqa: E402
from aftercare.customers.selectors import customer_get  # noqa: E402
from aftercare.org.calendar import business_date  # noqa: E402
from aftercare.org.permissions import Perm, has_perm, require_perm  # noqa: E402

from . import selectors as care_selectors  # noqa: E402


class ClassMonthQuery(Schema):
    month: str | None = Field(None, pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$",
                              description="YYYY-MM (default: this month)")


class FlowOut(Schema):
    from_class: str = Field(description="class at the month's start; 'none': classified during the month")
    to_class: str
    customers: int


class ClassMonthOut(Schema):
    month: str
    start: dict[str, int]
    end: dict[str, int]
    flows: list[FlowOut]
    base: int
    churned: int
    churn_rate: Decimal | None = Field(description="% of the base at the month's start lost at its end")
    loyal_share: Decimal | None


class ClassChangeOut(Schema):
    on_date: dt.date
    from_class: str
    to_class: str
    rule: str


class CustomerClassOut(Schema):
    customer_id: int
    customer_class: str | None
    lost_rule: str
    class_since: dt.date | None
    classified_on: dt.date | None
    last_visit_at: dt.datetime | None
    visits_12m: int
    spend_12m: Decimal
    churn_reason: str
    history: list[ClassChangeOut]


@router.get("/classes", response={200: ClassMonthOut, **ERRORS}, operation_id="care_class_month")
def class_month(request: HttpRequest, query: Query[ClassMonthQuery]):
    """The stores in scope: customers of each class at the month's start and end, the flows between classes, the
    churn rate and the loyal share (`care.manage`)."""
    require_perm(request.user, Perm.CARE_MANAGE)
    month = business_date().replace(day=1)
    if query.month:
        month = dt.date(int(query.month[:4]), int(query.month[5:]), 1)
    got = care_selectors.class_flows(user=request.user, month=month)
    flows = [{"from_class": a, "to_class": b, "customers": n} for (a, b), n in sorted(got["flows"].items()) if n]
    return {**got, "month": f"{month:%Y-%m}", "flows": flows,
            "start": {str(k): v for k, v in got["start"].items()}, "end": {str(k): v for k, v in got["end"].items()}}


@router.get("/customers/{customer_id}/class", response={200: CustomerClassOut, **ERRORS},
            operation_id="care_customer_class")
def customer_class(request: HttpRequest, customer_id: PathId):
    """One customer's class, figures of 12 months, latest churn reason and class history; another store's customer
    answers 404 (`care.work` or `care.manage`)."""
    if not (has_perm(request.user, Perm.CARE_WORK) or has_perm(request.user, Perm.CARE_MANAGE)):
        require_perm(request.user, Perm.CARE_WORK)
    customer = customer_get(user=request.user, pk=customer_id)
    got = care_selectors.customer_class_get(user=request.user, customer=customer)
    p = got["profile"]
    return {
        "customer_id": customer.pk,
        "customer_class": p.customer_class if p else None,
        "lost_rule": p.lost_rule if p else "",
        "class_since": p.class_since if p else None,
        "classified_on": p.classified_on if p else None,
        "last_visit_at": p.last_visit_at if p else None,
        "visits_12m": p.visits_12m if p else 0,
        "spend_12m": p.spend_12m if p else Decimal(0),
        "churn_reason": got["reason"].reason if got["reason"] else "",
        "history": got["history"],
    }
# ---- end classes ----


# ---- churn: the churn-risk score ----
import datetime as _dt  # noqa: E402

from django.http import HttpRequest  # noqa: E402
from ninja import Field as _Field  # noqa: E402
from ninja import Query as _Query  # noqa: E402
from ninja import Schema as _Schema  # noqa: E402
from ninja.pagination import paginate as _paginate  # noqa: E402

from aftercare.core.api import ERRORS, Pagination, PathId  # noqa: E402
from aftercare.customers.selectors import customer_get as _customer_get  # noqa: E402
from aftercare.org.permissions import Perm as _Perm  # noqa: E402

from . import selectors as _selectors  # noqa: E402
from .churnmodel import reason_label, risk_band  # noqa: E402


class ChurnOut(_Schema):
    customer_id: int
    customer_number: str
    store: str
    churn_risk: float | None = _Field(description="Probability of becoming lost in the next 6 months (0–1)")
    band: str = _Field(description="low (< 0.15), medium (< 0.35) or high")
    reasons: list[str] = _Field(description="Codes of the top reasons, feature:+ (high value) or feature:- (low)")
    reason_labels: list[str]
    scored_on: _dt.date | None
    last_visit_at: _dt.datetime | None


class ChurnFilter(_Schema):
    store: str | None = _Field(None, max_length=20, description="Store code")
    min_risk: float | None = _Field(None, ge=0, le=1)


def _churn_out(p) -> dict:
    reasons = list(p.churn_reasons or [])
    return {"customer_id": p.customer_id, "customer_number": p.customer.number, "store": p.store.code,
            "churn_risk": p.churn_risk, "band": risk_band(p.churn_risk), "reasons": reasons,
            "reason_labels": [reason_label(c) for c in reasons], "scored_on": p.scored_on,
            "last_visit_at": p.last_visit_at}


@router.get("/churn", response={200: list[ChurnOut], **ERRORS}, operation_id="care_churn_list")
@_paginate(Pagination)
def churn_list(request: HttpRequest, filters: _Query[ChurnFilter]):
    """The scored active customers of the stores in scope, highest churn risk first (`care.manage`)."""
    require_perm(request.user, _Perm.CARE_MANAGE)
    qs = _selectors.churn_risk_list(user=request.user)
    if filters.store:
        qs = qs.filter(store__code=filters.store)
    if filters.min_risk is not None:
        qs = qs.filter(churn_risk__gte=filters.min_risk)
    return [_churn_out(p) for p in qs]


@router.get("/customers/{customer_id}/churn", response={200: ChurnOut, **ERRORS}, operation_id="care_customer_churn")
def customer_churn(request: HttpRequest, customer_id: PathId):
    """One customer's churn risk and reasons (null risk when not scored); another store's id answers 404."""
    customer = _customer_get(user=request.user, pk=customer_id)
    profile = _selectors.churn_profile_for(customer=customer)
    if profile is None:
        return {"customer_id": customer.pk, "customer_number": customer.number, "store": customer.store.code,
                "churn_risk": None, "band": "", "reasons": [], "reason_labels": [], "scored_on": None,
                "last_visit_at": None}
    profile.customer, profile.store = customer, customer.store
    return _churn_out(profile)


# ---- end churn ----


# ---- remind: reminders and reminder rules (issue 18, "Reminders"; docs/care.md) ----
import datetime as _dt  # noqa: E402
from typing import Literal  # noqa: E402

from django.http import Http404, HttpRequest  # noqa: E402
from ninja import Field, Query, Schema  # noqa: E402
from ninja.pagination import paginate  # noqa: E402

from aftercare.core.api import ERRORS, Pagination, PathId  # noqa: E402
from aftercare.org.scoping import narrowed_store_ids, own_store_ids  # noqa: E402

from . import selectors as _sel  # noqa: E402
from .choices import ReminderAction, ReminderKind  # noqa: E402

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
    """Reminders of the stores in scope (`care.work` or `care.manage`), by due date; `due`: today or overdue."""
    if not (has_perm(request.user, Perm.CARE_WORK) or has_perm(request.user, Perm.CARE_MANAGE)):
        require_perm(request.user, Perm.CARE_WORK)
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
    from .services.remind import reminder_rule_update

    require_perm(request.user, Perm.CARE_MANAGE)
    rule = _sel.reminder_rule_get(user=request.user, rule_id=rule_id)
    if rule is None or rule.store_id not in own_store_ids(request.user):
        raise Http404
    return reminder_rule_update(actor=request.user, rule=rule, **payload.dict())
# ---- end remind ----


# ---- channels: the delivery log, the SMS gateway's inbound replies ----
import datetime as dt  # noqa: E402

from django.conf import settings  # noqa: E402
from django.http import HttpRequest  # noqa: E402
from django.utils.crypto import constant_time_compare  # noqa: E402
from ninja import Field, Query, Schema  # noqa: E402
from ninja.errors import HttpError  # noqa: E402
from ninja.pagination import paginate  # noqa: E402
from ninja.security import APIKeyHeader  # noqa: E402

from aftercare.core.api import ERRORS, Pagination  # noqa: E402
from aftercare.customers.validators import mask_mobile  # noqa: E402

from .services import channels as _channels  # noqa: E402


class MessageOut(Schema):
    id: int
    store_id: int
    customer_id: int
    customer_number: str = Field(..., alias="customer.number")
    mobile: str
    channel: str
    purpose: str
    status: str
    template_code: str
    subject: str
    text: str
    error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    hold_until: dt.datetime | None

    @staticmethod
    def resolve_mobile(obj) -> str:
        return mask_mobile(obj.customer.mobile) if obj.customer.mobile else ""


class MessageFilter(Schema):
    q: str = Field("", max_length=100, description="Customer name or number")
    phone_tail: str = Field("", max_length=20, description="Last digits of the mobile")
    status: str = Field("", max_length=20)
    channel: str = Field("", max_length=10)
    purpose: str = Field("", max_length=10)
    since: dt.date | None = None
    until: dt.date | None = Field(None, description="Exclusive")
    customer_id: int | None = Field(None, ge=1, le=2**63 - 1)


@router.get("/messages", response={200: list[MessageOut], **ERRORS}, operation_id="care_message_list")
@paginate(Pagination)
def message_list(request: HttpRequest, filters: Query[MessageFilter]):
    """The delivery log: every SMS, e-mail and WeChat message of the stores in scope, newest first."""
    if not (has_perm(request.user, Perm.CARE_WORK) or has_perm(request.user, Perm.CARE_MANAGE)):
        raise HttpError(403, "Permission denied")
    return _selectors.message_log_search(user=request.user, **filters.dict())


class SmsInboundIn(Schema):
    sender: str = Field(..., max_length=30, description="The customer's mobile")
    text: str = Field(..., max_length=500)


class SmsInboundOut(Schema):
    opted_out: int = Field(..., description="Customer files whose marketing consent this reply withdrew")


class GatewaySecret(APIKeyHeader):
    """The SMS gateway's shared secret (`SMS_INBOUND_SECRET`) in the header `X-Aftercare-Secret`; unset: refused."""

    param_name = "X-Aftercare-Secret"

    def authenticate(self, request, key):
        secret = settings.SMS_INBOUND_SECRET
        return "sms-gateway" if secret and key and constant_time_compare(key, secret) else None


@router.post("/sms/inbound", response={200: SmsInboundOut, **ERRORS}, auth=GatewaySecret(),
             operation_id="care_sms_inbound")
def sms_inbound(request: HttpRequest, payload: SmsInboundIn):
    """The SMS gateway posts each reply here with the header `X-Aftercare-Secret: <SMS_INBOUND_SECRET>`; an opt-out
    keyword (TD, T, 退订, STOP) withdraws marketing consent at once. A wrong or unset secret answers 401."""
    return {"opted_out": _channels.sms_reply_receive(sender=payload.sender, text=payload.text)}
# ---- end channels ----


# ---- campaigns: campaigns, segments and recalls (aftercare/care/api_campaigns.py) ----
from .api_campaigns import router as campaigns_router  # noqa: E402

router.add_router("", campaigns_router)
