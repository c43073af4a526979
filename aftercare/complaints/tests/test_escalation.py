"""Escalation: configurable tiers on the working calendar, a job that tells everybody exactly once."""

import io
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command

from aftercare.complaints.models import EscalationTier, FeedbackEvent
from aftercare.complaints.selectors import escalation_tier_list
from aftercare.complaints.services import escalation
from aftercare.complaints.services.configuration import escalation_tiers_set
from aftercare.complaints.services.escalation import feedback_escalations_run
from aftercare.complaints.tasks import complaints_escalate_hourly
from aftercare.core.models import Notification
from aftercare.org.choices import Role

from .wf import complaint, setup_store, sh

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """The process dies (not an error the job could catch)."""


@pytest.fixture
def mech(store_a, users):
    return setup_store(store_a, users)


def record_at(moment, specialist, store):
    with time_machine.travel(moment, tick=False):
        return complaint(specialist, store)


def run_at(moment) -> dict:
    with time_machine.travel(moment, tick=False):
        return feedback_escalations_run()


def told(user) -> int:
    return Notification.objects.filter(recipient=user).count()


def mails_to(user) -> int:
    return sum(user.email in m.to for m in mail.outbox)


def test_it_escalates_to_the_supervisor_at_the_deadline_then_the_manager_a_working_day_later(
    store_a, specialist, mech, users
):
    supervisor, store_manager = users[Role.SUPERVISOR], users[Role.STORE_MANAGER]
    fb = record_at(sh(2026, 2, 11, 10, 0), specialist, store_a)  # Wed: 12, 13, Sat 14 (make-up day)
    assert (fb.deadline_at, fb.next_escalation_at) == (sh(2026, 2, 15), sh(2026, 2, 15))
    assert run_at(sh(2026, 2, 14, 23, 59))["escalated"] == 0
    mail.outbox.clear()
    counts = run_at(sh(2026, 2, 15, 0, 0))
    assert (counts["escalated"], counts["notified"]) == (1, 1)
    fb.refresh_from_db()
    # tier 2 one working day after the due date: the holiday 15–23 Feb is skipped → end of Tue 24 Feb
    assert (fb.escalation_level, fb.next_escalation_at) == (1, sh(2026, 2, 25))
    assert run_at(sh(2026, 2, 15, 1, 0))["escalated"] == 0
    assert run_at(sh(2026, 2, 24, 23, 59))["escalated"] == 0
    assert run_at(sh(2026, 2, 25, 0, 0))["escalated"] == 1
    fb.refresh_from_db()
    assert (fb.escalation_level, fb.next_escalation_at) == (2, None)
    assert run_at(sh(2026, 3, 31))["escalated"] == 0
    assert (mails_to(supervisor), mails_to(store_manager)) == (1, 1)
    assert (told(supervisor), told(store_manager)) == (1, 1)
    events = FeedbackEvent.objects.filter(feedback=fb, action="escalated")
    assert [(e.detail["level"], e.detail["role"], e.actor) for e in events] == [
        (1, "supervisor", None),
        (2, "store_manager", None),
    ]


def test_it_catches_up_every_tier_that_passed_while_the_job_did_not_run(store_a, specialist, mech, users):
    fb = record_at(sh(2026, 2, 11, 10, 0), specialist, store_a)
    counts = run_at(sh(2026, 3, 2, 9, 0))
    assert (counts["warned"], counts["escalated"], counts["notified"]) == (0, 2, 2)  # overdue: no due-soon warning
    assert run_at(sh(2026, 3, 2, 10, 0))["escalated"] == 0
    fb.refresh_from_db()
    assert fb.escalation_level == 2
    assert (told(users[Role.SUPERVISOR]), told(users[Role.STORE_MANAGER])) == (1, 1)


def test_it_tells_each_person_once_when_a_run_was_killed_midway(store_a, specialist, mech, users):
    supervisor = users[Role.SUPERVISOR]
    first = record_at(sh(2026, 2, 11, 10, 0), specialist, store_a)
    second = record_at(sh(2026, 2, 11, 11, 0), specialist, store_a)
    real, calls = escalation._notify, []

    def dies_on_the_second_form(*args, **kwargs):
        calls.append(args[0].pk)
        if len(calls) == 2:
            raise Killed
        return real(*args, **kwargs)

    mail.outbox.clear()
    with mock.patch.object(escalation, "_notify", side_effect=dies_on_the_second_form), pytest.raises(Killed):
        run_at(sh(2026, 2, 15, 0, 0))
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.escalation_level, second.escalation_level) == (1, 0)  # the second form's step rolled back
    assert not FeedbackEvent.objects.filter(feedback=second, action="escalated").exists()
    counts = run_at(sh(2026, 2, 15, 0, 5))
    assert (counts["escalated"], counts["notified"]) == (1, 1)
    assert run_at(sh(2026, 2, 15, 0, 10))["escalated"] == 0
    assert told(supervisor) == 2  # one per form
    assert mails_to(supervisor) == 2
    assert Notification.objects.filter(recipient=supervisor, email_status="pending").count() == 0


def test_it_goes_on_with_other_forms_when_one_fails(store_a, specialist, mech, users):
    record_at(sh(2026, 2, 11, 10, 0), specialist, store_a)
    record_at(sh(2026, 2, 11, 11, 0), specialist, store_a)
    real, calls = escalation._notify, []

    def fails_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("mail server on fire")
        return real(*args, **kwargs)

    with mock.patch.object(escalation, "_notify", side_effect=fails_once):
        assert run_at(sh(2026, 2, 15, 0, 0))["escalated"] == 1
    assert run_at(sh(2026, 2, 15, 1, 0))["escalated"] == 1
    assert told(users[Role.SUPERVISOR]) == 2


def test_it_follows_the_stores_configured_tiers(store_a, specialist, manager, mech, users):
    open_form = record_at(sh(2026, 3, 2, 10, 0), specialist, store_a)  # Mon: due Thu 5 March
    escalation_tiers_set(
        actor=manager,
        store=store_a,
        tiers=[(1, "store_manager", 1), (2, "group_admin", 3)],
    )
    assert escalation_tier_list(store_id=store_a.pk) == [(1, "store_manager", 1), (2, "group_admin", 3)]
    open_form.refresh_from_db()
    assert open_form.next_escalation_at == sh(2026, 3, 7)  # end of Fri 6: recomputed for the open form
    assert run_at(sh(2026, 3, 6, 12, 0))["escalated"] == 0
    assert run_at(sh(2026, 3, 7, 0, 0))["escalated"] == 1
    open_form.refresh_from_db()
    assert open_form.next_escalation_at == sh(2026, 3, 11)  # due Thu 5 + 3 working days: Fri 6, Mon 9, Tue 10
    assert run_at(sh(2026, 3, 11, 0, 0))["escalated"] == 1
    assert (told(users[Role.SUPERVISOR]), told(users[Role.STORE_MANAGER]), told(users[Role.GROUP_ADMIN])) == (0, 1, 1)


@pytest.mark.parametrize(
    "tiers",
    [
        [],
        [(1, "supervisor", 0), (3, "store_manager", 1)],
        [(1, "cs_specialist", 0)],
        [(1, "supervisor", 2), (2, "store_manager", 1)],
        [(1, "supervisor", 31)],
        [("x", "supervisor")],
    ],
)
def test_it_refuses_bad_tiers_and_keeps_the_old_ones(store_a, manager, tiers):
    escalation_tiers_set(actor=manager, store=store_a, tiers=[(1, "supervisor", 0)])
    with pytest.raises(ValidationError) as exc:
        escalation_tiers_set(actor=manager, store=store_a, tiers=tiers)
    assert "tiers" in exc.value.message_dict
    assert list(EscalationTier.objects.values_list("level", "role", "working_days_after")) == [(1, "supervisor", 0)]


def test_it_runs_from_the_command_and_the_task(store_a, specialist, mech):
    record_at(sh(2026, 2, 11, 10, 0), specialist, store_a)
    out = io.StringIO()
    with time_machine.travel(sh(2026, 2, 15, 0, 0), tick=False):
        call_command("complaints_escalate", stdout=out)
        assert out.getvalue().strip() == "warned=0 escalated=1 notified=1"
        out = io.StringIO()
        call_command("complaints_escalate", stdout=out)
        assert out.getvalue().strip() == "warned=0 escalated=0 notified=0"
    with time_machine.travel(sh(2026, 2, 25, 0, 0), tick=False):
        assert complaints_escalate_hourly.call()["escalated"] == 1
