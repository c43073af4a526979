"""Renewals API (mounted at /api/renewals): the renewal cases of the stores in scope, claiming, assignment, contacts,
outcomes, the store's gifts and offers, and claim assistance.

Another store's id answers 404, a role without `renewal.work` (or `renewal.manage` to assign) 403, a case another
specialist holds 409 on claim, bad input 422 naming the field. Phones are masked; premiums, quotes and gift costs
are null for roles without `renewal.premium`.
"""

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from aftercare.core.api import ERRORS, MAX_ID, ConflictOut, Pagination, PathId
from aftercare.customers.choices import LossReason
from aftercare.customers.models import InsurancePolicy
from aftercare.customers.validators import mask_mobile
from aftercare.org.calendar import business_date
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import get_scoped_or_404, narrowed_store_ids

from . import selectors
from .choices import CaseState, ClaimAssistState, ContactChannel, ContactResult, Outcome, Segment
from .services import claims, work

router = Router(tags=["renewals"])

SegmentCode = Literal[tuple(Segment.values)]  # type: ignore[valid-type]
StateCode = Literal[tuple(CaseState.values)]  # type: ignore[valid-type]
OutcomeCode = Literal[tuple(Outcome.values)]  # type: ignore[valid-type]
ChannelCode = Literal[tuple(ContactChannel.values)]  # type: ignore[valid-type]
ResultCode = Literal[tuple(ContactResult.values)]  # type: ignore[valid-type]
ReasonCode = Literal[tuple(["", *LossReason.values])]  # type: ignore[valid-type]
ClaimStateCode = Literal[tuple(ClaimAssistState.values)]  # type: ignore[valid-type]

MONEY = {"ge": 0, "le": Decimal("9999999999.99"), "max_digits": 12, "decimal_places": 2}
_ID = Field(None, ge=1, le=MAX_ID)


def _premiums(context) -> bool:
    request = (context or {}).get("request")
    return request is not None and selectors.may_see_premiums(request.user)


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


def _renamed(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    """The service's error keys as the API's field names (e.g. `gift` → `gift_id`)."""
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError({names.get(k, k): v for k, v in exc.error_dict.items()})


# ---- schemas -------------------------------------------------------------------------------------------------


class CaseOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    customer_id: int
    customer_name: str = Field(..., alias="customer.name")
    customer_mobile: str = Field(..., description="Masked, e.g. 138****5678")
    vehicle_id: int
    plate: str = Field(..., alias="vehicle.plate")
    model: str = Field(..., alias="vehicle.model")
    policy_id: int | None
    expiry_date: dt.date
    expiry_estimated: bool
    segment: str
    priority: int
    previous_insurer: str
    previous_premium: Decimal | None = Field(None, description="Null without `renewal.premium`")
    state: str
    holder_id: int | None
    holder: str | None = Field(None, description="Username of the specialist holding the case")
    claimed_at: dt.datetime | None
    contacts_made: int = Field(..., description="Effective contacts (the customer was reached)")
    attempts: int
    last_contact_at: dt.datetime | None
    outcome: str
    outcome_insurer: str
    outcome_premium: Decimal | None = Field(None, description="Null without `renewal.premium`")
    outcome_policy_number: str
    outcome_reason: str
    outcome_reason_text: str
    outcome_at: dt.datetime | None
    renewed_policy_id: int | None = Field(..., description="The imported renewal policy that closed the case")
    closed_at: dt.datetime | None

    @staticmethod
    def resolve_customer_mobile(obj) -> str:
        return mask_mobile(obj.customer.mobile) if obj.customer.mobile else ""

    @staticmethod
    def resolve_holder(obj) -> str | None:
        return _username(obj.holder) if obj.holder_id else None

    @staticmethod
    def resolve_previous_premium(obj, context) -> Decimal | None:
        return obj.previous_premium if _premiums(context) else None

    @staticmethod
    def resolve_outcome_premium(obj, context) -> Decimal | None:
        return obj.outcome_premium if _premiums(context) else None


class ContactOut(Schema):
    id: int
    number: int
    due_on: dt.date
    task_id: int | None
    task_status: str | None = None
    channel: str
    result: str
    effective: bool
    contacted_at: dt.datetime | None
    handler: str | None = None
    quote_insurer: str
    quote_premium: Decimal | None = Field(None, description="Null without `renewal.premium`")
    quote_discount: Decimal | None = Field(None, description="Percent")
    gift_id: int | None
    gift: str | None = None
    gift_cost: Decimal | None = Field(None, description="Null without `renewal.premium`")
    next_step: str
    notes: str
    call_id: int | None

    @staticmethod
    def resolve_task_status(obj) -> str | None:
        return obj.task.status if obj.task_id else None

    @staticmethod
    def resolve_handler(obj) -> str | None:
        return _username(obj.handler) if obj.handler_id else None

    @staticmethod
    def resolve_gift(obj) -> str | None:
        return obj.gift.name if obj.gift_id else None

    @staticmethod
    def resolve_quote_premium(obj, context) -> Decimal | None:
        return obj.quote_premium if _premiums(context) else None

    @staticmethod
    def resolve_gift_cost(obj, context) -> Decimal | None:
        return obj.gift_cost if _premiums(context) else None


class ClaimAssistOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    customer_id: int
    vehicle_id: int
    policy_id: int
    case_id: int | None
    reported_on: dt.date
    description: str
    state: str
    repair_order_id: int | None = Field(..., description="The insurance repair order that settled it")
    settled_at: dt.datetime | None = Field(..., description="Settled, or closed without a repair")
    created_at: dt.datetime


class CaseDetailOut(CaseOut):
    contacts: list[ContactOut] = Field(..., alias="contact_rows", description="By number")
    claim_assists: list[ClaimAssistOut] = Field(..., alias="claim_assist_rows", description="Latest report first")


class GiftOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    name: str
    cost: Decimal | None = Field(None, description="Null without `renewal.premium`")
    is_active: bool

    @staticmethod
    def resolve_cost(obj, context) -> Decimal | None:
        return obj.cost if _premiums(context) else None


class CaseFilter(Schema):
    month: str | None = Field(
        None, pattern=r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$", description="Month of expiry, YYYY-MM"
    )
    until: str | None = Field(
        None, pattern=r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$",
        description="With `month`: expiry from `month` up to this month, not included (a quarter's or a year's "
        "figure of the measures pages), YYYY-MM",
    )
    filed: bool = Field(False, description="true: only a filed policy's cases (the filed renewal rate)")
    contacted: bool = Field(False, description="true: only cases with an effective contact")
    segment: SegmentCode | None = None
    state: StateCode | None = None
    holder_id: int | None = Field(None, ge=1, le=MAX_ID, description="Cases this user holds")
    unclaimed: bool = Field(False, description="true: only cases nobody holds")
    mine: bool = Field(False, description="true: only cases nobody holds or the caller holds")
    claims: Literal["open"] | None = Field(None, description="open: only cases with open claim assistance")
    store: str | None = Field(None, max_length=20, description="Store code")
    due: Literal["today", "overdue"] | None = Field(
        None, description="today: open cases to call today (contact due, no later call-back; for a specialist, "
        "nobody's or theirs); overdue: the contact's call deadline passed (the start page's numbers)"
    )


class AssignIn(Schema):
    user_id: int = Field(..., ge=1, le=MAX_ID, description="A renewal worker of the case's store")


class ContactIn(Schema):
    result: ResultCode
    channel: ChannelCode = "phone"
    notes: str = Field("", max_length=4000)
    call_back_at: dt.datetime | None = Field(None, description="Required for call_back; with a time zone")
    quote_insurer: str = Field("", max_length=100)
    quote_premium: Decimal | None = Field(None, **MONEY)
    quote_discount: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2, description="Percent")
    gift_id: int | None = Field(None, ge=1, le=MAX_ID, description="One of the store's active gifts and offers")
    next_step: str = Field("", max_length=200)


class OutcomeIn(Schema):
    outcome: OutcomeCode
    insurer: str = Field("", max_length=100, description="Renewed here or elsewhere: the insurer")
    premium: Decimal | None = Field(None, **MONEY, description="Renewed here")
    policy_number: str = Field("", max_length=50, description="Renewed here")
    reason: ReasonCode = Field("", description="Renewed elsewhere / not renewed")
    reason_text: str = Field("", max_length=200, description="For the reason `other`")


class ClaimAssistIn(Schema):
    reported_on: dt.date = Field(..., description="The day the accident was reported (Asia/Shanghai)")
    description: str = Field(..., min_length=1, max_length=4000)
    policy_id: int | None = Field(
        None, ge=1, le=MAX_ID,
        description="A policy of the case's vehicle sold here; default: the one in force on `reported_on`",
    )


class CloseIn(Schema):
    reason: str = Field(..., min_length=1, max_length=500)


class ClaimAssistFilter(Schema):
    state: ClaimStateCode | None = None


# ---- cases ---------------------------------------------------------------------------------------------------


def _case(request: HttpRequest, case_id: int):
    require_perm(request.user, Perm.RENEWAL_WORK)
    return selectors.renewal_case_get(user=request.user, pk=case_id)


def _detail(request: HttpRequest, case_id: int):
    case = _case(request, case_id)
    case.contact_rows = list(
        selectors.renewal_contact_list(user=request.user).filter(case_id=case.pk).order_by("number")
    )
    case.claim_assist_rows = list(
        selectors.claim_assist_list(user=request.user).filter(case_id=case.pk).order_by("-reported_on", "-id")
    )
    return case


@router.get("/cases", response={200: list[CaseOut], **ERRORS}, operation_id="renewal_case_list")
@paginate(Pagination)
def case_list(request: HttpRequest, filters: Query[CaseFilter]):
    """The renewal cases of the stores in scope, by expiry, then priority (the likeliest renewals first)."""
    require_perm(request.user, Perm.RENEWAL_WORK)
    qs = selectors.renewal_case_list(user=request.user)
    if filters.store:
        qs = qs.filter(store__code=filters.store)
    month = until = None
    if filters.month:
        year, number = (int(x) for x in filters.month.split("-"))
        month = dt.date(year, number, 1)
    if filters.until:
        until = dt.date(int(filters.until[:4]), int(filters.until[5:]), 1)
        if month is None or until <= month:
            raise ValidationError({"until": [_("Give a month after the expiry month.")]})
    qs = selectors.renewal_case_narrow(
        qs, user=request.user, month=month, until=until, filed=filters.filed, contacted=filters.contacted,
        segment=filters.segment or "", state=filters.state or "",
        holder=filters.holder_id, due=filters.due or "", unclaimed=filters.unclaimed, mine=filters.mine,
        claims=filters.claims or "",
    )
    return qs.order_by("expiry_date", "priority", "id")


@router.get("/cases/{case_id}", response={200: CaseDetailOut, **ERRORS}, operation_id="renewal_case_detail")
def case_detail(request: HttpRequest, case_id: PathId):
    """One case with its contacts and claim assistance; another store's id answers 404."""
    return _detail(request, case_id)


@router.post(
    "/cases/{case_id}/claim",
    response={200: CaseDetailOut, 409: ConflictOut, **ERRORS},
    operation_id="renewal_case_claim",
)
def case_claim(request: HttpRequest, case_id: PathId):
    """Hold the case (and its contact in progress). 409 when another specialist holds it."""
    case = _case(request, case_id)
    try:
        work.renewal_case_claim(actor=request.user, case=case)
    except work.CaseAlreadyClaimed:
        return Status(409, {"detail": "Another specialist holds this case."})
    return _detail(request, case_id)


@router.post("/cases/{case_id}/release", response={200: CaseDetailOut, **ERRORS}, operation_id="renewal_case_release")
def case_release(request: HttpRequest, case_id: PathId):
    """Give the case back to the pool: its holder, or a manager."""
    work.renewal_case_release(actor=request.user, case=_case(request, case_id))
    return _detail(request, case_id)


@router.post("/cases/{case_id}/assign", response={200: CaseDetailOut, **ERRORS}, operation_id="renewal_case_assign")
def case_assign(request: HttpRequest, case_id: PathId, payload: AssignIn):
    """A manager (`renewal.manage`) hands the case to a renewal worker of its store."""
    require_perm(request.user, Perm.RENEWAL_MANAGE)
    case = _case(request, case_id)
    to_user = get_user_model().objects.filter(pk=payload.user_id, is_active=True).first()
    try:
        work.renewal_case_assign(actor=request.user, case=case, to_user=to_user)
    except ValidationError as exc:
        raise _renamed(exc, {"to_user": "user_id"}) from None
    return _detail(request, case_id)


@router.post("/cases/{case_id}/contacts", response={200: ContactOut, **ERRORS}, operation_id="renewal_contact_record")
def contact_record(request: HttpRequest, case_id: PathId, payload: ContactIn):
    """Record a contact on a case the caller holds (the call goes to the follow-up call log). An answered call is
    an effective contact; no answer, busy and wrong number are attempts. Quotes and gifts need an answered call."""
    case = _case(request, case_id)
    gift = None
    if payload.gift_id:
        gift = selectors.renewal_gift_list(user=request.user, store_ids=[case.store_id]).filter(
            pk=payload.gift_id
        ).first()
        if gift is None:
            raise ValidationError({"gift_id": [_("Choose one of the store's active gifts and offers.")]})
    try:
        contact = work.renewal_contact_record(
            actor=request.user, case=case, result=payload.result, channel=payload.channel, notes=payload.notes,
            call_back_at=payload.call_back_at, quote_insurer=payload.quote_insurer,
            quote_premium=payload.quote_premium, quote_discount=payload.quote_discount, gift=gift,
            next_step=payload.next_step,
        )
    except ValidationError as exc:
        raise _renamed(exc, {"gift": "gift_id"}) from None
    return selectors.renewal_contact_list(user=request.user).get(pk=contact.pk)


@router.post("/cases/{case_id}/outcome", response={200: CaseDetailOut, **ERRORS}, operation_id="renewal_outcome_record")
def outcome_record(request: HttpRequest, case_id: PathId, payload: OutcomeIn):
    """Record how the renewal ended and close the case: renewed here (insurer, premium, policy number), renewed
    elsewhere (insurer, reason), not renewed (reason; `other` with `reason_text`)."""
    case = _case(request, case_id)
    work.renewal_outcome_record(
        actor=request.user, case=case, outcome=payload.outcome, insurer=payload.insurer, premium=payload.premium,
        policy_number=payload.policy_number, reason=payload.reason, reason_text=payload.reason_text,
    )
    return _detail(request, case_id)


@router.get("/gifts", response={200: list[GiftOut], **ERRORS}, operation_id="renewal_gift_list")
def gift_list(request: HttpRequest):
    """The gifts and offers of the stores in scope (cost only with `renewal.premium`)."""
    require_perm(request.user, Perm.RENEWAL_WORK)
    return list(selectors.renewal_gift_list(user=request.user).order_by("store__code", "name"))


# ---- claim assistance ----------------------------------------------------------------------------------------


@router.get("/claim-assists", response={200: list[ClaimAssistOut], **ERRORS}, operation_id="claim_assist_list")
@paginate(Pagination)
def claim_assist_list(request: HttpRequest, filters: Query[ClaimAssistFilter]):
    """Claim assistance of the stores in scope, latest report first."""
    require_perm(request.user, Perm.RENEWAL_WORK)
    qs = selectors.claim_assist_list(user=request.user)
    if filters.state:
        qs = qs.filter(state=filters.state)
    return qs.order_by("-reported_on", "-id")


@router.post(
    "/cases/{case_id}/claim-assists", response={200: ClaimAssistOut, **ERRORS}, operation_id="claim_assist_open"
)
def claim_assist_open(request: HttpRequest, case_id: PathId, payload: ClaimAssistIn):
    """An accident was reported on a policy of the case's vehicle sold here: open claim assistance on the case,
    until the insurance repair order settles (matched on repair-order import) or it is closed."""
    case = _case(request, case_id)
    policies = InsurancePolicy.objects.filter(store_id=case.store_id, vehicle_id=case.vehicle_id)
    if payload.policy_id:
        policy = policies.filter(pk=payload.policy_id).first()
    else:
        policy = (
            policies.filter(start_date__lte=payload.reported_on, expiry_date__gte=payload.reported_on)
            .order_by("-start_date").first()
        )
    if policy is None:
        raise ValidationError({"policy_id": [_("No policy of this vehicle sold here was in force that day.")]})
    if payload.reported_on > business_date():
        raise ValidationError({"reported_on": [_("The report cannot be in the future.")]})
    try:
        item = claims.claim_assist_open(
            actor=request.user, policy=policy, reported_on=payload.reported_on, description=payload.description,
            case=case,
        )
    except ValidationError as exc:
        raise _renamed(exc, {"policy": "policy_id"}) from None
    return selectors.claim_assist_get(user=request.user, pk=item.pk)


@router.post(
    "/claim-assists/{claim_assist_id}/close",
    response={200: ClaimAssistOut, **ERRORS},
    operation_id="claim_assist_close",
)
def claim_assist_close(request: HttpRequest, claim_assist_id: PathId, payload: CloseIn):
    """Close open claim assistance without a repair here; the reason is kept in the audit trail."""
    require_perm(request.user, Perm.RENEWAL_WORK)
    item = get_scoped_or_404(selectors.claim_assist_list(user=request.user), pk=claim_assist_id)
    claims.claim_assist_close(actor=request.user, item=item, reason=payload.reason)
    return selectors.claim_assist_get(user=request.user, pk=item.pk)

# ---- measures (measures part) ----------------------------------------------------------------------------------


class MeasuresFilter(Schema):
    year: int | None = Field(None, ge=2000, le=2100, description="Default: this year")
    store: int | None = Field(None, ge=1, le=MAX_ID, description="A store's id (must be in scope); default: every "
                              "store in scope, summed")
    month: str | None = Field(None, pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$",
                              description="YYYY-MM of `year`: the month of the breakdowns (default: this month in "
                              "this year, else the year's last month)")


class JudgeOut(Schema):
    target: Decimal | None = Field(None, description="The target that applies (amounts in yuan)")
    target_source: str | None = Field(None, description="month, quarter, year (set for that period) or default")
    gap: Decimal | None = Field(None, description="actual − target")
    state: str = Field(..., description="met, missed, running (the period is not over) or none")


class CellOut(Schema):
    period: str = Field(..., description="month, quarter or year")
    start: dt.date
    value: Decimal | int | None = Field(None, description="None: no denominator, or an amount you may not see")
    numerator: int | None = None
    denominator: int | None = None
    running: bool
    judge: JudgeOut | None = Field(None, description="Measures of the KPI catalogue only")
    url: str | None = Field(None, description="The cases behind a month's case figure (the renewal list)")


class RowOut(Schema):
    key: str
    label: str
    measure: str | None = Field(None, description="The KPI catalogue's code")
    cells: list[CellOut]


class SegmentOut(Schema):
    segment: str
    label: str
    expiring: int
    renewed_here: int
    renewed_elsewhere: int
    not_renewed: int
    renewal_rate: Decimal | None
    trend: list[Decimal | None] = Field(..., description="The renewal rate of each month of the year")


class ReasonOut(Schema):
    reason: str
    label: str
    renewed_elsewhere: int
    not_renewed: int
    count: int
    share: Decimal | None = Field(None, description="% of the cases renewed elsewhere or not renewed")


class SpecialistOut(Schema):
    user_id: int | None
    name: str
    expiring: int
    effective: int
    renewed_here: int
    renewal_rate: Decimal | None
    premium: Decimal | None = Field(None, description="Renewal premium recorded (renewal.premium only)")


class MeasuresOut(Schema):
    year: int
    month: dt.date = Field(..., description="The month of the breakdowns")
    store_ids: list[int]
    premiums: bool = Field(..., description="Whether amounts are shown (renewal.premium)")
    rows: list[RowOut]
    segments: list[SegmentOut]
    specialists: list[SpecialistOut]
    reasons: list[ReasonOut]


@router.get("/measures", response={200: MeasuresOut, **ERRORS}, operation_id="renewal_measures",
            summary="The monthly renewal table")
def renewal_measures(request: HttpRequest, filters: Query[MeasuresFilter]):
    """The renewal measures page as data: per month, quarter and year the policies sold (count, premium) and the
    cases expiring (renewed here, elsewhere, not renewed, rates) beside their targets; the breakdown month's
    segments, specialists and reasons for loss. A store outside the caller's scope answers 404; a `month` outside
    `year` 422."""
    from .kpis import renewal_measures_page

    require_perm(request.user, Perm.RENEWAL_WORK)
    today = business_date()
    month = dt.date(int(filters.month[:4]), int(filters.month[5:]), 1) if filters.month else None
    year = filters.year or (month.year if month else today.year)
    if month is not None and month.year != year:
        from django.core.exceptions import ValidationError

        raise ValidationError({"month": ["Choose a month of the year asked for."]})
    if month is None:
        month = today.replace(day=1) if year == today.year else dt.date(year, 12 if year < today.year else 1, 1)
    ids = narrowed_store_ids(request.user, filters.store)
    page = renewal_measures_page(user=request.user, store_ids=ids, year=year, month=month, today=today)
    rows = []
    for row in page["rows"]:
        cells = []
        for c in row["cells"]:
            j = c["judge"]
            judge = None if j is None else {
                "target": j.target.value if j.target else None, "target_source": j.target.source if j.target else None,
                "gap": j.gap, "state": j.state,
            }
            cells.append({"period": c["kind"], "start": c["start"], "value": c["value"], "numerator": c["numerator"],
                          "denominator": c["denominator"], "running": c["running"], "judge": judge, "url": c["url"]})
        rows.append({"key": row["key"], "label": str(row["label"]),
                     "measure": row["measure"].code if row["measure"] else None, "cells": cells})
    b = page["breakdowns"]
    return {
        "year": year, "month": month, "store_ids": sorted(ids), "premiums": page["premiums"], "rows": rows,
        "segments": [{**s, "label": str(s["label"]), "trend": [c["rate"] for c in s["trend"]]}
                     for s in page["segments"]],
        "specialists": [{**s, "user_id": s["specialist"]} for s in b["specialists"]],
        "reasons": b["reasons"],
    }
