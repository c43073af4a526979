"""The complaint workflow: record, route, take over, report, handle, pause, return, verify, archive, close.

Stages: new → routed (department; clock running) → handled (returned to CS) → verified → archived, or closed.
Instants are UTC and half-open; working days come from the store's work calendar (org.selectors). Every write is
scoped to the actor's own stores (another store's form answers 404), permission-checked, and writes one
`FeedbackEvent` (the visible history) and one `AuditEvent` (field names only) in one transaction.
Archived and closed forms are read-only.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.followups.services.attempts import followup_attempt_record
from aftercare.followups.services.claiming import TaskAlreadyClaimed, followup_task_claim
from aftercare.followups.services.generation import TaskSubject, followup_task_create
from aftercare.followups.services.rules import followup_rule_get
from aftercare.org.calendar import business_date, working_days_between, working_deadline
from aftercare.org.choices import Role
from aftercare.org.models import Department
from aftercare.org.permissions import Perm, require_perm, role_of
from aftercare.org.scoping import own_store_ids, visible_store_ids

from ..choices import (
    FeedbackAction,
    FeedbackCategory,
    FeedbackKind,
    FeedbackSeverity,
    FeedbackSource,
    FeedbackStatus,
    PauseReason,
    VerificationResult,
)
from ..models import DepartmentDesignee, Feedback, FeedbackEvent
from ..selectors import complaint_settings_get, escalation_tier_list, feedback_default_department
from ..signals import feedback_recorded
from .common import (
    _CLOCK_FIELDS,
    _US,
    _check_may_handle,
    _check_may_work,
    _clock_derive,
    _clock_start,
    _ensure_status,
    _event,
    _is_supervisor_level,
    _iso,
    _locked,
    _may_receive,
    _next_escalation,
    _notify,
    _step,
    _text,
    _tier_recipients,
)


def feedback_create(
    *,
    actor,
    customer,
    kind: str,
    source: str,
    category: str,
    text: str,
    severity: str = FeedbackSeverity.NORMAL,
    department: Department | None = None,
    vehicle=None,
    person_concerned: str = "",
    followup_task=None,
    answer_sheet=None,
    call_log=None,
) -> Feedback:
    """Record what a customer said, in the customer's store (one of the actor's own stores).

    Without `department` the store's department for the category is used. When that department has a designee
    the form is routed to them at once (clock started, designee notified); otherwise it waits as `new` for
    customer service to route it. Runs in the caller's transaction when there is one (a follow-up call saves its
    sheet and the feedback together).
    """
    store_id = customer.store_id
    text = _text(text)
    if store_id not in own_store_ids(actor):
        raise PermissionDenied
    errors = {}
    if kind not in FeedbackKind.values:
        errors["kind"] = [_("Choose complaint, grievance or suggestion.")]
    if source not in FeedbackSource.values:
        errors["source"] = [_("Unknown source.")]
    if category not in FeedbackCategory.values:
        errors["category"] = [_("Choose a category.")]
    if severity not in FeedbackSeverity.values:
        errors["severity"] = [_("Unknown severity.")]
    if not text:
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
        severity=severity,
        department=department,
        person_concerned=_text(person_concerned),
        customer=customer,
        vehicle=vehicle,
        text=text,
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
        FeedbackEvent.objects.create(
            store_id=store_id,
            feedback=feedback,
            actor=actor,
            action=FeedbackAction.CREATED,
            to_status=FeedbackStatus.NEW,
            detail={"kind": kind, "severity": severity, "source": source},
        )
        designee = (
            DepartmentDesignee.objects.filter(department=department).select_related("user").first()
            if department is not None
            else None
        )
        if designee is not None and _may_receive(designee.user, store_id):
            feedback = _route_apply(
                Feedback.objects.select_for_update().get(pk=feedback.pk), actor=actor, assignee=designee.user
            )
        feedback_recorded.send(sender=Feedback, feedback=feedback, actor=actor)
    return feedback


def _route_apply(
    fb: Feedback,
    *,
    actor,
    department: Department | None = None,
    assignee=None,
    note: str = "",
    action: str | None = None,
) -> Feedback:
    """Send a new form to a department's person (the clock starts at the time the customer spoke), or hand a
    routed one to another person (the deadline stays)."""
    errors = {}
    if department is not None and department.store_id != fb.store_id:
        errors["department"] = [gettext("Choose a department of the form's store.")]
    department = department or fb.department
    if assignee is None:
        if department is None:
            errors["department"] = [gettext("Choose the responsible department.")]
        else:
            designee = DepartmentDesignee.objects.filter(department=department).select_related("user").first()
            assignee = designee.user if designee is not None else None
            if assignee is None:
                errors["assignee"] = [gettext("The department has no designee; choose the person to handle it.")]
    if assignee is not None and not _may_receive(assignee, fb.store_id):
        errors["assignee"] = [gettext("This person cannot handle complaint forms of this store.")]
    if (
        not errors
        and fb.status == FeedbackStatus.ROUTED
        and fb.assignee_id == assignee.pk
        and (department is None or fb.department_id == department.pk)
    ):
        errors["assignee"] = [gettext("The form is already with this person.")]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    first = fb.status == FeedbackStatus.NEW
    before = fb.status
    previous = fb.assignee_id
    fb.department = department
    fb.assignee = assignee
    changed = ["assignee", "department"]
    if first:
        fb.status = FeedbackStatus.ROUTED
        fb.routed_at = now
        _clock_start(fb, fb.created_at)
        changed += ["status", "routed_at", *_CLOCK_FIELDS]
    fb.full_clean()
    fb.save()
    if action is None:
        action = FeedbackAction.ROUTED if first else FeedbackAction.REASSIGNED
    _event(
        fb,
        actor=actor,
        action=action,
        from_status=before,
        to_status=fb.status,
        note=_text(note),
        detail={
            "assignee": assignee.pk,
            "previous_assignee": previous,
            "department": department.pk if department else None,
            "deadline_at": _iso(fb.deadline_at),
        },
        changed=changed,
    )
    if assignee.pk != getattr(actor, "pk", None):
        _notify(fb, [assignee], "routed", sms=True)
    return fb


def feedback_route(*, actor, feedback, department: Department | None = None, assignee=None, note: str = "") -> Feedback:
    """Send a new form to a department (its designee unless `assignee` is given), or reassign a routed one."""
    require_perm(actor, Perm.FEEDBACK_ROUTE)
    with transaction.atomic():
        fb = _locked(actor, feedback)
        _ensure_status(fb, FeedbackStatus.NEW, FeedbackStatus.ROUTED)
        return _route_apply(fb, actor=actor, department=department, assignee=assignee, note=note)


def feedback_take_over(*, actor, feedback, note: str = "") -> Feedback:
    """A supervisor-level user makes themselves the handler (the deadline stays)."""
    require_perm(actor, Perm.FEEDBACK_HANDLE)
    if not _is_supervisor_level(actor):
        raise PermissionDenied(Perm.FEEDBACK_HANDLE)
    with transaction.atomic():
        fb = _locked(actor, feedback)
        _ensure_status(fb, FeedbackStatus.NEW, FeedbackStatus.ROUTED)
        return _route_apply(fb, actor=actor, assignee=actor, note=note, action=FeedbackAction.TAKEN_OVER)


def feedback_report_to_supervisor(*, actor, feedback, note: str) -> Feedback:
    """The handler cannot solve it: the store's supervisors (else its managers) are told; event `reported`."""
    require_perm(actor, Perm.FEEDBACK_HANDLE)
    note = _text(note)
    with transaction.atomic():
        fb = _locked(actor, feedback)
        _ensure_status(fb, FeedbackStatus.ROUTED)
        if fb.assignee_id != actor.pk:
            raise PermissionDenied(Perm.FEEDBACK_HANDLE)
        if not note:
            raise ValidationError({"note": [gettext("Say why you cannot solve it.")]})
        recipients = []
        for role in (Role.SUPERVISOR, Role.STORE_MANAGER):
            recipients = [u for u in _tier_recipients(fb.store_id, role) if u.pk != actor.pk]
            if recipients:
                break
        if not recipients:
            raise ValidationError({"note": [gettext("The store has no supervisor or manager to report to.")]})
        _event(
            fb,
            actor=actor,
            action=FeedbackAction.REPORTED,
            from_status=fb.status,
            to_status=fb.status,
            note=note,
            detail={"recipients": [u.pk for u in recipients]},
        )
        _notify(fb, recipients, "reported", sms=True, extra={"note": note[:80]})
    return fb


# ---- handling --------------------------------------------------------------------------------------------------


def feedback_handling_save(
    *, actor, feedback, actions_taken: str | None = None, root_cause: str | None = None, result: str | None = None
) -> Feedback:
    """Save a draft of the handling (None leaves a field as it is). The handler or a supervisor."""
    with transaction.atomic():
        fb = _locked(actor, feedback)
        _check_may_handle(actor, fb)
        _ensure_status(fb, FeedbackStatus.ROUTED)
        changed = []
        for name, value in (("actions_taken", actions_taken), ("root_cause", root_cause), ("result", result)):
            if value is not None and _text(value) != getattr(fb, name):
                setattr(fb, name, _text(value))
                changed.append(name)
        if not changed:
            return fb
        _step(
            fb,
            actor=actor,
            action=FeedbackAction.NOTE,
            before=fb.status,
            detail={"fields": changed},
            changed=changed,
        )
    return fb


def feedback_pause(*, actor, feedback, reason: str, note: str = "") -> Feedback:
    """Stop the clock while waiting for parts or for the customer (routed forms only)."""
    with transaction.atomic():
        fb = _locked(actor, feedback)
        _check_may_work(actor, fb)
        _ensure_status(fb, FeedbackStatus.ROUTED)
        if reason not in PauseReason.values:
            raise ValidationError({"reason": [gettext("Choose what the form is waiting for.")]})
        if fb.paused_at is not None:
            raise ValidationError({"status": [gettext("The clock is already paused.")]})
        fb.paused_at = timezone.now()
        fb.pause_reason = reason
        _step(
            fb,
            actor=actor,
            action=FeedbackAction.PAUSED,
            before=fb.status,
            note=_text(note),
            detail={"reason": reason},
            changed=["paused_at", "pause_reason"],
        )
    return fb


def _resume_apply(fb: Feedback, *, actor, now: dt.datetime, note: str = "") -> int:
    """Restart the clock: deadline, warning and next escalation move by the working days in
    (pause date, resume date]. Returns those days."""
    days = working_days_between(fb.store_id, business_date(fb.paused_at), business_date(now))
    before = fb.deadline_at
    if days:
        fb.deadline_at = working_deadline(fb.store_id, fb.deadline_at - _US, days)
        _clock_derive(fb)
        if fb.warned_at is not None and fb.warn_at is not None and fb.warn_at > now:
            fb.warned_at = None  # a new deadline gets its own warning
    fb.paused_working_days += days
    paused_since, reason = fb.paused_at, fb.pause_reason
    fb.paused_at, fb.pause_reason = None, ""
    _step(
        fb,
        actor=actor,
        action=FeedbackAction.RESUMED,
        before=fb.status,
        note=note,
        detail={
            "reason": reason,
            "paused_at": _iso(paused_since),
            "working_days": days,
            "deadline_before": _iso(before),
            "deadline_at": _iso(fb.deadline_at),
        },
        changed=["paused_at", "pause_reason", "paused_working_days", *_CLOCK_FIELDS],
    )
    return days


def feedback_resume(*, actor, feedback, note: str = "") -> Feedback:
    """Restart a paused clock; the deadline moves by the working days it was paused."""
    with transaction.atomic():
        fb = _locked(actor, feedback)
        _check_may_work(actor, fb)
        _ensure_status(fb, FeedbackStatus.ROUTED)
        if fb.paused_at is None:
            raise ValidationError({"status": [gettext("The clock is not paused.")]})
        _resume_apply(fb, actor=actor, now=timezone.now(), note=_text(note))
    return fb


def _verification_task_create(fb: Feedback, *, actor, event: FeedbackEvent, now: dt.datetime):
    """The CS verification call for a returned form (rule VERIFY of the store; one task per return)."""
    from aftercare.followups.choices import SubjectType, Trigger

    subject = TaskSubject(SubjectType.FEEDBACK_RETURN, event.pk, fb.customer_id, fb.vehicle_id, now)
    rule = followup_rule_get(store=fb.store, trigger=Trigger.FEEDBACK_RETURNED)
    made = followup_task_create(actor=actor, rule=rule, subjects=[subject], detail={"feedback": fb.pk})
    return made[0] if made else None


def feedback_return(*, actor, feedback, actions_taken: str, root_cause: str, result: str) -> Feedback:
    """The department returns the handled form to customer service: a verification call task is created."""
    require_perm(actor, Perm.FEEDBACK_HANDLE)
    with transaction.atomic():
        fb = _locked(actor, feedback)
        _check_may_handle(actor, fb)
        _ensure_status(fb, FeedbackStatus.ROUTED)
        errors = {}
        if not _text(actions_taken):
            errors["actions_taken"] = [gettext("Describe what was done.")]
        if not _text(result):
            errors["result"] = [gettext("Give the result.")]
        if errors:
            raise ValidationError(errors)
        now = timezone.now()
        if fb.paused_at is not None:
            _resume_apply(fb, actor=actor, now=now)
        fb.actions_taken, fb.root_cause, fb.result = _text(actions_taken), _text(root_cause), _text(result)
        fb.status = FeedbackStatus.HANDLED
        fb.returned_at, fb.returned_by, fb.returned_by_role = now, actor, role_of(actor) or ""
        fb.returned_in_time = now < fb.deadline_at
        if fb.first_returned_at is None:
            fb.first_returned_at, fb.first_returned_in_time = now, fb.returned_in_time
        fb.next_escalation_at = None
        fb.full_clean()
        fb.save()
        event = _event(
            fb,
            actor=actor,
            action=FeedbackAction.RETURNED,
            from_status=FeedbackStatus.ROUTED,
            to_status=FeedbackStatus.HANDLED,
            detail={"in_time": fb.returned_in_time, "reopen_count": fb.reopen_count},
            changed=[
                "actions_taken",
                "root_cause",
                "result",
                "status",
                "returned_at",
                "returned_by",
                "returned_in_time",
            ],
        )
        task = _verification_task_create(fb, actor=actor, event=event, now=now)
        fb.verification_task = task
        fb.save(update_fields=["verification_task", "updated_at"])
        FeedbackEvent.objects.create(
            store_id=fb.store_id,
            feedback=fb,
            actor=actor,
            action=FeedbackAction.VERIFICATION_TASK,
            from_status=fb.status,
            to_status=fb.status,
            detail={"task": task.pk, "due_at": _iso(task.due_at), "status": task.status},
        )
        if fb.created_by_id != actor.pk:
            _notify(fb, [fb.created_by], "returned", deadline_at=task.due_at if task else None)
    return fb


# ---- verification, archive, close -----------------------------------------------------------------------------


def _escalate_now(fb: Feedback, *, actor, now: dt.datetime, reason: str, cache: dict | None = None) -> int:
    """Move the form up one tier (the top tier is told again when there is none above); returns people told."""
    tiers = escalation_tier_list(store_id=fb.store_id)
    level = min(fb.escalation_level + 1, len(tiers))
    _lv, role, _days = tiers[level - 1]
    before = fb.escalation_level
    fb.escalation_level, fb.escalated_at = level, now
    fb.next_escalation_at = _next_escalation(fb.store_id, fb.deadline_at, level, tiers)
    fb.save(update_fields=["escalation_level", "escalated_at", "next_escalation_at", "updated_at"])
    recipients = _tier_recipients(fb.store_id, role, cache)
    _event(
        fb,
        actor=actor,
        action=FeedbackAction.ESCALATED,
        from_status=fb.status,
        to_status=fb.status,
        detail={
            "level": level,
            "from_level": before,
            "role": role,
            "reason": reason,
            "recipients": [u.pk for u in recipients],
        },
        changed=["escalation_level", "escalated_at", "next_escalation_at"],
    )
    return _notify(fb, recipients, "escalated", sms=True)


def feedback_verify(*, actor, feedback, satisfied: bool, notes: str = "", duration_s: int | None = None) -> Feedback:
    """Record the verification call: satisfied → verified; not satisfied → back to the department (reopened).

    The call is logged on the form's verification task (claimed for the actor when open), so the call log and
    return-visit measures see it. Reopening `reopen_escalation_count` times escalates the form at once.
    """
    from aftercare.followups.choices import ACTIVE_STATUSES, CallOutcome, TaskStatus

    require_perm(actor, Perm.FEEDBACK_VERIFY)
    notes = _text(notes)
    with transaction.atomic():
        fb = _locked(actor, feedback)
        _ensure_status(fb, FeedbackStatus.HANDLED)
        if not satisfied and not notes:
            raise ValidationError({"notes": [gettext("Write down why the customer is not satisfied.")]})
        call_id = None
        task = fb.verification_task
        if task is not None and task.status in ACTIVE_STATUSES:
            if not (task.status == TaskStatus.CLAIMED and task.claimed_by_id == actor.pk):
                try:
                    task = followup_task_claim(actor=actor, task_id=task.pk)
                except TaskAlreadyClaimed:
                    raise ValidationError({"task": [gettext("Another specialist holds this verification call.")]})
            call = followup_attempt_record(
                actor=actor, task=task, outcome=CallOutcome.COMPLETED, notes=notes, duration_s=duration_s
            )
            call_id = call.pk
        now = timezone.now()
        before = fb.status
        if satisfied:
            fb.status = FeedbackStatus.VERIFIED
            fb.verified_at, fb.verified_by = now, actor
            fb.verification_result = VerificationResult.SATISFIED
            _step(
                fb,
                actor=actor,
                action=FeedbackAction.VERIFIED,
                before=before,
                note=notes,
                detail={"call": call_id},
                changed=["status", "verified_at", "verified_by", "verification_result"],
            )
            return fb
        fb.status = FeedbackStatus.ROUTED
        fb.verification_result = VerificationResult.NOT_SATISFIED
        fb.reopen_count += 1
        _clock_start(fb, now)
        _step(
            fb,
            actor=actor,
            action=FeedbackAction.REOPENED,
            before=before,
            note=notes,
            detail={"call": call_id, "reopen_count": fb.reopen_count, "deadline_at": _iso(fb.deadline_at)},
            changed=["status", "verification_result", "reopen_count", *_CLOCK_FIELDS],
        )
        _notify(fb, [fb.assignee], "reopened", sms=True)
        if fb.reopen_count >= complaint_settings_get(store_id=fb.store_id).reopen_escalation_count:
            _escalate_now(fb, actor=actor, now=now, reason="reopened")
    return fb


def feedback_archive(*, actor, feedback, note: str = "") -> Feedback:
    """The CS manager archives a verified form (read-only from then on). A handled form whose verification call
    ended unreachable, refused or without consent may be archived too, with a note saying why."""
    from aftercare.followups.choices import TaskStatus

    require_perm(actor, Perm.FEEDBACK_ARCHIVE)
    note = _text(note)
    with transaction.atomic():
        fb = _locked(actor, feedback)
        _ensure_status(fb, FeedbackStatus.VERIFIED, FeedbackStatus.HANDLED)
        if fb.status == FeedbackStatus.HANDLED:
            task = fb.verification_task
            ended = (TaskStatus.UNREACHABLE, TaskStatus.REFUSED, TaskStatus.NO_CONSENT)
            if task is None or task.status not in ended:
                raise ValidationError({"status": [gettext("Make the verification call before archiving.")]})
            if not note:
                raise ValidationError({"note": [gettext("Say why the form is archived without verification.")]})
        before = fb.status
        fb.status = FeedbackStatus.ARCHIVED
        fb.archived_at, fb.archived_by = timezone.now(), actor
        _step(
            fb,
            actor=actor,
            action=FeedbackAction.ARCHIVED,
            before=before,
            note=note,
            changed=["status", "archived_at", "archived_by"],
        )
    return fb


def feedback_close(*, actor, feedback, note: str) -> Feedback:
    """Close a new or routed form without action (a suggestion noted, a duplicate); the note is required."""
    require_perm(actor, Perm.FEEDBACK_ARCHIVE)
    note = _text(note)
    with transaction.atomic():
        fb = _locked(actor, feedback)
        _ensure_status(fb, FeedbackStatus.NEW, FeedbackStatus.ROUTED)
        if not note:
            raise ValidationError({"note": [gettext("Say why the form is closed.")]})
        before = fb.status
        fb.status = FeedbackStatus.CLOSED
        fb.paused_at, fb.pause_reason, fb.next_escalation_at = None, "", None
        _step(
            fb,
            actor=actor,
            action=FeedbackAction.CLOSED,
            before=before,
            note=note,
            changed=["status", "paused_at", "pause_reason", "next_escalation_at"],
        )
    return fb
