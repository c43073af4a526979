"""The handling clock: 3 working days on the store's calendar (2026 Spring Festival), policies, warning, pauses."""

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError

from aftercare.complaints.models import FeedbackEvent
from aftercare.complaints.selectors import feedback_deadline_days
from aftercare.complaints.services.configuration import complaint_settings_update, deadline_policy_set
from aftercare.complaints.services.escalation import feedback_escalations_run
from aftercare.complaints.services.workflow import feedback_pause, feedback_resume
from aftercare.core.models import AuditEvent, Notification
from aftercare.org.calendar import is_workday
from aftercare.org.choices import Role
from aftercare.org.models import WorkCalendarDay

from .wf import complaint, setup_store, sh

pytestmark = pytest.mark.django_db


@pytest.fixture
def mech(store_a, users):
    return setup_store(store_a, users)


def record_at(moment, specialist, store, **kw):
    with time_machine.travel(moment, tick=False):
        return complaint(specialist, store, **kw)


def test_it_knows_the_2026_spring_festival_and_its_make_up_workdays(store_a):
    # the library's data: Sat 14 Feb and Sat 28 Feb are make-up workdays, 15–23 Feb are the holiday
    assert is_workday(store_a, sh(2026, 2, 14).date()) and is_workday(store_a, sh(2026, 2, 28).date())
    assert not any(is_workday(store_a, sh(2026, 2, d).date()) for d in range(15, 24))


def test_it_gives_three_working_days_across_the_spring_festival(store_a, specialist, mech, users):
    fb = record_at(sh(2026, 2, 13, 10, 0), specialist, store_a)  # Friday before the holiday
    # Sat 14 (make-up workday) = 1, Tue 24 = 2, Wed 25 = 3 → due before Thu 26 00:00 Shanghai
    assert (fb.status, fb.assignee, fb.deadline_at) == ("routed", users[Role.DEPARTMENT_DESIGNEE], sh(2026, 2, 26))
    assert fb.warn_at == sh(2026, 2, 25)  # 24 hours before, by default
    assert fb.next_escalation_at == fb.deadline_at  # tier 1 (supervisor) at the deadline


def test_it_counts_half_past_midnight_in_shanghai_as_the_next_day(store_a, specialist, mech):
    before = record_at(sh(2026, 2, 13, 23, 59), specialist, store_a)
    after = record_at(sh(2026, 2, 14, 0, 30), specialist, store_a)  # 16:30 UTC on the 13th
    assert before.deadline_at == sh(2026, 2, 26)
    assert after.deadline_at == sh(2026, 2, 27)  # 24, 25, 26 Feb


def test_it_follows_the_stores_own_calendar_override(store_a, store_b, specialist, mech):
    WorkCalendarDay.objects.create(store=store_a, date=sh(2026, 2, 14).date(), is_workday=False, note="店休")
    fb = record_at(sh(2026, 2, 13, 10, 0), specialist, store_a)
    assert fb.deadline_at == sh(2026, 2, 27)  # the store works neither the 14th nor the holiday: 24, 25, 26


def test_it_uses_the_deadline_policy_of_kind_and_severity(store_a, specialist, manager, mech):
    deadline_policy_set(actor=manager, store=store_a, kind="complaint", severity="critical", working_days=1)
    deadline_policy_set(actor=manager, store=store_a, kind="suggestion", severity="normal", working_days=5)
    assert feedback_deadline_days(store_id=store_a.pk, kind="complaint", severity="critical") == 1
    critical = record_at(sh(2026, 2, 13, 10, 0), specialist, store_a, severity="critical")
    normal = record_at(sh(2026, 2, 13, 10, 0), specialist, store_a)
    suggestion = record_at(sh(2026, 2, 13, 10, 0), specialist, store_a, kind="suggestion")
    assert critical.deadline_at == sh(2026, 2, 15)  # the make-up Saturday
    assert normal.deadline_at == sh(2026, 2, 26)
    assert suggestion.deadline_at == sh(2026, 2, 28)  # 14, 24, 25, 26, 27
    deadline_policy_set(actor=manager, store=store_a, kind="complaint", severity="critical", working_days=None)
    assert feedback_deadline_days(store_id=store_a.pk, kind="complaint", severity="critical") == 3


def test_it_names_bad_policy_input(store_a, manager):
    with pytest.raises(ValidationError) as exc:
        deadline_policy_set(actor=manager, store=store_a, kind="rant", severity="huge", working_days=3)
    assert set(exc.value.message_dict) == {"kind", "severity"}
    with pytest.raises(ValidationError) as exc:
        deadline_policy_set(actor=manager, store=store_a, kind="complaint", severity="high", working_days=0)
    assert "working_days" in exc.value.message_dict


def test_it_warns_the_handler_once_at_the_warning_time(store_a, specialist, manager, mech, users):
    designee = users[Role.DEPARTMENT_DESIGNEE]
    fb = record_at(sh(2026, 2, 13, 10, 0), specialist, store_a)
    with time_machine.travel(sh(2026, 2, 24, 23, 59), tick=False):
        assert feedback_escalations_run()["warned"] == 0
    mail.outbox.clear()
    with time_machine.travel(sh(2026, 2, 25, 0, 0), tick=False):
        counts = feedback_escalations_run()
        assert (counts["warned"], counts["escalated"], counts["notified"]) == (1, 0, 1)
        assert feedback_escalations_run()["warned"] == 0  # a rerun tells nobody twice
    assert [m.to for m in mail.outbox] == [[designee.email]]
    assert f"#{fb.pk}" in mail.outbox[0].subject
    assert Notification.objects.filter(recipient=designee, title__contains=f"#{fb.pk}").count() == 2  # routed, due
    assert FeedbackEvent.objects.filter(feedback=fb, action="due_soon", actor=None).count() == 1


def test_it_uses_the_stores_warning_hours(store_a, specialist, manager, mech):
    complaint_settings_update(actor=manager, store=store_a, warn_hours=48)
    fb = record_at(sh(2026, 2, 13, 10, 0), specialist, store_a)
    assert fb.warn_at == sh(2026, 2, 24)


def test_it_moves_the_deadline_by_the_working_days_paused(store_a, specialist, mech, users):
    designee = users[Role.DEPARTMENT_DESIGNEE]
    fb = record_at(sh(2026, 3, 4, 10, 0), specialist, store_a)  # Wednesday: due Mon 9 March
    assert fb.deadline_at == sh(2026, 3, 10)
    with time_machine.travel(sh(2026, 3, 6, 15, 0), tick=False):  # Friday
        fb = feedback_pause(actor=designee, feedback=fb, reason="waiting_parts", note="等配件")
        with pytest.raises(ValidationError) as exc:
            feedback_pause(actor=designee, feedback=fb, reason="waiting_parts")
        assert "status" in exc.value.message_dict
    with time_machine.travel(sh(2026, 3, 10, 8, 0), tick=False):  # past the old deadline, but paused
        counts = feedback_escalations_run()
        assert (counts["warned"], counts["escalated"], counts["notified"]) == (0, 0, 0)
    with time_machine.travel(sh(2026, 3, 10, 9, 0), tick=False):  # next Tuesday
        fb = feedback_resume(actor=designee, feedback=fb, note="配件到了")
    # paused (Fri 6, Tue 10]: Mon 9 and Tue 10 → due Wed 11 instead of Mon 9
    assert (fb.deadline_at, fb.warn_at, fb.next_escalation_at) == (sh(2026, 3, 12), sh(2026, 3, 11), sh(2026, 3, 12))
    assert (fb.paused_at, fb.pause_reason, fb.paused_working_days) == (None, "", 2)
    with time_machine.travel(sh(2026, 3, 10, 10, 0), tick=False):
        assert feedback_escalations_run()["escalated"] == 0
    with time_machine.travel(sh(2026, 3, 12, 0, 0), tick=False):
        assert feedback_escalations_run()["escalated"] == 1
    events = list(FeedbackEvent.objects.filter(feedback=fb, action__in=["paused", "resumed"]))
    assert [(e.action, e.actor, e.note) for e in events] == [
        ("paused", designee, "等配件"),
        ("resumed", designee, "配件到了"),
    ]
    assert events[0].detail == {"reason": "waiting_parts"}
    assert events[1].detail["working_days"] == 2
    audits = AuditEvent.objects.filter(object_type="complaints.feedback", object_id=str(fb.pk), actor=designee)
    assert {a.detail["event"] for a in audits} == {"paused", "resumed"}
    assert all("paused_at" in a.changed_fields for a in audits)


def test_it_names_bad_pause_input(store_a, specialist, mech, users):
    designee = users[Role.DEPARTMENT_DESIGNEE]
    fb = record_at(sh(2026, 3, 4, 10, 0), specialist, store_a)
    with pytest.raises(ValidationError) as exc:
        feedback_pause(actor=designee, feedback=fb, reason="waiting_for_godot")
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        feedback_resume(actor=designee, feedback=fb)
    assert "status" in exc.value.message_dict
    assert not FeedbackEvent.objects.filter(feedback=fb, action__in=["paused", "resumed"]).exists()
