"""SMS reminders: two months before the expiry and in the month of the expiry, each once per case, to customers who
accept marketing, logged in the letter log and sent through the SMS interface; reruns and killed runs send
nothing twice. Days are Asia/Shanghai days, across month ends."""

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command

from aftercare.core.sms import LocmemBackend
from aftercare.followups.choices import LetterChannel, LetterStatus
from aftercare.followups.models import LetterLog
from aftercare.renewals.choices import CaseState, ReminderKind
from aftercare.renewals.models import RenewalCase, RenewalReminder
from aftercare.renewals.services import reminders
from aftercare.renewals.services.generation import renewal_cases_generate
from aftercare.renewals.services.reminders import reminder_due_window, renewal_reminders_send
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sms(settings):
    settings.SMS_BACKEND = "aftercare.core.sms.LocmemBackend"
    LocmemBackend.outbox.clear()
    yield
    LocmemBackend.outbox.clear()


def _case(store, expiry: dt.date, **customer) -> RenewalCase:
    customer = f.CustomerFactory(store=store, **{"consent_marketing": True, **customer})
    vehicle = f.owned_vehicle(customer, plate="粤A12345")
    policy = f.InsurancePolicyFactory(store=store, customer=customer, vehicle=vehicle, kind="renewal",
                                      start_date=expiry - dt.timedelta(days=364), expiry_date=expiry)
    renewal_cases_generate(store_id=store.pk, today=expiry - dt.timedelta(days=80), estimated=False)
    return RenewalCase.objects.get(policy=policy)


def test_its_windows_meet_at_the_first_of_the_expiry_month():
    assert reminder_due_window(ReminderKind.TWO_MONTHS, dt.date(2027, 3, 31)) == (
        dt.date(2027, 1, 30), dt.date(2027, 2, 28))
    assert reminder_due_window(ReminderKind.EXPIRY_MONTH, dt.date(2027, 3, 31)) == (
        dt.date(2027, 3, 1), dt.date(2027, 3, 31))
    # expiring on the 1st: the two-month one until the day before; the expiry-month one on the day itself
    assert reminder_due_window(ReminderKind.TWO_MONTHS, dt.date(2027, 3, 1)) == (
        dt.date(2026, 12, 31), dt.date(2027, 2, 28))


def test_it_sends_each_reminder_once_in_its_window_across_month_ends(store_a):
    case = _case(store_a, dt.date(2027, 3, 31))
    assert renewal_reminders_send(today=dt.date(2027, 1, 29)) == 0  # 61 days before
    assert renewal_reminders_send(today=dt.date(2027, 1, 30)) == 1  # 60 days before
    assert renewal_reminders_send(today=dt.date(2027, 1, 31)) == 0
    assert renewal_reminders_send(today=dt.date(2027, 2, 28)) == 0  # the last day of February: nothing new
    assert renewal_reminders_send(today=dt.date(2027, 3, 1)) == 1  # the month of expiry begins
    assert renewal_reminders_send(today=dt.date(2027, 3, 2)) == 0
    kinds = dict(RenewalReminder.objects.filter(case=case).values_list("kind", "sent_on"))
    assert kinds == {ReminderKind.TWO_MONTHS: dt.date(2027, 1, 30), ReminderKind.EXPIRY_MONTH: dt.date(2027, 3, 1)}
    assert len(LocmemBackend.outbox) == 2
    assert all(m["to"] == case.customer.mobile for m in LocmemBackend.outbox)


def test_a_late_case_gets_only_the_expiry_month_reminder(store_a):
    case = _case(store_a, dt.date(2026, 12, 10))
    assert renewal_reminders_send(today=dt.date(2026, 12, 3)) == 1
    assert RenewalReminder.objects.get(case=case).kind == ReminderKind.EXPIRY_MONTH
    assert renewal_reminders_send(today=dt.date(2026, 12, 11)) == 0  # after the expiry: no reminder


def test_it_logs_the_sms_in_the_letter_log_with_store_plate_and_date_only(store_a):
    case = _case(store_a, dt.date(2026, 12, 31), name="王小明")
    renewal_reminders_send(today=dt.date(2026, 11, 1))
    letter = LetterLog.objects.get()
    assert (letter.channel, letter.status, letter.customer_id) == (LetterChannel.SMS, LetterStatus.SENT,
                                                                   case.customer_id)
    assert RenewalReminder.objects.get().letter == letter and letter.sent_at is not None
    text = LocmemBackend.outbox[0]["text"]
    assert text == letter.text
    assert case.store.name in text and "粤A12345" in text and "2026" in text and "31" in text
    assert "王小明" not in text and case.customer.mobile not in text and case.vehicle.vin not in text


def test_it_reminds_only_consenting_customers_with_a_mobile_on_open_cases(store_a):
    _case(store_a, dt.date(2026, 12, 31), consent_marketing=False)
    _case(store_a, dt.date(2026, 12, 31), mobile="")
    closed = _case(store_a, dt.date(2026, 12, 31))
    RenewalCase.objects.filter(pk=closed.pk).update(state=CaseState.NOT_RENEWED)
    assert renewal_reminders_send(today=dt.date(2026, 11, 1)) == 0
    assert not LocmemBackend.outbox and not LetterLog.objects.exists()


def test_a_rerun_after_a_killed_run_sends_each_reminder_once(store_a, monkeypatch):
    for _ in range(3):
        _case(store_a, dt.date(2026, 12, 31))
    # killed after the first chunk committed its reminders but before anything was sent
    monkeypatch.setattr(reminders, "CHUNK", 2)
    original_chunk_loop = reminders._due_cases
    seen = {"chunks": 0}

    def due_then_killed(kind, today):
        seen["chunks"] += 1
        if seen["chunks"] == 2:
            raise KeyboardInterrupt
        return original_chunk_loop(kind, today)

    monkeypatch.setattr(reminders, "_due_cases", due_then_killed)
    with pytest.raises(KeyboardInterrupt):
        renewal_reminders_send(today=dt.date(2026, 11, 1))
    assert RenewalReminder.objects.count() == 2 and not LocmemBackend.outbox
    assert LetterLog.objects.filter(status=LetterStatus.PENDING).count() == 2
    monkeypatch.setattr(reminders, "_due_cases", original_chunk_loop)
    assert renewal_reminders_send(today=dt.date(2026, 11, 1)) == 1
    assert renewal_reminders_send(today=dt.date(2026, 11, 1)) == 0
    assert RenewalReminder.objects.count() == 3 and LetterLog.objects.count() == 3
    assert len(LocmemBackend.outbox) == 3 and len({m["to"] for m in LocmemBackend.outbox}) == 3
    assert not LetterLog.objects.exclude(status=LetterStatus.SENT).exists()


def test_the_command_uses_today_in_shanghai(store_a, capsys):
    _case(store_a, dt.date(2027, 1, 31))
    # due from 2 December (expiry − 60 days), a Shanghai day
    with time_machine.travel(dt.datetime(2026, 11, 30, 15, 30, tzinfo=dt.UTC), tick=False):
        call_command("renewal_reminders_send")  # 23:30 Shanghai, 30 November: 62 days before
    assert not RenewalReminder.objects.exists()
    with time_machine.travel(dt.datetime(2026, 12, 1, 16, 30, tzinfo=dt.UTC), tick=False):
        call_command("renewal_reminders_send")  # 00:30 Shanghai, 2 December (still 1 December in UTC)
    assert RenewalReminder.objects.get().sent_on == dt.date(2026, 12, 2)
    assert "1 reminders sent" in capsys.readouterr().out


# ---- through the one outbound interface: the delivery log, service purpose ----


def test_its_sms_appears_in_the_delivery_log_with_its_channel_and_status(store_a, users, client):
    from aftercare.care.selectors import message_log_search
    from aftercare.org.choices import Role

    case = _case(store_a, dt.date(2026, 12, 31), name="王小明")
    renewal_reminders_send(today=dt.date(2026, 11, 1))
    manager = users[Role.CS_MANAGER]
    rows = list(message_log_search(user=manager))
    assert [(r.customer_id, r.channel, r.status, r.purpose, r.kind) for r in rows] == [
        (case.customer_id, "sms", "sent", "service", "notice")]
    assert RenewalReminder.objects.get().letter_id == rows[0].pk
    client.force_login(manager)
    sent = client.get("/care/messages/", {"channel": "sms", "status": "sent"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "王小明" in sent.content.decode()
    failed = client.get("/care/messages/", {"channel": "sms", "status": "failed"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "王小明" not in failed.content.decode()


def test_it_is_a_service_message_never_held_by_quiet_hours_nor_capped(store_a, settings):
    settings.MESSAGE_MARKETING_WEEKLY_CAP = 1
    case = _case(store_a, dt.date(2026, 12, 31))
    # 23:00 Shanghai on a Sunday (quiet hours), the customer's marketing message of the week already sent
    with time_machine.travel(dt.datetime(2026, 11, 1, 15, 0, tzinfo=dt.UTC), tick=False):
        LetterLog.objects.create(store=store_a, customer=case.customer, kind="message", channel="sms",
                                 purpose="marketing", status=LetterStatus.SENT, text="促销")
        assert renewal_reminders_send(today=dt.date(2026, 11, 1)) == 1
    letter = RenewalReminder.objects.get().letter
    assert (letter.status, letter.hold_until, letter.purpose) == (LetterStatus.SENT, None, "service")
    assert len(LocmemBackend.outbox) == 1


def test_a_customer_refusing_service_messages_gets_a_cancelled_letter_and_no_sms(store_a):
    _case(store_a, dt.date(2026, 12, 31), consent_service_calls=False)
    assert renewal_reminders_send(today=dt.date(2026, 11, 1)) == 1
    assert renewal_reminders_send(today=dt.date(2026, 11, 1)) == 0
    letter = RenewalReminder.objects.get().letter
    assert (letter.status, letter.error) == (LetterStatus.CANCELLED, "no service consent")
    assert not LocmemBackend.outbox
