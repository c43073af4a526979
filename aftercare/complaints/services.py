"""Writes for feedback (complaints, grievances, suggestions). The full complaint workflow comes later."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.scoping import own_store_ids, visible_store_ids
from aftercare.core.services import audit_event_record
from aftercare.org.models import Department

from .choices import CATEGORY_DEPARTMENT, FeedbackCategory, FeedbackKind, FeedbackSource
from .models import Feedback


def feedback_default_department(*, store_id: int, category: str) -> Department | None:
    """The store's department that handles `category` (None when the store has no such department)."""
    kind = CATEGORY_DEPARTMENT.get(category)
    if kind is None:
        return None
    return Department.objects.filter(store_id=store_id, kind=kind).first()


def feedback_create(
    *,
    actor,
    customer,
    kind: str,
    source: str,
    category: str,
    text: str,
    department: Department | None = None,
    vehicle=None,
    person_concerned: str = "",
    followup_task=None,
    answer_sheet=None,
    call_log=None,
) -> Feedback:
    """Record what a customer said, in the customer's store (one of the actor's own stores).

    Without `department` the store's department for the category is used. Runs in the caller's
    transaction when there is one (a follow-up call saves its sheet and the feedback together).
    """
    store_id = customer.store_id
    text = (text or "").replace("\x00", "")
    if store_id not in own_store_ids(actor):
        raise PermissionDenied
    errors = {}
    if kind not in FeedbackKind.values:
        errors["kind"] = [_("Choose complaint, grievance or suggestion.")]
    if source not in FeedbackSource.values:
        errors["source"] = [_("Unknown source.")]
    if category not in FeedbackCategory.values:
        errors["category"] = [_("Choose a category.")]
    if not (text or "").strip():
        errors["text"] = [_("Write down what the customer said.")]
    if department is not None and department.store_id != store_id:
        errors["department"] = [_("Choose a department of the customer's store.")]
    if vehicle is not None and vehicle.store_id not in visible_store_ids(actor):
        errors["vehicle"] = [_("This vehicle is not the customer's.")]
    for name, row in (("followup_task", followup_task), ("answer_sheet", answer_sheet), ("call_log", call_log)):
        if row is not None and row.store_id != store_id:
            errors[name] = [_("This record belongs to another store.")]
    if errors:
        raise ValidationError(errors)
    if department is None:
        department = feedback_default_department(store_id=store_id, category=category)
    feedback = Feedback(
        store_id=store_id,
        kind=kind,
        source=source,
        category=category,
        department=department,
        person_concerned=(person_concerned or "").strip(),
        customer=customer,
        vehicle=vehicle,
        text=text.strip(),
        followup_task=followup_task,
        answer_sheet=answer_sheet,
        call_log=call_log,
        created_by=actor,
    )
    with transaction.atomic():
        feedback.full_clean()
        feedback.save()
        audit_event_record(
            actor=actor, action=AuditAction.CREATE, obj=feedback, detail={"kind": kind, "source": source}
        )
    return feedback


# ---- first-time fix (repeat repairs) — owned by the first-time-fix helper; keep below this line ------------------
