"""Writes that hand tasks out: claim (one winner among concurrent claimers), release, assign."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.org.choices import Role
from aftercare.org.models import Staff
from aftercare.org.permissions import Perm, has_perm, require_perm, role_of
from aftercare.org.scoping import get_scoped_or_404, own_store_ids

from ..choices import TaskStatus
from ..models import FollowupTask
from ..signals import task_claimed


class TaskAlreadyClaimed(Exception):
    """Another specialist holds the task (the API answers 409)."""


def _task_for_write(actor, task_id) -> FollowupTask:
    qs = FollowupTask.objects.filter(store_id__in=own_store_ids(actor)).select_related("rule")
    return get_scoped_or_404(qs, pk=task_id)


def _check_may_call(actor, task: FollowupTask) -> None:
    require_perm(actor, Perm.FOLLOWUP_CALL)
    role = role_of(actor)
    if task.rule.allowed_roles and role not in task.rule.allowed_roles and role != Role.GROUP_ADMIN:
        raise PermissionDenied(Perm.FOLLOWUP_CALL)


def _record_late_holder(task: FollowupTask, *, holder_id: int | None, now) -> None:
    """When an overdue task changes hands the first time, remember who held it when it fell due (`holder_id`: the
    one who had claimed it or was assigned it; None when it sat in the pool). A late close then counts against them,
    not against whoever takes it over (docs/kpis.md, "On-time rate")."""
    if now >= task.due_at and holder_id is not None:
        FollowupTask.objects.filter(pk=task.pk, late_holder__isnull=True).update(late_holder_id=holder_id)


def followup_task_claim(*, actor, task_id: int) -> FollowupTask:
    """Lock a task to `actor`. Exactly one of many concurrent claimers wins; the others get TaskAlreadyClaimed.

    PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED` on the open, unclaimed row; SQLite: a conditional
    `UPDATE … WHERE claimed_by IS NULL` whose row count tells who won.
    """
    task = _task_for_write(actor, task_id)
    _check_may_call(actor, task)
    if task.status == TaskStatus.CLAIMED and task.claimed_by_id == actor.pk:
        return task
    if task.status not in (TaskStatus.OPEN, TaskStatus.CLAIMED):
        raise ValidationError({"status": _("This task is closed.")})
    now = timezone.now()
    free = FollowupTask.objects.filter(pk=task.pk, status=TaskStatus.OPEN, claimed_by__isnull=True)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            locked = free.select_for_update(skip_locked=True).first()
            if locked is None:
                raise TaskAlreadyClaimed
            won = free.update(status=TaskStatus.CLAIMED, claimed_by=actor, claimed_at=now, updated_at=now)
        else:
            won = free.update(status=TaskStatus.CLAIMED, claimed_by=actor, claimed_at=now, updated_at=now)
        if won != 1:
            raise TaskAlreadyClaimed
        _record_late_holder(task, holder_id=task.assigned_to_id, now=now)
        task_claimed.send(sender=FollowupTask, task=task, actor=actor, holder=actor)
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=task, changed_fields=["claimed_by", "status"])
    task.refresh_from_db()
    return task


def followup_task_release(*, actor, task: FollowupTask) -> FollowupTask:
    """Give a claimed task back to the pool (its holder, or a manager)."""
    if task.claimed_by_id != actor.pk:
        require_perm(actor, Perm.FOLLOWUP_MANAGE)
    if task.store_id not in own_store_ids(actor):
        raise PermissionDenied
    if task.status != TaskStatus.CLAIMED:
        raise ValidationError({"status": _("Only a claimed task can be released.")})
    with transaction.atomic():
        _record_late_holder(task, holder_id=task.claimed_by_id, now=timezone.now())
        FollowupTask.objects.filter(pk=task.pk).update(
            status=TaskStatus.OPEN, claimed_by=None, claimed_at=None, updated_at=timezone.now()
        )
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=task, changed_fields=["claimed_by", "status"])
    task.refresh_from_db()
    return task


def followup_task_assign(*, actor, task_id: int, to_user) -> FollowupTask:
    """A manager hands a task (open or held by someone else) to a specialist of the same store."""
    require_perm(actor, Perm.FOLLOWUP_MANAGE)
    task = _task_for_write(actor, task_id)
    if task.status not in (TaskStatus.OPEN, TaskStatus.CLAIMED):
        raise ValidationError({"status": _("This task is closed.")})
    staff = Staff.objects.filter(user=to_user, stores=task.store_id).first()
    if staff is None or not has_perm(to_user, Perm.FOLLOWUP_CALL):
        raise ValidationError({"to_user": _("This person does not make follow-up calls in the task's store.")})
    if task.rule.allowed_roles and staff.role not in task.rule.allowed_roles:
        raise ValidationError({"to_user": _("The rule does not let this role make the call.")})
    now = timezone.now()
    with transaction.atomic():
        _record_late_holder(task, holder_id=task.claimed_by_id or task.assigned_to_id, now=now)
        FollowupTask.objects.filter(pk=task.pk).update(
            status=TaskStatus.CLAIMED, claimed_by=to_user, claimed_at=now, assigned_to=to_user, updated_at=now
        )
        task_claimed.send(sender=FollowupTask, task=task, actor=actor, holder=to_user)
        audit_event_record(
            actor=actor, action=AuditAction.UPDATE, obj=task, changed_fields=["assigned_to", "claimed_by", "status"]
        )
    task.refresh_from_db()
    return task
