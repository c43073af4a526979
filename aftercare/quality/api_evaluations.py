"""API of dealer evaluation (docs/quality.md, "Dealer evaluation"), mounted at /api/quality: the group's forms, the
visits of the stores in scope (start, score, photo, submit), and their corrective actions (add, done, verify).

Another store's (or group's) id answers 404, a role without the permission 403, bad input 422 naming the field
(`items.<n>.<field>` for a form's item)."""

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from aftercare.core.api import ERRORS, MAX_ID, Pagination, PathId, require_valid_form
from aftercare.org.calendar import business_date
from aftercare.org.permissions import Perm, require_perm

from . import selectors_evaluations as selectors
from .forms_evaluations import VisitPhotoForm
from .services import evaluations

router = Router(tags=["quality"])
ActionFilterCode = Literal[selectors.ACTION_FILTERS]  # type: ignore[valid-type]


class EvaluationItemIn(Schema):
    section_zh: str = Field("", max_length=100)
    section_en: str = Field("", max_length=100)
    text_zh: str = Field(..., min_length=1, max_length=300)
    text_en: str = Field("", max_length=300)
    max_score: int = Field(..., ge=1, le=1000)


class EvaluationFormIn(Schema):
    code: str = Field(..., min_length=1, max_length=20)
    name_zh: str = Field(..., min_length=1, max_length=200)
    name_en: str = Field("", max_length=200)
    items: list[EvaluationItemIn] = Field(..., min_length=1, max_length=500)


class EvaluationItemOut(Schema):
    id: int
    position: int
    section_zh: str
    section_en: str
    text_zh: str
    text_en: str
    max_score: int


class EvaluationFormOut(Schema):
    id: int
    code: str
    version: int
    name_zh: str
    name_en: str
    status: str
    items: list[EvaluationItemOut]

    @staticmethod
    def resolve_items(obj):
        return list(obj.items.all())


class VisitIn(Schema):
    store_id: int = Field(..., ge=1, le=MAX_ID)
    visited_on: dt.date
    form_id: int | None = Field(None, ge=1, le=MAX_ID, description="an active form; default: the group's active one")


class VisitScoreIn(Schema):
    score: int = Field(..., ge=0, le=1000)
    note: str = Field("", max_length=500)


class VisitSubmitIn(Schema):
    summary: str = Field("", max_length=5000)


class VisitScoreOut(Schema):
    item_id: int
    score: int
    note: str


class VisitPhotoOut(Schema):
    id: int
    item_id: int | None
    caption: str


class CorrectiveActionOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    visit_id: int
    item_id: int | None
    finding: str
    action: str
    owner_id: int
    due_on: dt.date
    status: str
    done_note: str
    verify_note: str


class VisitOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    form_id: int
    evaluator_id: int
    visited_on: dt.date
    status: str
    score: Decimal | None
    summary: str
    scores: list[VisitScoreOut]
    photos: list[VisitPhotoOut]
    actions: list[CorrectiveActionOut]

    @staticmethod
    def resolve_scores(obj):
        return list(obj.scores.all())

    @staticmethod
    def resolve_photos(obj):
        return list(obj.photos.all())

    @staticmethod
    def resolve_actions(obj):
        return list(obj.actions.select_related("store"))


class VisitListOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    form_id: int
    visited_on: dt.date
    status: str
    score: Decimal | None


class CorrectiveActionIn(Schema):
    finding: str = Field(..., min_length=1, max_length=5000)
    action: str = Field(..., min_length=1, max_length=5000)
    owner_id: int = Field(..., ge=1, le=MAX_ID)
    due_on: dt.date
    item_id: int | None = Field(None, ge=1, le=MAX_ID)


class CorrectiveActionDoneIn(Schema):
    note: str = Field(..., min_length=1, max_length=5000)


class CorrectiveActionVerifyIn(Schema):
    accepted: bool
    note: str = Field("", max_length=5000)


class CorrectiveActionFilter(Schema):
    status: ActionFilterCode | None = None


def _visit(request, visit_id: int):
    return selectors.store_visit_get(user=request.user, visit_id=visit_id)


@router.get("/evaluation-forms", response={200: list[EvaluationFormOut], **ERRORS},
            operation_id="quality_evaluation_form_list")
@paginate(Pagination)
def form_list(request: HttpRequest):
    """The evaluation forms of the caller's group, with their items."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    return selectors.evaluation_form_list(user=request.user)


@router.post("/evaluation-forms", response={201: EvaluationFormOut, **ERRORS},
             operation_id="quality_evaluation_form_create")
def form_create(request: HttpRequest, payload: EvaluationFormIn):
    """A new draft version of form `code` (`quality.manage` with `quality.group`)."""
    form = evaluations.evaluation_form_create(
        actor=request.user, code=payload.code.strip().upper(), name_zh=payload.name_zh, name_en=payload.name_en,
        items=[i.dict() for i in payload.items])
    return Status(201, selectors.evaluation_form_list(user=request.user).get(pk=form.pk))


@router.post("/evaluation-forms/{form_id}/activate", response={200: EvaluationFormOut, **ERRORS},
             operation_id="quality_evaluation_form_activate")
def form_activate(request: HttpRequest, form_id: PathId):
    """Make a draft the active version of its code (the one active before is retired); 422 if not a draft."""
    require_perm(request.user, Perm.QUALITY_MANAGE)
    require_perm(request.user, Perm.QUALITY_GROUP)
    row = selectors.evaluation_form_list(user=request.user).filter(pk=form_id).first()
    if row is None:
        raise Http404
    evaluations.evaluation_form_activate(actor=request.user, form=row)
    return selectors.evaluation_form_list(user=request.user).get(pk=form_id)


@router.get("/visits", response={200: list[VisitListOut], **ERRORS}, operation_id="quality_visit_list")
@paginate(Pagination)
def visit_list(request: HttpRequest):
    """The evaluation visits of the stores in scope, newest first."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    return selectors.store_visit_list(user=request.user)


@router.post("/visits", response={201: VisitOut, **ERRORS}, operation_id="quality_visit_start")
def visit_start(request: HttpRequest, payload: VisitIn):
    """Start a draft visit of one of the caller's stores (`quality.evaluate`); another store answers 422 on `store`."""

    form = None
    if payload.form_id is not None:
        form = selectors.evaluation_form_list(user=request.user).filter(pk=payload.form_id).first()
        if form is None:
            raise ValidationError({"form_id": ["Unknown evaluation form."]})
    visit = evaluations.store_visit_start(actor=request.user, store_id=payload.store_id,
                                         visited_on=payload.visited_on, form=form)
    return Status(201, _visit(request, visit.pk))


@router.get("/visits/{visit_id}", response={200: VisitOut, **ERRORS}, operation_id="quality_visit_get")
def visit_get(request: HttpRequest, visit_id: PathId):
    """One visit of the stores in scope with its scores, photos and actions; another store's id answers 404."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    return _visit(request, visit_id)


@router.put("/visits/{visit_id}/scores/{item_id}", response={200: VisitOut, **ERRORS},
            operation_id="quality_visit_score")
def visit_score(request: HttpRequest, visit_id: PathId, item_id: PathId, payload: VisitScoreIn):
    """Set one item's score on a draft visit (0 … the item's maximum, else 422 on `score`)."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    visit = _visit(request, visit_id)
    evaluations.store_visit_score(actor=request.user, visit=visit, item_id=item_id, score=payload.score,
                                  note=payload.note)
    return _visit(request, visit_id)


@router.post("/visits/{visit_id}/photos", response={201: VisitPhotoOut, **ERRORS},
             operation_id="quality_visit_photo_add")
def visit_photo_add(request: HttpRequest, visit_id: PathId, image: File[UploadedFile], caption: Form[str] = "",
                    item_id: Form[int | None] = None):
    """Attach a photo (an image of at most 10 MB) to a draft visit, of one item or of the visit."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    visit = _visit(request, visit_id)
    form = VisitPhotoForm(data={"caption": caption, "item": item_id or ""}, files={"image": image},
                          items=visit.form.items.all())
    require_valid_form(form)
    photo = evaluations.store_visit_photo_add(actor=request.user, visit=visit, image=form.cleaned_data["image"],
                                              caption=form.cleaned_data["caption"], item_id=form.cleaned_data["item"])
    return Status(201, photo)


@router.post("/visits/{visit_id}/submit", response={200: VisitOut, **ERRORS}, operation_id="quality_visit_submit")
def visit_submit(request: HttpRequest, visit_id: PathId, payload: VisitSubmitIn):
    """Submit a draft visit whose every item is scored (else 422 on `scores`); its score is set."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    visit = _visit(request, visit_id)
    evaluations.store_visit_submit(actor=request.user, visit=visit, summary=payload.summary)
    return _visit(request, visit_id)


@router.post("/visits/{visit_id}/actions", response={201: CorrectiveActionOut, **ERRORS},
             operation_id="quality_action_create")
def action_create(request: HttpRequest, visit_id: PathId, payload: CorrectiveActionIn):
    """A finding and its corrective action, owned by a person of the visited store, due on a day."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    visit = _visit(request, visit_id)
    row = evaluations.corrective_action_create(
        actor=request.user, visit=visit, finding=payload.finding, action=payload.action, owner_id=payload.owner_id,
        due_on=payload.due_on, item_id=payload.item_id)
    return Status(201, selectors.corrective_action_get(user=request.user, action_id=row.pk))


@router.get("/actions", response={200: list[CorrectiveActionOut], **ERRORS}, operation_id="quality_action_list")
@paginate(Pagination)
def action_list(request: HttpRequest, filters: Query[CorrectiveActionFilter]):
    """The corrective actions in scope (and those the caller owns), soonest due first."""
    return selectors.corrective_action_list(user=request.user, status=filters.status or "", today=business_date())


@router.post("/actions/{action_id}/done", response={200: CorrectiveActionOut, **ERRORS},
             operation_id="quality_action_done")
def action_done(request: HttpRequest, action_id: PathId, payload: CorrectiveActionDoneIn):
    """The store reports an open action done (its owner or a manager of the store)."""
    action = selectors.corrective_action_get(user=request.user, action_id=action_id)
    evaluations.corrective_action_done(actor=request.user, action=action, note=payload.note)
    return selectors.corrective_action_get(user=request.user, action_id=action_id)


@router.post("/actions/{action_id}/verify", response={200: CorrectiveActionOut, **ERRORS},
             operation_id="quality_action_verify")
def action_verify(request: HttpRequest, action_id: PathId, payload: CorrectiveActionVerifyIn):
    """The evaluator verifies an action reported done, or reopens it (a reason in `note` required)."""
    action = selectors.corrective_action_get(user=request.user, action_id=action_id)
    evaluations.corrective_action_verify(actor=request.user, action=action, accepted=payload.accepted,
                                         note=payload.note)
    return selectors.corrective_action_get(user=request.user, action_id=action_id)
