"""Store settings of the complaint workflow: general settings, deadline policies, escalation tiers, designees.

Only users with `feedback.settings` change them, only for their own stores; each change is audited.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.org.choices import Role
from aftercare.org.models import Department, Staff, Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..choices import FeedbackKind, FeedbackSeverity, FeedbackStatus
from ..models import ComplaintSettings, DeadlinePolicy, DepartmentDesignee, EscalationTier, Feedback
from .common import _may_receive, _next_escalation

ESCALATION_ROLES = (Role.SUPERVISOR, Role.STORE_MANAGER, Role.GROUP_ADMIN, Role.CS_MANAGER)


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
