"""The hourly job: due-soon warnings, escalation of overdue forms through the store's tiers, delivery."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from aftercare.core.services import notifications_deliver

from ..choices import FeedbackAction, FeedbackStatus
from ..models import Feedback
from ..selectors import escalation_tier_list
from .common import _event, _iso, _next_escalation, _notify, _tier_recipients

log = logging.getLogger(__name__)


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
        tiers = escalation_tier_list(store_id=fb.store_id)
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
