"""Writes for a call attempt on a claimed task: the call log row, the task's next state, the unreachable
notice, and the feedback said on the call (sent to the apps above)."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.choices import RepairKind
from aftercare.customers.models import RepairOrder
from aftercare.org.scoping import own_store_ids

from ..choices import (
    NO_CONTACT_OUTCOMES,
    CallDirection,
    CallOutcome,
    FollowupKind,
    LetterChannel,
    LetterKind,
    SubjectType,
    TaskStatus,
)
from ..models import CallLog, FollowupTask, LetterLog
from ..selectors import store_followup_settings_get
from ..signals import call_feedback_given
from .claiming import _check_may_call
from .generation import followup_task_complete_chain


def _held_task(actor, task: FollowupTask) -> FollowupTask:
    """Re-read `task` locked, and check `actor` holds it."""
    locked = FollowupTask.objects.select_for_update().select_related("rule", "customer", "store").get(pk=task.pk)
    if locked.store_id not in own_store_ids(actor):
        raise PermissionDenied
    _check_may_call(actor, locked)
    if locked.status != TaskStatus.CLAIMED or locked.claimed_by_id != actor.pk:
        raise ValidationError({"task": _("Claim the task before calling.")})
    return locked


def followup_attempt_record(
    *,
    actor,
    task: FollowupTask,
    outcome: str,
    notes: str = "",
    call_back_at: dt.datetime | None = None,
    duration_s: int | None = None,
    feedback: dict | None = None,
) -> CallLog:
    """Log one call on a task the actor holds and move the task on.

    completed / refused close the task; wrong number, or the store's maximum of no-answer / busy
    attempts, makes it unreachable and queues an SMS (or a letter when there is no mobile);
    call back reschedules it to `call_back_at`. `feedback` (kind, category, text, department): a complaint,
    grievance or suggestion said on the call, recorded with the call in the same transaction.
    """
    if outcome not in CallOutcome.values:
        raise ValidationError({"outcome": _("Unknown outcome.")})
    now = timezone.now()
    if outcome == CallOutcome.CALL_BACK:
        if call_back_at is None:
            raise ValidationError({"call_back_at": _("Give the time to call back.")})
        if timezone.is_naive(call_back_at):
            raise ValidationError({"call_back_at": _("Give the time with its time zone.")})
        if call_back_at <= now:
            raise ValidationError({"call_back_at": _("The call-back time must be in the future.")})
    elif call_back_at is not None:
        raise ValidationError({"call_back_at": _("Only a call-back outcome takes a call-back time.")})
    if duration_s is not None and not 0 <= duration_s <= 24 * 3600:
        raise ValidationError({"duration_s": _("Duration must be between 0 and 86400 seconds.")})
    with transaction.atomic():
        task = _held_task(actor, task)
        call = CallLog(
            store_id=task.store_id,
            task=task,
            customer_id=task.customer_id,
            handler=actor,
            direction=CallDirection.OUTBOUND,
            called_at=now,
            duration_s=duration_s,
            outcome=outcome,
            call_back_at=call_back_at,
            notes=notes or "",
        )
        call.full_clean()
        call.save()
        task.attempts += 1
        task.outcome = outcome
        changed = ["attempts", "outcome"]
        if outcome in (CallOutcome.COMPLETED, CallOutcome.REFUSED):
            task.status = TaskStatus.COMPLETED if outcome == CallOutcome.COMPLETED else TaskStatus.REFUSED
            task.completed_at, task.completed_by = now, actor
            changed += ["status", "completed_at", "completed_by"]
        elif outcome == CallOutcome.CALL_BACK:
            task.next_call_at = call_back_at
            changed.append("next_call_at")
        elif (
            outcome == CallOutcome.WRONG_NUMBER
            or _no_contact_count(task) >= store_followup_settings_get(store_id=task.store_id).max_attempts
        ):
            task.status = TaskStatus.UNREACHABLE
            task.completed_at, task.completed_by = now, actor
            changed += ["status", "completed_at", "completed_by"]
        task.save(update_fields=[*changed, "updated_at"])
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=call, detail={"outcome": outcome})
        if task.status == TaskStatus.UNREACHABLE:
            _unreachable_notice_create(actor=actor, task=task)
        if task.status == TaskStatus.COMPLETED:
            followup_task_complete_chain(task=task)
        if feedback:
            _call_feedback_create(actor=actor, task=task, call=call, feedback=feedback)
    return call


_REPAIR_CATEGORY = {
    RepairKind.BODY: "body",
    RepairKind.INSURANCE_JOB: "body",
    RepairKind.PAINT: "paint",
    RepairKind.WASH: "wash",
}


def _task_category(task: FollowupTask) -> str:
    """The feedback category a task's call is about: sales for a delivery, else the repair order's kind."""
    if task.subject_type == SubjectType.DELIVERY or task.kind == FollowupKind.SSI:
        return "sales"
    if task.subject_type == SubjectType.REPAIR_ORDER:
        kind = RepairOrder.objects.filter(pk=task.subject_id).values_list("kind", flat=True).first()
        return _REPAIR_CATEGORY.get(kind, "mechanical")
    return "mechanical"


def _call_feedback_create(*, actor, task: FollowupTask, call: CallLog | None, feedback: dict, sheet=None) -> None:
    """Ask the apps above (the complaints app) to record what was said on a follow-up call, in this transaction."""
    call_feedback_given.send(
        sender=CallLog,
        actor=actor,
        call=call,
        task=task,
        sheet=sheet,
        inbound=False,
        customer=task.customer,
        vehicle=task.vehicle,
        feedback={**feedback, "category": feedback.get("category") or _task_category(task)},
    )


def _no_contact_count(task: FollowupTask) -> int:
    return CallLog.objects.filter(task=task, outcome__in=NO_CONTACT_OUTCOMES).count()


def _unreachable_notice_create(*, actor, task: FollowupTask) -> LetterLog:
    """The seed's rule: an unreachable customer gets an SMS, or a letter when there is no mobile."""
    customer = task.customer
    with translation.override(settings.LANGUAGE_CODE):
        text = gettext(
            "Dear customer, %(store)s tried to call you about your recent visit. "
            "If you have any feedback, please call us back."
        ) % {"store": task.store.name}
    letter = LetterLog.objects.create(
        store_id=task.store_id,
        task=task,
        customer=customer,
        kind=LetterKind.UNREACHABLE_NOTICE,
        channel=LetterChannel.SMS if customer.mobile else LetterChannel.LETTER,
        handler=actor,
        text=text,
    )
    audit_event_record(actor=actor, action=AuditAction.CREATE, obj=letter)
    if letter.channel == LetterChannel.SMS:
        transaction.on_commit(lambda: _letter_sms_send(letter.pk))
    return letter


def _letter_sms_send(letter_id: int) -> None:
    from .logs import letter_sms_send

    letter_sms_send(letter_id=letter_id)
