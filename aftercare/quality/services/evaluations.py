"""Dealer evaluation: the group's evaluation forms (drafted, activated, retired by their next version), the visits of
the itinerant service staff (scores per item, photos, submit), and the corrective actions of a visit (an owner in
the store, a due date; done by the store, verified by the evaluator or reopened).

Forms are the quality engineer's (`quality.manage` with `quality.group`); visits and actions are written in the
stores on the evaluator's staff record (`quality.evaluate`); the store marks its own actions done (the action's
owner, whatever the role, or a manager of the store).
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import may_report_action_done, own_store_ids
from aftercare.org.selectors import works_in_store

from ..choices import ActionStatus, EvaluationFormStatus, VisitStatus
from ..evaluation_models import (
    CorrectiveAction,
    EvaluationForm,
    EvaluationItem,
    StoreVisit,
    VisitPhoto,
    VisitScore,
)

ITEM_FIELDS = ("section_zh", "section_en", "text_zh", "text_en", "max_score")


def _group_id(actor) -> int:
    staff = getattr(actor, "staff", None)
    if staff is None:
        raise PermissionDenied("no staff record")
    return staff.group_id


# ---- forms ---------------------------------------------------------------------------------------------------------


def evaluation_form_create(*, actor, code: str, name_zh: str, name_en: str = "", items: list[dict]) -> EvaluationForm:
    """A new draft version of form `code` (version 1, or one above the latest), with its items in order.

    `items`: dicts of `ITEM_FIELDS`. An item's error names its place, e.g. `items.2.max_score`."""
    require_perm(actor, Perm.QUALITY_MANAGE)
    require_perm(actor, Perm.QUALITY_GROUP)
    group_id = _group_id(actor)
    if not items:
        raise ValidationError({"items": [_("A form needs at least one item.")]})
    with transaction.atomic():
        latest = EvaluationForm.objects.filter(group_id=group_id, code=code).aggregate(v=Max("version"))["v"] or 0
        form = EvaluationForm(
            group_id=group_id, code=code, version=latest + 1, name_zh=name_zh, name_en=name_en, created_by=actor
        )
        form.full_clean()
        form.save()
        errors: dict[str, list] = {}
        rows = []
        for position, values in enumerate(items, start=1):
            unknown = set(values) - set(ITEM_FIELDS)
            if unknown:
                errors[f"items.{position}"] = [_("Unknown field: %(names)s.") % {"names": ", ".join(sorted(unknown))}]
                continue
            item = EvaluationItem(form=form, position=position, **values)
            try:
                item.full_clean(exclude=["form"])
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    errors[f"items.{position}.{field}"] = messages
            rows.append(item)
        if errors:
            raise ValidationError(errors)
        EvaluationItem.objects.bulk_create(rows)
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=form, detail={"items": len(rows)})
    return form


def evaluation_form_activate(*, actor, form: EvaluationForm) -> EvaluationForm:
    """Make a draft the active version of its code; the version active before is retired."""
    require_perm(actor, Perm.QUALITY_MANAGE)
    require_perm(actor, Perm.QUALITY_GROUP)
    if form.group_id != _group_id(actor):
        raise Http404
    if form.status != EvaluationFormStatus.DRAFT:
        raise ValidationError({"status": [_("Only a draft form can be activated.")]})
    with transaction.atomic():
        EvaluationForm.objects.filter(
            group_id=form.group_id, code=form.code, status=EvaluationFormStatus.ACTIVE
        ).update(status=EvaluationFormStatus.RETIRED)
        form.status = EvaluationFormStatus.ACTIVE
        form.save(update_fields=["status"])
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=form, changed_fields=["status"])
    return form


# ---- visits --------------------------------------------------------------------------------------------------------


def store_visit_start(*, actor, store_id: int, visited_on: dt.date, form: EvaluationForm | None = None) -> StoreVisit:
    """A draft visit of one of the evaluator's stores with the group's active form (or the one given, if active)."""
    require_perm(actor, Perm.QUALITY_EVALUATE)
    if store_id not in own_store_ids(actor):
        raise ValidationError({"store": [_("You do not visit this store.")]})
    group_id = _group_id(actor)
    if form is None:
        form = EvaluationForm.objects.filter(group_id=group_id, status=EvaluationFormStatus.ACTIVE).first()
    if form is None or form.group_id != group_id or form.status != EvaluationFormStatus.ACTIVE:
        raise ValidationError({"form": [_("Choose an active evaluation form.")]})
    with transaction.atomic():
        visit = StoreVisit(store_id=store_id, form=form, evaluator=actor, visited_on=visited_on)
        visit.full_clean()
        visit.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=visit, store_id=store_id)
    return visit


def _own_draft(actor, visit: StoreVisit) -> None:
    require_perm(actor, Perm.QUALITY_EVALUATE)
    if visit.store_id not in own_store_ids(actor):
        raise Http404
    if visit.status != VisitStatus.DRAFT:
        raise ValidationError({"status": [_("The visit is submitted; it can no longer change.")]})


def store_visit_scores_set(*, actor, visit: StoreVisit, scores: dict[int, tuple[int, str]]) -> list[VisitScore]:
    """Set the scores of several items of a draft visit at once, `{item id: (score, note)}` (0 … each item's
    maximum): all or none, one audit event. An item not on the form is named on `item`, a score out of range on
    `score` (each bad one its own message)."""
    _own_draft(actor, visit)
    items = {i.pk: i for i in EvaluationItem.objects.filter(form_id=visit.form_id, pk__in=list(scores))}
    errors: dict[str, list] = {}
    for item_id, (score, _note) in scores.items():
        item = items.get(item_id)
        if item is None:
            errors.setdefault("item", []).append(_("This item is not on the visit's form."))
        elif score is None or not 0 <= score <= item.max_score:
            errors.setdefault("score", []).append(_("Give a score from 0 to %(max)s.") % {"max": item.max_score})
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        existing = {row.item_id: row for row in VisitScore.objects.filter(visit=visit, item_id__in=list(items))}
        new, changed, rows = [], [], []
        for item_id, (score, note) in scores.items():
            row = existing.get(item_id)
            if row is None:
                row = VisitScore(visit=visit, item=items[item_id], score=score, note=note)
                new.append(row)
            elif (row.score, row.note) != (score, note):
                row.score, row.note = score, note
                changed.append(row)
            row.full_clean(exclude=["visit", "item"], validate_unique=False, validate_constraints=False)
            rows.append(row)
        VisitScore.objects.bulk_create(new)
        VisitScore.objects.bulk_update(changed, ["score", "note"])
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=visit, store_id=visit.store_id,
                           changed_fields=["scores"],
                           detail={"items": sorted(items[i].position for i in scores)})
    return rows


def store_visit_score(*, actor, visit: StoreVisit, item_id: int, score: int, note: str = "") -> VisitScore:
    """Set one item's score on a draft visit (0 … the item's maximum): `store_visit_scores_set` of one."""
    return store_visit_scores_set(actor=actor, visit=visit, scores={item_id: (score, note)})[0]


def store_visit_photo_add(*, actor, visit: StoreVisit, image, caption: str = "", item_id: int | None = None):
    """Attach a photo to a draft visit (of one item of its form, or of the visit)."""
    _own_draft(actor, visit)
    if item_id is not None and not EvaluationItem.objects.filter(form_id=visit.form_id, pk=item_id).exists():
        raise ValidationError({"item": [_("This item is not on the visit's form.")]})
    with transaction.atomic():
        photo = VisitPhoto(visit=visit, item_id=item_id, image=image, caption=caption)
        photo.full_clean()
        photo.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=visit, store_id=visit.store_id,
                           changed_fields=["photos"])
    return photo


def visit_score_percent(points: int, maximum: int) -> Decimal:
    """Points over the form's maximum in %, to 0.1, half up."""
    return (Decimal(points) * 100 / Decimal(maximum)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def store_visit_submit(*, actor, visit: StoreVisit, summary: str = "") -> StoreVisit:
    """Submit a visit whose every item is scored; its score is the points over the form's maximum, in %."""
    _own_draft(actor, visit)
    items = EvaluationItem.objects.filter(form_id=visit.form_id)
    missing = list(items.exclude(pk__in=visit.scores.values("item_id")).values_list("position", flat=True))
    if missing:
        raise ValidationError({"scores": [_("Score every item first; missing: %(items)s.") % {
            "items": ", ".join(str(p) for p in missing)}]})
    points = visit.scores.aggregate(s=Sum("score"))["s"] or 0
    maximum = items.aggregate(m=Sum("max_score"))["m"]
    with transaction.atomic():
        visit.score = visit_score_percent(points, maximum)
        visit.summary = summary
        visit.status = VisitStatus.SUBMITTED
        visit.submitted_at = timezone.now()
        visit.full_clean()
        visit.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=visit, store_id=visit.store_id,
                           changed_fields=["status", "score", "summary"])
    return visit


# ---- corrective actions ----------------------------------------------------------------------------------------------


def corrective_action_create(
    *, actor, visit: StoreVisit, finding: str, action: str, owner_id: int, due_on: dt.date, item_id: int | None = None
) -> CorrectiveAction:
    """A finding of the visit and the corrective action a person of the visited store owns, due on a day."""
    require_perm(actor, Perm.QUALITY_EVALUATE)
    if visit.store_id not in own_store_ids(actor):
        raise Http404
    errors: dict[str, list] = {}
    if not works_in_store(user_id=owner_id, store_id=visit.store_id):
        errors["owner"] = [_("The owner must work in the visited store.")]
    if due_on < visit.visited_on:
        errors["due_on"] = [_("The due date cannot be before the visit.")]
    if item_id is not None and not EvaluationItem.objects.filter(form_id=visit.form_id, pk=item_id).exists():
        errors["item"] = [_("This item is not on the visit's form.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        row = CorrectiveAction(store_id=visit.store_id, visit=visit, item_id=item_id, finding=finding, action=action,
                               owner_id=owner_id, due_on=due_on)
        row.full_clean()
        row.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=row, store_id=row.store_id)
    return row


def corrective_action_done(*, actor, action: CorrectiveAction, note: str) -> CorrectiveAction:
    """The store reports an open action done (its owner, or a manager of the store), saying what was done."""
    if action.store_id not in own_store_ids(actor):
        raise Http404
    if not may_report_action_done(actor, owner_id=action.owner_id, store_id=action.store_id):
        raise PermissionDenied("not the owner")
    if action.status != ActionStatus.OPEN:
        raise ValidationError({"status": [_("Only an open action can be reported done.")]})
    if not (note or "").strip():
        raise ValidationError({"done_note": [_("Say what was done.")]})
    with transaction.atomic():
        action.status = ActionStatus.DONE
        action.done_at = timezone.now()
        action.done_note = note
        action.full_clean()
        action.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=action, store_id=action.store_id,
                           changed_fields=["status", "done_note"])
    return action


def corrective_action_verify(*, actor, action: CorrectiveAction, accepted: bool, note: str = "") -> CorrectiveAction:
    """The evaluator checks an action reported done: verified, or reopened with the reason."""
    require_perm(actor, Perm.QUALITY_EVALUATE)
    if action.store_id not in own_store_ids(actor):
        raise Http404
    if action.status != ActionStatus.DONE:
        raise ValidationError({"status": [_("Only an action reported done can be verified.")]})
    if not accepted and not (note or "").strip():
        raise ValidationError({"verify_note": [_("Say why the action is reopened.")]})
    with transaction.atomic():
        if accepted:
            action.status = ActionStatus.VERIFIED
            action.verified_at = timezone.now()
        else:
            action.status = ActionStatus.OPEN
            action.done_at = None
        action.verify_note = note
        action.full_clean()
        action.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=action, store_id=action.store_id,
                           changed_fields=["status", "verify_note"])
    return action
