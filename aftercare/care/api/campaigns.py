"""The campaign and recall routes of the care API (added to the care router in `api/__init__.py`, so under
`/api/care`). Another store's id answers 404, a role without `care.manage` 403, bad input 422 naming the field."""

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from aftercare.core.api import ERRORS, ConflictOut, PathId
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from .. import selectors
from ..choices import CampaignChannel, CampaignPurpose, CampaignState, CustomerClass
from ..services import campaigns as svc

router = Router(tags=["care"])

PurposeCode = Literal[tuple(CampaignPurpose.values)]  # type: ignore[valid-type]
ChannelCode = Literal[tuple(CampaignChannel.values)]  # type: ignore[valid-type]
ClassCode = Literal[tuple(CustomerClass.values)]  # type: ignore[valid-type]


class SegmentIn(Schema):
    classes: list[ClassCode] = []
    model: str = Field("", max_length=100)
    vehicle_age_min: int | None = Field(None, ge=0, le=50)
    vehicle_age_max: int | None = Field(None, ge=0, le=50)
    last_visit_after: dt.date | None = None
    last_visit_before: dt.date | None = None
    mileage_min: int | None = Field(None, ge=0, le=2_000_000)
    mileage_max: int | None = Field(None, ge=0, le=2_000_000)
    spend_min: Decimal | None = Field(None, ge=0, le=Decimal("9999999999.99"))
    churn_risk_min: Decimal | None = Field(None, ge=0, le=1)


class SegmentCountIn(Schema):
    purpose: PurposeCode = CampaignPurpose.MARKETING
    store_ids: list[int] = Field([], description="Empty: every store of the caller's")
    segment: SegmentIn = SegmentIn()


class CountOut(Schema):
    count: int


class CampaignIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    description: str = Field("", max_length=2000)
    purpose: PurposeCode = CampaignPurpose.MARKETING
    event_start: dt.date
    event_end: dt.date
    store_ids: list[int] = Field([], description="Empty: every store of the caller's")
    segment: SegmentIn = SegmentIn()
    channels: list[ChannelCode] = [CampaignChannel.CALL]
    calls_days_before: int = Field(14, ge=0, le=90)
    second_wave_days: int = Field(3, ge=0, le=30)
    sms_text: str = Field("", max_length=300)


class CampaignPatchIn(Schema):
    """A draft campaign's changes: only the fields given change (`segment`, when given, replaces the segment)."""

    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=2000)
    purpose: PurposeCode | None = None
    event_start: dt.date | None = None
    event_end: dt.date | None = None
    store_ids: list[int] | None = Field(None, min_length=1, description="The campaign's stores (the caller's own)")
    segment: SegmentIn | None = None
    channels: list[ChannelCode] | None = None
    calls_days_before: int | None = Field(None, ge=0, le=90)
    second_wave_days: int | None = Field(None, ge=0, le=30)
    sms_text: str | None = Field(None, max_length=300)


class CampaignOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    name: str
    description: str
    purpose: str
    event_start: dt.date
    event_end: dt.date
    segment: dict
    channels: list[str]
    calls_days_before: int
    second_wave_days: int
    state: str
    launched_at: dt.datetime | None


class LaunchOut(Schema):
    targets_made: int
    campaign: CampaignOut


class CampaignSpecialistOut(Schema):
    user_id: int
    specialist: str
    reached: int
    invited: int
    declined: int
    came: int
    revenue: Decimal


class ResultsOut(Schema):
    targeted: int
    reached: int
    invited: int
    declined: int
    unreachable: int
    came: int
    revenue: Decimal
    specialists: list[CampaignSpecialistOut]


class RecallOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    code: str
    title: str
    started_on: dt.date
    total: int
    done: int
    unreachable: int


class RecallVehicleOut(Schema):
    row_number: int
    vin: str = Field(..., alias="vehicle.vin")
    state: str
    done_at: dt.datetime | None


class RecallDetailOut(RecallOut):
    vehicles: list[RecallVehicleOut] = Field(..., alias="vehicle_rows")


def _stores(request, store_ids: list[int]) -> list[int]:
    own = own_store_ids(request.user)
    return store_ids or sorted(own)


def _segment(segment: SegmentIn) -> dict:
    return segment.dict()


@router.post("/segments/count", response={200: CountOut, **ERRORS}, operation_id="care_segment_count")
def segment_count(request: HttpRequest, payload: SegmentCountIn):
    """How many customers of the caller's stores match the segment (one COUNT query)."""
    require_perm(request.user, Perm.CARE_MANAGE)
    wanted = _stores(request, payload.store_ids)
    if not set(wanted) <= own_store_ids(request.user):
        raise ValidationError({"store_ids": [_("You may only choose your own stores.")]})
    return {"count": svc.segment_count(store_ids=wanted, segment=_segment(payload.segment), purpose=payload.purpose)}


@router.get("/campaigns", response={200: list[CampaignOut], **ERRORS}, operation_id="care_campaign_list")
def campaign_list(request: HttpRequest):
    """The campaigns of the stores in scope, newest event first."""
    require_perm(request.user, Perm.CARE_MANAGE)
    return list(selectors.campaign_list(user=request.user)[:500])


@router.post("/campaigns", response={201: CampaignOut, **ERRORS}, operation_id="care_campaign_create")
def campaign_create(request: HttpRequest, payload: CampaignIn):
    """A draft campaign of the caller's stores."""
    require_perm(request.user, Perm.CARE_MANAGE)
    data = payload.dict()
    data["segment"] = _segment(payload.segment)
    stores = _stores(request, data.pop("store_ids"))
    campaign = svc.campaign_save(actor=request.user, store_ids=stores, **data)
    return Status(201, selectors.campaign_get(user=request.user, pk=campaign.pk))


@router.patch("/campaigns/{campaign_id}", response={200: CampaignOut, 409: ConflictOut, **ERRORS},
              operation_id="care_campaign_update")
def campaign_update(request: HttpRequest, campaign_id: PathId, payload: CampaignPatchIn):
    """Change a draft campaign (the fields given). A launched campaign answers 409; another store's, 404."""
    require_perm(request.user, Perm.CARE_MANAGE)
    campaign = selectors.campaign_get(user=request.user, pk=campaign_id)
    if campaign.state != CampaignState.DRAFT:
        return Status(409, {"detail": _("This campaign has been launched; it can no longer be changed.")})
    data = payload.dict(exclude_unset=True)
    if "segment" in data:
        data["segment"] = _segment(payload.segment) if payload.segment is not None else {}
    if any(v is None for k, v in data.items() if k != "segment"):
        raise ValidationError({k: [_("This field cannot be empty.")] for k, v in data.items() if v is None})
    svc.campaign_update(actor=request.user, campaign=campaign, store_ids=data.pop("store_ids", None), **data)
    return selectors.campaign_get(user=request.user, pk=campaign_id)


@router.get("/campaigns/{campaign_id}", response={200: CampaignOut, **ERRORS}, operation_id="care_campaign_detail")
def campaign_detail(request: HttpRequest, campaign_id: PathId):
    require_perm(request.user, Perm.CARE_MANAGE)
    return selectors.campaign_get(user=request.user, pk=campaign_id)


@router.post("/campaigns/{campaign_id}/launch", response={200: LaunchOut, **ERRORS},
             operation_id="care_campaign_launch")
def campaign_launch(request: HttpRequest, campaign_id: PathId):
    """Launch a draft: one invitation call per targeted customer, loyal customers first. Again: nothing more."""
    require_perm(request.user, Perm.CARE_MANAGE)
    campaign = selectors.campaign_get(user=request.user, pk=campaign_id)
    made = svc.campaign_launch(actor=request.user, campaign=campaign)
    return {"targets_made": made, "campaign": selectors.campaign_get(user=request.user, pk=campaign_id)}


@router.get("/campaigns/{campaign_id}/results", response={200: ResultsOut, **ERRORS},
            operation_id="care_campaign_results")
def campaign_results(request: HttpRequest, campaign_id: PathId):
    """targeted, reached, invited, declined, unreachable, came (a counted repair order in the window), revenue,
    and the same per specialist."""
    require_perm(request.user, Perm.CARE_MANAGE)
    campaign = selectors.campaign_get(user=request.user, pk=campaign_id)
    out = selectors.campaign_results(user=request.user, campaign=campaign)
    out["specialists"] = selectors.campaign_results_by_specialist(user=request.user, campaign=campaign)
    return out


@router.get("/recalls", response={200: list[RecallOut], **ERRORS}, operation_id="care_recall_list")
def recall_list(request: HttpRequest):
    require_perm(request.user, Perm.CARE_MANAGE)
    return list(selectors.recall_list(user=request.user)[:500])


@router.get("/recalls/{recall_id}", response={200: RecallDetailOut, **ERRORS}, operation_id="care_recall_detail")
def recall_detail(request: HttpRequest, recall_id: PathId):
    require_perm(request.user, Perm.CARE_MANAGE)
    recall = selectors.recall_get(user=request.user, pk=recall_id)
    recall.vehicle_rows = list(selectors.recall_vehicles(user=request.user, recall=recall)[:5000])
    return recall

