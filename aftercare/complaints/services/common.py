"""Helpers of the complaint services: locking, stage checks, history, the working-day clock, notifications.

Private to `aftercare.complaints.services`: its modules import them; nothing else should.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record, notification_send
from aftercare.org.calendar import deadline_day, working_deadline
from aftercare.org.choices import Role
from aftercare.org.models import Staff, Store
from aftercare.org.permissions import Perm, has_perm, require_perm, role_of
from aftercare.org.scoping import own_store_ids

from ..choices import FINAL_STATUSES, SUPERVISOR_LEVEL_ROLES
from ..models import Feedback, FeedbackEvent
from ..selectors import complaint_settings_get, escalation_tier_list, feedback_deadline_days

_US = dt.timedelta(microseconds=1)


def _may_receive(user, store_id: int) -> bool:
    """Whether `user` may be the handler of a form of the store."""
    return (
        user is not None and user.is_active and has_perm(user, Perm.FEEDBACK_HANDLE) and store_id in own_store_ids(user)
    )


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


def _tier_instant(store_id: int, deadline_at: dt.datetime, days_after: int) -> dt.datetime:
    """When a tier fires: at the deadline, or the end of the `days_after`-th working day after the due date."""
    if days_after <= 0:
        return deadline_at
    return working_deadline(store_id, deadline_at - _US, days_after)


def _next_escalation(store_id: int, deadline_at, level: int, tiers=None) -> dt.datetime | None:
    """The instant of tier `level + 1`, or None when there is no further tier."""
    if deadline_at is None:
        return None
    for lv, _role, days in tiers if tiers is not None else escalation_tier_list(store_id=store_id):
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
    warn_hours = complaint_settings_get(store_id=fb.store_id).warn_hours
    fb.warn_at = fb.deadline_at - dt.timedelta(hours=warn_hours) if warn_hours else None
    fb.next_escalation_at = _next_escalation(fb.store_id, fb.deadline_at, fb.escalation_level)


_CLOCK_FIELDS = ["deadline_at", "warn_at", "warned_at", "next_escalation_at"]


def _link(fb: Feedback) -> str:
    try:
        return reverse("complaints:detail", args=[fb.pk])
    except NoReverseMatch:
        return f"/complaints/{fb.pk}/"


def _notify(
    fb: Feedback,
    recipients,
    kind: str,
    *,
    sms: bool = False,
    extra: dict | None = None,
    deadline_at: dt.datetime | None = None,
) -> int:
    """Notify `recipients` about the form, in the site language; returns how many were notified. `deadline_at`: the
    deadline the recipient must meet when it is not the form's (the verification call's for "returned"), so the
    message names the same last day as the task it points to."""
    recipients = [u for u in recipients if u is not None and u.is_active]
    if not recipients:
        return 0
    deadline = deadline_at or fb.deadline_at
    with translation.override(settings.LANGUAGE_CODE):
        values = {
            "id": fb.pk,
            "kind": fb.get_kind_display(),
            "customer": fb.customer.name,
            "due": deadline_day(deadline).isoformat() if deadline else "—",
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
        if kind == "returned" and deadline_at:
            body += "\n" + gettext("Make the verification call by the end of %(due)s.") % values
        elif deadline:
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
