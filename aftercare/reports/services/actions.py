"""The action register: rectification actions with owner, due date and verification (docs/reports.md, "Action
register"). Managers (who own the KPIs: `kpi.set_target`) create, verify and cancel; the owner marks done."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.org.permissions import require_perm
from aftercare.org.scoping import STORE_ACTIONS_MANAGE, may_report_action_done, own_store_ids, store_for_write
from aftercare.org.selectors import works_in_store

from ..choices import ActionSource, ActionStatus
from ..models import RectificationAction


def _check_owner(owner, store_id: int) -> None:
    if owner is None or not works_in_store(user_id=owner.pk, store_id=store_id):
        raise ValidationError({"owner": [_("Choose an active member of the store's staff.")]})


def _locked(actor, action_id: int) -> RectificationAction:
    own = own_store_ids(actor)
    row = RectificationAction.objects.select_for_update().filter(pk=action_id, store_id__in=own).first()
    if row is None:
        raise Http404
    return row


def action_create(
    *,
    actor,
    store_id: int,
    title: str,
    source: str,
    owner,
    due_date: dt.date,
    source_detail: str = "",
    description: str = "",
) -> RectificationAction:
    """A new open action in the actor's store."""
    require_perm(actor, STORE_ACTIONS_MANAGE)
    store = store_for_write(actor, store_id)
    _check_owner(owner, store.pk)
    with transaction.atomic():
        action = RectificationAction(
            store=store,
            title=title,
            source=source,
            source_detail=source_detail,
            description=description,
            owner=owner,
            due_date=due_date,
            created_by=actor,
        )
        action.full_clean()
        action.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=action, detail={"source": source})
    return action


def action_complete(*, actor, action_id: int, note: str) -> RectificationAction:
    """The owner (or a manager) reports the action done with what was done; it then awaits verification."""
    with transaction.atomic():
        action = _locked(actor, action_id)
        if not may_report_action_done(actor, owner_id=action.owner_id, store_id=action.store_id):
            raise PermissionDenied
        if action.status != ActionStatus.OPEN:
            raise ValidationError({"status": [_("Only an open action can be marked done.")]})
        if not (note or "").strip():
            raise ValidationError({"note": [_("Say what was done.")]})
        action.status, action.done_at, action.done_note = ActionStatus.DONE, timezone.now(), note.strip()
        action.full_clean()
        action.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=action, changed_fields=["status", "done_note"])
    return action


def action_verify(*, actor, action_id: int, effective: bool, note: str) -> RectificationAction:
    """A manager checks the measure was carried out (seed 004): effective → verified; not effective → open again."""
    require_perm(actor, STORE_ACTIONS_MANAGE)
    with transaction.atomic():
        action = _locked(actor, action_id)
        if action.status != ActionStatus.DONE:
            raise ValidationError({"status": [_("Only an action marked done can be verified.")]})
        if not effective and not (note or "").strip():
            raise ValidationError({"note": [_("Say why the action was not effective.")]})
        action.verification_note = (note or "").strip()
        action.verified_by, action.verified_at = actor, timezone.now()
        if effective:
            action.status = ActionStatus.VERIFIED
        else:
            action.status, action.done_at, action.reopen_count = ActionStatus.OPEN, None, action.reopen_count + 1
        action.full_clean()
        action.save()
        audit_event_record(
            actor=actor, action=AuditAction.UPDATE, obj=action, changed_fields=["status"],
            detail={"effective": effective},
        )
    return action


def action_cancel(*, actor, action_id: int, note: str) -> RectificationAction:
    require_perm(actor, STORE_ACTIONS_MANAGE)
    with transaction.atomic():
        action = _locked(actor, action_id)
        if action.status in (ActionStatus.VERIFIED, ActionStatus.CANCELLED):
            raise ValidationError({"status": [_("This action is closed.")]})
        if not (note or "").strip():
            raise ValidationError({"note": [_("Give the reason.")]})
        action.status, action.verification_note = ActionStatus.CANCELLED, note.strip()
        action.full_clean()
        action.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=action, changed_fields=["status"])
    return action


__all__ = ["ActionSource", "action_cancel", "action_complete", "action_create", "action_verify"]
