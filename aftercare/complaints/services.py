"""Writes for feedback: the complaint workflow (routing, the clock, escalation, handling, verification, archive).

Stages: new → routed (department; clock running) → handled (returned to CS) → verified → archived, or closed.
Instants are UTC and half-open; working days come from the store's work calendar (org.selectors). Every write is
scoped to the actor's own stores (another store's form answers 404), permission-checked, and writes one
`FeedbackEvent` (the visible history) and one `AuditEvent` (field names only) in one transaction.
Archived and closed forms are read-only.
"""

import datetime as dt
import io
import logging
import os
import unicodedata
import zipfile
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.exports import XLSX_CONTENT_TYPE, staff_name, xlsx_bytes
from aftercare.core.services import audit_event_record, notification_send, notifications_deliver
from aftercare.customers.models import RepairOrder
from aftercare.customers.validators import clean_text
from aftercare.org.choices import Role
from aftercare.org.models import Department, Staff, Store
from aftercare.org.permissions import Perm, has_perm, require_perm, role_of
from aftercare.org.scoping import own_store_ids, visible_store_ids
from aftercare.org.selectors import (
    business_date,
    business_day_start,
    working_days_between,
    working_deadline,
)

from .choices import (
    CATEGORY_DEPARTMENT,
    DEFAULT_DEADLINE_WORKING_DAYS,
    DEFAULT_ESCALATION_TIERS,
    FINAL_STATUSES,
    SUPERVISOR_LEVEL_ROLES,
    FeedbackAction,
    FeedbackCategory,
    FeedbackKind,
    FeedbackSeverity,
    FeedbackSource,
    FeedbackStatus,
    PauseReason,
    VerificationResult,
)
from .models import (
    ComplaintSettings,
    DeadlinePolicy,
    DepartmentDesignee,
    EscalationTier,
    Feedback,
    FeedbackAttachment,
    FeedbackEvent,
    RepeatRepair,
)
from .selectors import FIRST_TIME_FIX_KINDS

log = logging.getLogger(__name__)

_US = dt.timedelta(microseconds=1)
ESCALATION_ROLES = (Role.SUPERVISOR, Role.STORE_MANAGER, Role.GROUP_ADMIN, Role.CS_MANAGER)
MAX_ATTACHMENTS = 20


# ---- settings and configuration --------------------------------------------------------------------------------


def complaint_settings(store_id: int) -> ComplaintSettings:
    """The store's complaint settings (unsaved defaults when the store has no row)."""
    return ComplaintSettings.objects.filter(store_id=store_id).first() or ComplaintSettings(store_id=store_id)


_SETTINGS_FIELDS = {"warn_hours", "reopen_escalation_count", "repeat_repair_window_days"}


def _store_for_settings(actor, store) -> Store:
    require_perm(actor, Perm.FEEDBACK_SETTINGS)
    store_id = getattr(store, "pk", store)
    if store_id not in own_store_ids(actor):
        raise Http404
    return store if isinstance(store, Store) else Store.objects.get(pk=store_id)


def complaint_settings_update(*, actor, store, **fields) -> ComplaintSettings:
    """Change a store's complaint settings (warning hours, reopen escalation, repeat-repair window, …).

    Forms already routed keep their warning time; new routings use the new values.
    """
    store = _store_for_settings(actor, store)
    unknown = set(fields) - _SETTINGS_FIELDS
    if unknown:
        raise TypeError(f"unknown settings fields: {sorted(unknown)}")
    with transaction.atomic():
        row, _created = ComplaintSettings.objects.select_for_update().get_or_create(store=store)
        for key, value in fields.items():
            setattr(row, key, value)
        row.full_clean()
        row.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=row, store_id=store.pk, changed_fields=fields)
    return row


def feedback_deadline_days(*, store_id: int, kind: str, severity: str) -> int:
    """Working days to handle a form of `kind` × `severity` in the store (default 3)."""
    days = (
        DeadlinePolicy.objects.filter(store_id=store_id, kind=kind, severity=severity)
        .values_list("working_days", flat=True)
        .first()
    )
    return days or DEFAULT_DEADLINE_WORKING_DAYS


def deadline_policy_set(*, actor, store, kind: str, severity: str, working_days: int | None) -> DeadlinePolicy | None:
    """Set the handling deadline of `kind` × `severity` for the store; None removes it (back to the default).

    Forms already routed keep their deadline.
    """
    store = _store_for_settings(actor, store)
    errors = {}
    if kind not in FeedbackKind.values:
        errors["kind"] = [gettext("Choose complaint, grievance or suggestion.")]
    if severity not in FeedbackSeverity.values:
        errors["severity"] = [gettext("Unknown severity.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        row = DeadlinePolicy.objects.filter(store=store, kind=kind, severity=severity).first()
        if working_days is None:
            if row is not None:
                audit_event_record(actor=actor, action=AuditAction.DELETE, obj=row)
                row.delete()
            return None
        if row is None:
            row = DeadlinePolicy(store=store, kind=kind, severity=severity)
        row.working_days = working_days
        row.full_clean()
        created = row.pk is None
        row.save()
        audit_event_record(
            actor=actor,
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            obj=row,
            changed_fields=["working_days"],
        )
    return row


def escalation_tiers(store_id: int) -> list[tuple[int, str, int]]:
    """The store's escalation tiers as (level, role, working days after the deadline), level order.

    The defaults (supervisor at the deadline, store manager one working day later) apply while the store has none.
    """
    rows = list(
        EscalationTier.objects.filter(store_id=store_id)
        .order_by("level")
        .values_list("level", "role", "working_days_after")
    )
    return rows or [tuple(t) for t in DEFAULT_ESCALATION_TIERS]


def escalation_tiers_set(*, actor, store, tiers: list[tuple[int, str, int]]) -> list[EscalationTier]:
    """Replace the store's escalation tiers. Levels run 1..n, roles are escalation roles, days never go down.

    Open forms of the store get their next escalation instant recomputed from the new tiers.
    """
    store = _store_for_settings(actor, store)
    errors: list[str] = []
    cleaned: list[tuple[int, str, int]] = []
    if not tiers:
        errors.append(gettext("Give at least one tier."))
    previous_days = 0
    for i, tier in enumerate(tiers or [], start=1):
        try:
            level, role, days = tier
            level, days = int(level), int(days)
        except (TypeError, ValueError):
            errors.append(gettext("Tier %(n)s: give level, role and working days.") % {"n": i})
            continue
        if level != i:
            errors.append(gettext("Tier %(n)s: levels must run 1, 2, 3 … without gaps.") % {"n": i})
        if role not in ESCALATION_ROLES:
            errors.append(
                gettext("Tier %(n)s: choose supervisor, store manager, group admin or CS manager.") % {"n": i}
            )
        if not 0 <= days <= 30:
            errors.append(gettext("Tier %(n)s: working days must be from 0 to 30.") % {"n": i})
        elif days < previous_days:
            errors.append(gettext("Tier %(n)s: a later tier cannot come before an earlier one.") % {"n": i})
        previous_days = max(previous_days, days)
        cleaned.append((level, role, days))
    if len(cleaned) > 5:
        errors.append(gettext("At most five tiers."))
    if errors:
        raise ValidationError({"tiers": errors})
    with transaction.atomic():
        EscalationTier.objects.filter(store=store).delete()
        rows = [EscalationTier(store=store, level=lv, role=role, working_days_after=d) for lv, role, d in cleaned]
        for row in rows:
            row.full_clean(validate_unique=False)
        rows = EscalationTier.objects.bulk_create(rows)
        audit_event_record(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type=EscalationTier._meta.label_lower,
            store_id=store.pk,
            changed_fields=["level", "role", "working_days_after"],
            detail={"tiers": [list(t) for t in cleaned]},
        )
        for fb in Feedback.objects.select_for_update().filter(store=store, status=FeedbackStatus.ROUTED):
            nxt = _next_escalation(store.pk, fb.deadline_at, fb.escalation_level, cleaned)
            if nxt != fb.next_escalation_at:
                Feedback.objects.filter(pk=fb.pk).update(next_escalation_at=nxt, updated_at=timezone.now())
    return rows


def _may_receive(user, store_id: int) -> bool:
    """Whether `user` may be the handler of a form of the store."""
    return (
        user is not None and user.is_active and has_perm(user, Perm.FEEDBACK_HANDLE) and store_id in own_store_ids(user)
    )


def department_designee_set(*, actor, department: Department, user) -> DepartmentDesignee | None:
    """Choose who receives a department's complaint forms (None removes the designee)."""
    store = _store_for_settings(actor, department.store_id)
    with transaction.atomic():
        row = DepartmentDesignee.objects.filter(department=department).first()
        if user is None:
            if row is not None:
                audit_event_record(actor=actor, action=AuditAction.DELETE, obj=row)
                row.delete()
            return None
        staff = Staff.objects.filter(user=user, stores=store).first()
        if staff is None or not _may_receive(user, store.pk):
            raise ValidationError({"user": [gettext("Choose a person of this store who may handle complaint forms.")]})
        created = row is None
        if created:
            row = DepartmentDesignee(store=store, department=department)
        row.user = user
        row.full_clean()
        row.save()
        audit_event_record(
            actor=actor,
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            obj=row,
            changed_fields=["user"],
        )
    return row


def feedback_default_department(*, store_id: int, category: str) -> Department | None:
    """The store's department that handles `category` (None when the store has no such department)."""
    kind = CATEGORY_DEPARTMENT.get(category)
    if kind is None:
        return None
    return Department.objects.filter(store_id=store_id, kind=kind).first()


# ---- helpers: locking, history, the clock, notifications -------------------------------------------------------


def _locked(actor, feedback) -> Feedback:
    """Re-read `feedback` locked, within the actor's own stores (404 otherwise). Call inside a transaction."""
    pk = getattr(feedback, "pk", feedback)
    try:
        return Feedback.objects.select_for_update().get(pk=pk, store_id__in=own_store_ids(actor))
    except (Feedback.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def _ensure_open(fb: Feedback) -> None:
    if fb.status in FINAL_STATUSES:
        raise ValidationError({"status": [gettext("This form is archived or closed; it can no longer be changed.")]})


def _ensure_status(fb: Feedback, *allowed: str) -> None:
    _ensure_open(fb)
    if fb.status not in allowed:
        raise ValidationError(
            {"status": [gettext("Not possible at this stage (%(stage)s).") % {"stage": fb.get_status_display()}]}
        )


def _is_supervisor_level(user) -> bool:
    return role_of(user) in SUPERVISOR_LEVEL_ROLES


def _check_may_handle(actor, fb: Feedback) -> None:
    """The handler (assignee) or a supervisor-level user with feedback.handle."""
    require_perm(actor, Perm.FEEDBACK_HANDLE)
    if fb.assignee_id != actor.pk and not _is_supervisor_level(actor):
        raise PermissionDenied(Perm.FEEDBACK_HANDLE)


def _check_may_work(actor, fb: Feedback) -> None:
    """The handler, a supervisor, or customer service (who route forms): pauses and documents."""
    if has_perm(actor, Perm.FEEDBACK_ROUTE):
        return
    _check_may_handle(actor, fb)


def _text(value) -> str:
    return (value or "").replace("\x00", "").strip()


def _event(
    fb: Feedback,
    *,
    actor,
    action: str,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    detail: dict | None = None,
    changed=(),
    audit_action: str = AuditAction.UPDATE,
) -> FeedbackEvent:
    """One row of the form's visible history and its audit event."""
    person = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    event = FeedbackEvent.objects.create(
        store_id=fb.store_id,
        feedback=fb,
        actor=person,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note or "",
        detail=detail or {},
    )
    audit_event_record(
        actor=person,
        action=audit_action,
        obj=fb,
        changed_fields=changed,
        detail={"event": action, "event_id": event.pk},
    )
    return event


def _step(
    fb: Feedback, *, actor, action: str, before: str, note: str = "", detail: dict | None = None, changed=()
) -> FeedbackEvent:
    """Validate and save the form, then record the step from status `before` (history + audit)."""
    fb.full_clean()
    fb.save()
    return _event(
        fb,
        actor=actor,
        action=action,
        from_status=before,
        to_status=fb.status,
        note=note,
        detail=detail,
        changed=changed,
    )


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _due_date(deadline_at: dt.datetime) -> dt.date:
    """The last day of a half-open deadline (the business date before `deadline_at`)."""
    return business_date(deadline_at - _US)


def _tier_instant(store_id: int, deadline_at: dt.datetime, days_after: int) -> dt.datetime:
    """When a tier fires: at the deadline, or the end of the `days_after`-th working day after the due date."""
    if days_after <= 0:
        return deadline_at
    return working_deadline(store_id, deadline_at - _US, days_after)


def _next_escalation(store_id: int, deadline_at, level: int, tiers=None) -> dt.datetime | None:
    """The instant of tier `level + 1`, or None when there is no further tier."""
    if deadline_at is None:
        return None
    for lv, _role, days in tiers if tiers is not None else escalation_tiers(store_id):
        if lv == level + 1:
            return _tier_instant(store_id, deadline_at, days)
    return None


def _clock_start(fb: Feedback, start: dt.datetime) -> None:
    """Deadline, warning and next escalation counted from `start` (the escalation level is kept)."""
    days = feedback_deadline_days(store_id=fb.store_id, kind=fb.kind, severity=fb.severity)
    fb.deadline_at = working_deadline(fb.store_id, start, days)
    _clock_derive(fb)
    fb.warned_at = None


def _clock_derive(fb: Feedback) -> None:
    warn_hours = complaint_settings(fb.store_id).warn_hours
    fb.warn_at = fb.deadline_at - dt.timedelta(hours=warn_hours) if warn_hours else None
    fb.next_escalation_at = _next_escalation(fb.store_id, fb.deadline_at, fb.escalation_level)


_CLOCK_FIELDS = ["deadline_at", "warn_at", "warned_at", "next_escalation_at"]


def _link(fb: Feedback) -> str:
    try:
        return reverse("complaints:detail", args=[fb.pk])
    except NoReverseMatch:
        return f"/complaints/{fb.pk}/"


def _notify(fb: Feedback, recipients, kind: str, *, sms: bool = False, extra: dict | None = None) -> int:
    """Notify `recipients` about the form, in the site language; returns how many were notified."""
    recipients = [u for u in recipients if u is not None and u.is_active]
    if not recipients:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        values = {
            "id": fb.pk,
            "kind": fb.get_kind_display(),
            "customer": fb.customer.name,
            "due": _due_date(fb.deadline_at).isoformat() if fb.deadline_at else "—",
            **(extra or {}),
        }
        titles = {
            "routed": gettext("New %(kind)s form #%(id)s for you: %(customer)s, due %(due)s"),
            "due_soon": gettext("%(kind)s form #%(id)s (%(customer)s) is due %(due)s"),
            "escalated": gettext("Overdue: %(kind)s form #%(id)s (%(customer)s) was due %(due)s"),
            "reported": gettext("%(kind)s form #%(id)s (%(customer)s) reported to you: %(note)s"),
            "returned": gettext("%(kind)s form #%(id)s (%(customer)s) returned: make the verification call"),
            "reopened": gettext("%(kind)s form #%(id)s (%(customer)s) reopened: the customer is not satisfied"),
        }
        title = titles[kind] % values
        body = gettext("What the customer said: %(text)s") % {"text": fb.text[:1000]}
        if fb.deadline_at:
            body += "\n" + gettext("Handle it by the end of %(due)s.") % values
    notification_send(
        store_id=fb.store_id, recipients=recipients, title=title, body=body, link=_link(fb), email=True, sms=sms
    )
    return len({u.pk for u in recipients})


def _tier_recipients(store_id: int, role: str, cache: dict | None = None) -> list:
    """Active staff of `role` in the store (group admins: of the store's group)."""
    key = (store_id, role)
    if cache is not None and key in cache:
        return cache[key]
    qs = Staff.objects.filter(role=role, user__is_active=True).select_related("user")
    if role == Role.GROUP_ADMIN:
        qs = qs.filter(group_id=Store.objects.filter(pk=store_id).values("group_id")[:1])
    else:
        qs = qs.filter(stores=store_id)
    users = [s.user for s in qs.distinct()]
    if cache is not None:
        cache[key] = users
    return users


# ---- creating and routing --------------------------------------------------------------------------------------


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


# extension → (content type, sniff)
def _is_pdf(head: bytes, path) -> bool:
    return head.startswith(b"%PDF-")


def _is_png(head: bytes, path) -> bool:
    return head.startswith(b"\x89PNG\r\n\x1a\n")


def _is_jpeg(head: bytes, path) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def _is_webp(head: bytes, path) -> bool:
    return len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _zip_with(prefix: str):
    def check(head: bytes, read) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(read())) as zf:
                names = set(zf.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
        return "[Content_Types].xml" in names and any(n.startswith(prefix) for n in names)

    return check


def _is_text(head: bytes, read) -> bool:
    data = read()
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_ALLOWED = {
    "pdf": ("application/pdf", _is_pdf),
    "jpg": ("image/jpeg", _is_jpeg),
    "jpeg": ("image/jpeg", _is_jpeg),
    "png": ("image/png", _is_png),
    "webp": ("image/webp", _is_webp),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _zip_with("word/")),
    "xlsx": (XLSX_CONTENT_TYPE, _zip_with("xl/")),
    "txt": ("text/plain; charset=utf-8", _is_text),
}


def _upload_check(upload) -> tuple[str, str]:
    """The clean file name and content type of an upload, or ValidationError on `file`."""
    if upload is None:
        raise ValidationError({"file": [gettext("Choose a file.")]})
    name = os.path.basename(str(getattr(upload, "name", "") or "").replace("\\", "/")).replace("\x00", "").strip()
    size = getattr(upload, "size", None)
    limit = settings.COMPLAINT_UPLOAD_MAX_BYTES
    if size is None or size <= 0:
        raise ValidationError({"file": [gettext("The file is empty.")]})
    if size > limit:
        raise ValidationError(
            {"file": [gettext("The file is too big (at most %(mb)s MB).") % {"mb": round(limit / 1024 / 1024, 1)}]}
        )
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in _ALLOWED:
        raise ValidationError(
            {"file": [gettext("This file type is not allowed (PDF, JPG, PNG, WEBP, DOCX, XLSX or TXT).")]}
        )
    content_type, sniff = _ALLOWED[ext]

    def read() -> bytes:
        upload.seek(0)
        data = upload.read()
        upload.seek(0)
        return data

    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not sniff(head, read):
        raise ValidationError({"file": [gettext("The file's content is not a .%(ext)s file.") % {"ext": ext}]})
    stem = name.rsplit(".", 1)[0][:190] or "file"
    return f"{stem}.{ext}", content_type


def feedback_attachment_add(*, actor, feedback, upload) -> FeedbackAttachment:
    """Attach a handling document. Size, type (by extension and by content) and count are checked; errors name
    the field `file` and nothing is stored."""
    with transaction.atomic():
        fb = _locked(actor, feedback)
        _check_may_work(actor, fb)
        _ensure_open(fb)
        name, content_type = _upload_check(upload)
        if FeedbackAttachment.objects.filter(feedback=fb).count() >= MAX_ATTACHMENTS:
            raise ValidationError({"file": [gettext("At most %(n)s documents per form.") % {"n": MAX_ATTACHMENTS}]})
        row = FeedbackAttachment(
            store_id=fb.store_id,
            feedback=fb,
            name=name,
            content_type=content_type,
            size=upload.size,
            uploaded_by=actor,
        )
        upload.name = name
        row.file = upload
        row.full_clean(exclude=["file"])
        try:
            row.save()
            _event(
                fb,
                actor=actor,
                action=FeedbackAction.ATTACHMENT,
                from_status=fb.status,
                to_status=fb.status,
                detail={"attachment": row.pk, "name": name, "size": row.size},
                changed=["attachments"],
            )
        except Exception:
            if row.file and row.file.name:
                row.file.storage.delete(row.file.name)
            raise
    return row


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
    from aftercare.followups.services.generation import TaskSubject, followup_task_create
    from aftercare.followups.services.rules import followup_rule_get

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
            _notify(fb, [fb.created_by], "returned")
    return fb


# ---- verification, archive, close -----------------------------------------------------------------------------


def _escalate_now(fb: Feedback, *, actor, now: dt.datetime, reason: str, cache: dict | None = None) -> int:
    """Move the form up one tier (the top tier is told again when there is none above); returns people told."""
    tiers = escalation_tiers(fb.store_id)
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
    from aftercare.followups.services.attempts import followup_attempt_record
    from aftercare.followups.services.claiming import TaskAlreadyClaimed, followup_task_claim

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
        if fb.reopen_count >= complaint_settings(fb.store_id).reopen_escalation_count:
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


# ---- PDF -------------------------------------------------------------------------------------------------------


def feedback_pdf(*, actor, feedback) -> bytes:
    """The complaint form, its handling, documents and full history as a PDF (WeasyPrint, Noto Sans CJK SC)."""
    from django.template.loader import render_to_string
    from weasyprint import HTML

    from .selectors import feedback_get

    require_perm(actor, Perm.FEEDBACK_VIEW)
    fb = feedback_get(user=actor, pk=getattr(feedback, "pk", feedback))
    events = list(fb.events.select_related("actor__staff"))
    attachments = list(fb.attachments.select_related("uploaded_by__staff"))
    html = render_to_string(
        "complaints/pdf/feedback.html",
        {
            "fb": fb,
            "events": events,
            "attachments": attachments,
            "due_date": _due_date(fb.deadline_at) if fb.deadline_at else None,
            "printed_at": timezone.now(),
        },
    )
    pdf = HTML(string=html).write_pdf()
    audit_event_record(actor=actor, action=AuditAction.EXPORT, obj=fb, detail={"format": "pdf"})
    return pdf


# ---- the job: due-soon warnings and escalation ------------------------------------------------------------------


def _warn_one(pk: int, now: dt.datetime) -> tuple[bool, int]:
    """Send the due-soon warning of one form once (conditional UPDATE wins the row)."""
    from django.db.models import Q

    due = Q(
        pk=pk,
        status=FeedbackStatus.ROUTED,
        paused_at__isnull=True,
        warned_at__isnull=True,
        warn_at__lte=now,
    )
    if Feedback.objects.filter(due).update(warned_at=now, updated_at=now) != 1:
        return False, 0
    fb = Feedback.objects.select_related("customer", "assignee").get(pk=pk)
    if fb.deadline_at <= now:  # already overdue: escalation speaks instead
        return False, 0
    _event(
        fb,
        actor=None,
        action=FeedbackAction.DUE_SOON,
        from_status=fb.status,
        to_status=fb.status,
        detail={"deadline_at": _iso(fb.deadline_at)},
        changed=["warned_at"],
    )
    return True, _notify(fb, [fb.assignee], "due_soon", sms=True)


def _escalate_due(pk: int, now: dt.datetime, cache: dict) -> tuple[int, int]:
    """Escalate one form through every tier whose instant has passed; each level is won by a conditional
    UPDATE on the old level, so a rerun (or a second worker) escalates nothing twice."""
    levels = notified = 0
    while True:
        fb = Feedback.objects.select_related("customer").get(pk=pk)
        if (
            fb.status != FeedbackStatus.ROUTED
            or fb.paused_at is not None
            or fb.next_escalation_at is None
            or fb.next_escalation_at > now
        ):
            return levels, notified
        tiers = escalation_tiers(fb.store_id)
        level = fb.escalation_level + 1
        guard = Feedback.objects.filter(
            pk=pk,
            status=FeedbackStatus.ROUTED,
            paused_at__isnull=True,
            escalation_level=fb.escalation_level,
            next_escalation_at=fb.next_escalation_at,
        )
        if level > len(tiers):  # tiers were shortened: nothing more to do
            guard.update(next_escalation_at=None, updated_at=now)
            return levels, notified
        _lv, role, _days = tiers[level - 1]
        nxt = _next_escalation(fb.store_id, fb.deadline_at, level, tiers)
        if guard.update(escalation_level=level, escalated_at=now, next_escalation_at=nxt, updated_at=now) != 1:
            return levels, notified
        fb.escalation_level, fb.escalated_at, fb.next_escalation_at = level, now, nxt
        recipients = _tier_recipients(fb.store_id, role, cache)
        _event(
            fb,
            actor=None,
            action=FeedbackAction.ESCALATED,
            from_status=fb.status,
            to_status=fb.status,
            detail={"level": level, "role": role, "reason": "overdue", "recipients": [u.pk for u in recipients]},
            changed=["escalation_level", "escalated_at", "next_escalation_at"],
        )
        levels += 1
        notified += _notify(fb, recipients, "escalated", sms=True)


def feedback_escalations_run(*, now: dt.datetime | None = None) -> dict:
    """The hourly job: due-soon warnings, then escalations of overdue routed forms (paused ones wait), then
    delivery of pending notifications. Idempotent: each row is won by a conditional UPDATE in its own
    transaction, so a rerun — or a run after one was killed midway — tells nobody twice.

    Returns counts: warned (forms), escalated (tier steps), notified (people told), delivered (e-mail/SMS sent).
    """
    from django.db.models import Q

    now = now or timezone.now()
    open_clock = Q(status=FeedbackStatus.ROUTED, paused_at__isnull=True)
    counts = {"warned": 0, "escalated": 0, "notified": 0}
    warn_ids = list(
        Feedback.objects.filter(open_clock, warned_at__isnull=True, warn_at__lte=now)
        .order_by("warn_at", "pk")
        .values_list("pk", flat=True)
    )
    for pk in warn_ids:
        try:
            with transaction.atomic():
                warned, told = _warn_one(pk, now)
        except Exception:
            log.exception("due-soon warning of feedback %s failed", pk)
            continue
        counts["warned"] += warned
        counts["notified"] += told
    esc_ids = list(
        Feedback.objects.filter(open_clock, next_escalation_at__lte=now)
        .order_by("next_escalation_at", "pk")
        .values_list("pk", flat=True)
    )
    cache: dict = {}
    for pk in esc_ids:
        try:
            with transaction.atomic():
                levels, told = _escalate_due(pk, now, cache)
        except Exception:
            log.exception("escalation of feedback %s failed", pk)
            continue
        counts["escalated"] += levels
        counts["notified"] += told
    counts["delivered"] = notifications_deliver()
    return counts


# ---- export of the feedback list (UI helper) --------------------------------------------------------------------


def feedback_export_xlsx(*, actor, feedback) -> bytes:
    """The (already scoped and filtered) feedback list as XLSX; no phone numbers. Audited as an export."""

    header = [
        gettext("Number"),
        gettext("Recorded"),
        gettext("Store"),
        gettext("Kind"),
        gettext("Source"),
        gettext("Category"),
        gettext("Severity"),
        gettext("Stage"),
        gettext("Customer number"),
        gettext("Customer"),
        gettext("Department"),
        gettext("Handled by"),
        gettext("Deadline"),
        gettext("Escalation level"),
        gettext("Times reopened"),
        gettext("Returned to CS at"),
        gettext("Returned in time"),
        gettext("Verification result"),
        gettext("Archived at"),
        gettext("What the customer said"),
    ]
    rows = (
        [
            fb.pk,
            fb.created_at,
            fb.store.code,
            fb.get_kind_display(),
            fb.get_source_display(),
            fb.get_category_display(),
            fb.get_severity_display(),
            fb.get_status_display(),
            fb.customer.number,
            fb.customer.name,
            fb.department.name if fb.department_id else "",
            staff_name(fb.assignee),
            fb.deadline_at,
            fb.escalation_level,
            fb.reopen_count,
            fb.returned_at,
            {True: gettext("yes"), False: gettext("no")}.get(fb.returned_in_time, ""),
            fb.get_verification_result_display(),
            fb.archived_at,
            fb.text,
        ]
        for fb in feedback.iterator(chunk_size=500)
    )
    content, n = xlsx_bytes("feedback", header, rows)
    audit_event_record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type=Feedback._meta.label_lower,
        store_id=None,
        detail={"rows": n},
    )
    return content


# ---- first-time fix (repeat repairs) — owned by the first-time-fix helper; keep below this line ------------------

# First-time fix (seed 000 p8 row 5; definitions in docs/kpis.md "Complaints and first-time fix").

FAULT_KEY_MAX_LENGTH = 200
# The daily run looks at repeats settled in the last `window + REPEAT_REPAIR_LOOKBACK_DAYS` days (late imports).
REPEAT_REPAIR_LOOKBACK_DAYS = 14
DEFAULT_REPEAT_REPAIR_WINDOW_DAYS = ComplaintSettings._meta.get_field("repeat_repair_window_days").default
FTF_RULE_CODE = "FTF"


def fault_key(description: str | None) -> str:
    """The normalised fault of a repair order: NFKC, lower case, without whitespace, punctuation (Chinese too)
    and control characters, cut to 200 characters. '' (an empty description) never matches anything."""
    text = clean_text(description).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC")[:FAULT_KEY_MAX_LENGTH]


def repeat_repair_windows(store_ids) -> dict[int, int]:
    """Each store's repeat-repair window in days (ComplaintSettings, default 30), one query for all stores."""
    found = dict(
        ComplaintSettings.objects.filter(store_id__in=list(store_ids)).values_list(
            "store_id", "repeat_repair_window_days"
        )
    )
    return {sid: found.get(sid, DEFAULT_REPEAT_REPAIR_WINDOW_DAYS) for sid in store_ids}


def repeat_repair_pairs(
    rows, *, window_days: int, since_at: dt.datetime
) -> list[tuple[int, int, int, int, str, dt.datetime]]:
    """Pair repair orders: (original id, repeat id, vehicle id, customer id of the repeat, fault key, repeat time).

    `rows` are (id, vehicle_id, customer_id, settled_at, fault_description) of one store. A repeat is settled at or
    after `since_at`; its original is the most recent order of the same vehicle and fault key settled strictly
    earlier, at most `window_days` Shanghai calendar days before it (same day = 0 days). Pure; no queries.
    """
    groups: dict[tuple[int, str], list[tuple[dt.datetime, int, int]]] = defaultdict(list)
    for ro_id, vehicle_id, customer_id, settled_at, description in rows:
        key = fault_key(description)
        if key:
            groups[(vehicle_id, key)].append((settled_at, ro_id, customer_id))
    pairs = []
    window = dt.timedelta(days=window_days)
    for (vehicle_id, key), items in groups.items():
        items.sort()
        for i, (settled_at, ro_id, customer_id) in enumerate(items):
            if settled_at < since_at:
                continue
            j = i - 1
            while j >= 0 and items[j][0] >= settled_at:  # the same instant is the same visit, not a comeback
                j -= 1
            if j < 0:
                continue
            original_at, original_id, _customer = items[j]
            if business_date(settled_at) - business_date(original_at) <= window:
                pairs.append((original_id, ro_id, vehicle_id, customer_id, key, settled_at))
    return pairs


def _repeat_repair_tasks_create(store, new: list[tuple], *, now: dt.datetime) -> int:
    """A CS follow-up call (store rule FTF) per repeat order of `new` pairs; subject = the repeat order.

    Customers who refused service calls get the task in status `no_consent`, like every other follow-up.
    Links the pairs to their task. Returns how many tasks were created.
    """
    from aftercare.followups.choices import SubjectType
    from aftercare.followups.models import FollowupTask
    from aftercare.followups.services.generation import TaskSubject, followup_task_create
    from aftercare.followups.services.rules import followup_rule_get

    rule = followup_rule_get(store=store, code=FTF_RULE_CODE)
    if rule is None or not rule.is_active:
        return 0
    repeats = {}
    for _original, repeat_id, vehicle_id, customer_id, _key, settled_at in new:
        repeats[repeat_id] = TaskSubject(SubjectType.REPEAT_REPAIR, repeat_id, customer_id, vehicle_id, settled_at)
    made = followup_task_create(actor=None, rule=rule, subjects=[repeats[k] for k in sorted(repeats)])
    task_id = FollowupTask.objects.filter(
        rule=rule, subject_type=SubjectType.REPEAT_REPAIR, subject_id=models.OuterRef("repeat_id")
    ).values("pk")[:1]
    RepeatRepair.objects.filter(store=store, followup_task__isnull=True, repeat_id__in=list(repeats)).update(
        followup_task=models.Subquery(task_id), updated_at=now
    )
    return len(made)


def _repeat_repairs_detect_store(store, *, window_days: int, since: dt.date | None, now: dt.datetime) -> int:
    since = since or business_date(now) - dt.timedelta(days=window_days + REPEAT_REPAIR_LOOKBACK_DAYS)
    since_at = business_day_start(since)
    if since_at >= now:
        return 0
    orders = RepairOrder.objects.filter(
        store=store,
        kind__in=FIRST_TIME_FIX_KINDS,
        settled_at__gte=business_day_start(since - dt.timedelta(days=window_days)),
        settled_at__lt=now,
    ).exclude(fault_description="")
    # only vehicles with a counting order in [since, now) and at least two in the examined range
    vehicles = (
        orders.values("vehicle_id")
        .annotate(n=models.Count("id"), recent=models.Count("id", filter=models.Q(settled_at__gte=since_at)))
        .filter(n__gte=2, recent__gte=1)
        .values("vehicle_id")
    )
    rows = orders.filter(vehicle_id__in=vehicles).values_list(
        "id", "vehicle_id", "customer_id", "settled_at", "fault_description"
    )
    pairs = repeat_repair_pairs(rows, window_days=window_days, since_at=since_at)
    if not pairs:
        return 0
    with transaction.atomic():
        known = set(
            RepeatRepair.objects.filter(store=store, repeat__settled_at__gte=since_at).values_list(
                "original_id", "repeat_id"
            )
        )
        new = [p for p in pairs if (p[0], p[1]) not in known]
        if not new:
            return 0
        RepeatRepair.objects.bulk_create(
            [
                RepeatRepair(
                    store=store,
                    original_id=original_id,
                    repeat_id=repeat_id,
                    vehicle_id=vehicle_id,
                    customer_id=customer_id,
                    fault_key=key,
                )
                for original_id, repeat_id, vehicle_id, customer_id, key, _at in new
            ],
            ignore_conflicts=True,  # ON CONFLICT DO NOTHING on (original, repeat)
        )
        tasks = _repeat_repair_tasks_create(store, new, now=now)
        audit_event_record(
            actor=None,
            action=AuditAction.CREATE,
            object_type=RepeatRepair._meta.label_lower,
            store_id=store.pk,
            detail={"detected": len(new), "tasks": tasks, "since": since.isoformat()},
        )
    return len(new)


def repeat_repairs_detect(
    *, store_id: int | None = None, since: dt.date | None = None, now: dt.datetime | None = None
) -> int:
    """Find repeat repairs of the same fault (first-time fix) and give each comeback a CS follow-up call.

    Examines repair orders of the counting kinds (`FIRST_TIME_FIX_KINDS`) settled in `[since, now)` (Shanghai
    days; default the last window + 14 days) and pairs each with the most recent earlier order of the same
    vehicle, store and fault key within the store's window (`ComplaintSettings.repeat_repair_window_days`).
    New pairs become `RepeatRepair` rows; each new repeat order gets one task of the store's FTF rule
    (subject_type `repeat_repair`, subject_id = the repeat order). One transaction per store, a handful of
    queries per store; reruns (also after a crash) create nothing twice. Returns the number of new pairs.
    """
    now = now or timezone.now()
    stores = Store.objects.order_by("pk")
    if store_id is not None:
        stores = stores.filter(pk=store_id)
    stores = list(stores)
    windows = repeat_repair_windows([s.pk for s in stores])
    return sum(
        _repeat_repairs_detect_store(store, window_days=windows[store.pk], since=since, now=now) for store in stores
    )
