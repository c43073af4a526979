"""Consent by purpose with its history: the writers go through `consent_set`, the opt-out by SMS reply (a webhook
with a shared secret) and by signed link withdraws marketing at once and cancels pending marketing (campaign
tasks, queued and held messages); the property: no marketing message is ever sent without consent at send time."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from aftercare.core.sms import LocmemBackend
from aftercare.customers.models import ConsentChange
from aftercare.customers.services import consent_set, customer_create, customer_update
from aftercare.followups.choices import FollowupKind, LetterStatus, SubjectType, TaskStatus, Trigger
from aftercare.followups.models import FollowupTask, LetterLog
from aftercare.followups.services.outbound import message_send, messages_release, optout_token
from aftercare.followups.services.rules import followup_rule_get
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")
SECRET = "s3cret-hook"


@pytest.fixture(autouse=True)
def _backends(settings):
    settings.SMS_BACKEND = "aftercare.core.sms.LocmemBackend"
    settings.SMS_INBOUND_SECRET = SECRET
    LocmemBackend.outbox.clear()


@pytest.fixture
def customer(store_a):
    return f.CustomerFactory(store=store_a, name="李雷", mobile="+8613900000002", consent_marketing=True)


def _campaign_task(customer, store):
    rule = followup_rule_get(store=store, trigger=Trigger.CAMPAIGN_INVITATION)
    now = dt.datetime(2026, 12, 7, 2, tzinfo=dt.UTC)
    return FollowupTask.objects.create(
        store=store, rule=rule, kind=FollowupKind.CAMPAIGN, subject_type=SubjectType.FOLLOWUP_TASK,
        subject_id=customer.pk, customer=customer, event_at=now, due_at=now + dt.timedelta(days=7),
    )


def test_it_records_the_consent_of_a_new_customer_and_each_change_by_staff(store_a, manager):
    customer = customer_create(actor=manager, store=store_a, name="韩梅梅", consent_marketing=True)
    customer_update(actor=manager, customer=customer, consent_marketing=False, name="韩梅梅")
    rows = list(ConsentChange.objects.filter(customer=customer).values_list("purpose", "granted", "source", "by"))
    assert rows == [("service", True, "staff", manager.pk), ("marketing", True, "staff", manager.pk),
                    ("marketing", False, "staff", manager.pk)]


def test_a_new_customer_gets_consent_history_but_no_consent_changed_signal(store_a, manager):
    from aftercare.customers.signals import consent_changed

    sent = []

    def receiver(sender, **kwargs):
        sent.append((kwargs["purpose"], kwargs["granted"]))

    consent_changed.connect(receiver, dispatch_uid="test.consent_changed.new_customer")
    try:
        customer = customer_create(actor=manager, store=store_a, name="李雷", consent_marketing=False)
        assert ConsentChange.objects.filter(customer=customer).count() == 2 and sent == []
        customer_update(actor=manager, customer=customer, consent_marketing=True)
        assert sent == [("marketing", True)]
    finally:
        consent_changed.disconnect(dispatch_uid="test.consent_changed.new_customer")


def test_it_changes_nothing_and_records_nothing_when_consent_is_unchanged(customer, manager):
    assert consent_set(actor=manager, customer=customer, purpose="marketing", granted=True, source="api") is False
    assert not ConsentChange.objects.exists()


def test_it_refuses_an_unknown_purpose_or_source(customer, manager):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        consent_set(actor=manager, customer=customer, purpose="ads", granted=False, source="fax")
    assert set(exc.value.message_dict) == {"purpose", "source"}


def test_it_withdraws_marketing_mid_campaign_and_cancels_pending_marketing(customer, store_a, client,
                                                                            django_capture_on_commit_callbacks):
    task = _campaign_task(customer, store_a)
    with time_machine.travel(dt.datetime(2026, 12, 7, 22, tzinfo=SH), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            held = message_send(customer=customer, purpose="marketing", channel="sms", text="双十二保养特惠")
            service = message_send(customer=customer, purpose="service", channel="sms", text="您的车已修好")
    assert held.status == LetterStatus.HELD
    answer = client.post("/api/care/sms/inbound", {"sender": "13900000002", "text": " td "},
                         content_type="application/json", HTTP_X_AFTERCARE_SECRET=SECRET)
    assert answer.status_code == 200 and answer.json() == {"opted_out": 1}
    customer.refresh_from_db()
    task.refresh_from_db()
    held.refresh_from_db()
    assert customer.consent_marketing is False and customer.consent_service_calls is True
    assert task.status == TaskStatus.CANCELLED
    assert (held.status, held.error) == (LetterStatus.CANCELLED, "marketing consent withdrawn")
    assert LetterLog.objects.get(pk=service.pk).status == LetterStatus.SENT
    assert messages_release(now=dt.datetime(2026, 12, 8, 9, tzinfo=SH)) == 0
    change = ConsentChange.objects.get(customer=customer)
    assert (change.purpose, change.granted, change.source, change.by) == ("marketing", False, "reply", None)


@pytest.mark.parametrize("text", ["退订", "T", "TD"])
def test_it_understands_the_opt_out_keywords(customer, client, text):
    answer = client.post("/api/care/sms/inbound", {"sender": "+86 139 0000 0002", "text": text},
                         content_type="application/json", HTTP_X_AFTERCARE_SECRET=SECRET)
    assert answer.json() == {"opted_out": 1}


def test_it_ignores_other_replies(customer, client):
    answer = client.post("/api/care/sms/inbound", {"sender": "13900000002", "text": "好的，谢谢"},
                         content_type="application/json", HTTP_X_AFTERCARE_SECRET=SECRET)
    assert answer.json() == {"opted_out": 0}
    customer.refresh_from_db()
    assert customer.consent_marketing is True


@pytest.mark.parametrize("secret", ["", "wrong"])
def test_it_refuses_an_inbound_reply_without_the_secret(customer, client, secret):
    headers = {"HTTP_X_AFTERCARE_SECRET": secret} if secret else {}
    answer = client.post("/api/care/sms/inbound", {"sender": "13900000002", "text": "TD"},
                         content_type="application/json", **headers)
    assert answer.status_code == 401
    customer.refresh_from_db()
    assert customer.consent_marketing is True


def test_it_refuses_every_reply_when_no_secret_is_set(customer, client, settings):
    settings.SMS_INBOUND_SECRET = ""
    answer = client.post("/api/care/sms/inbound", {"sender": "13900000002", "text": "TD"},
                         content_type="application/json", HTTP_X_AFTERCARE_SECRET="")
    assert answer.status_code == 401


def test_it_answers_a_bad_inbound_body_with_422_not_500(client):
    answer = client.post("/api/care/sms/inbound", "not json", content_type="application/json",
                         HTTP_X_AFTERCARE_SECRET=SECRET)
    assert answer.status_code in (400, 422)


def test_it_opts_out_through_the_signed_link(customer, store_a, client):
    _campaign_task(customer, store_a)
    url = f"/care/optout/{optout_token(customer.pk)}/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and "Stop marketing messages from 广州天河店?" in page.content.decode()
    customer.refresh_from_db()
    assert customer.consent_marketing is True  # opening the page changes nothing
    done = client.post(url)
    assert done.status_code == 200
    customer.refresh_from_db()
    assert customer.consent_marketing is False
    assert ConsentChange.objects.get(customer=customer).source == "link"
    assert not FollowupTask.objects.filter(customer=customer, status=TaskStatus.OPEN).exists()


def test_it_refuses_a_tampered_or_expired_link(customer, client):
    token = optout_token(customer.pk)
    assert client.get(f"/care/optout/{token[:-1]}x/").status_code == 404
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=400)):
        assert client.get(f"/care/optout/{token}/").status_code == 404
    customer.refresh_from_db()
    assert customer.consent_marketing is True


def test_it_puts_the_opt_out_link_into_marketing_messages(customer, settings, django_capture_on_commit_callbacks):
    settings.PUBLIC_BASE_URL = "https://fw.example.cn"
    from aftercare.followups.models import MessageTemplate

    MessageTemplate.objects.create(group=customer.store.group, code="promo", name="p", purpose="marketing",
                                   channel="sms", body_zh="特惠 退订点 {optout_url}")
    with time_machine.travel(dt.datetime(2026, 12, 7, 10, tzinfo=SH), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            message_send(customer=customer, purpose="marketing", channel="sms", template_code="promo",
                         language="zh-hans")
    assert LocmemBackend.outbox[0]["text"].startswith("特惠 退订点 https://fw.example.cn/care/optout/")


# ---- the property ----

_STEP = st.one_of(
    st.tuples(st.just("consent"), st.booleans(), st.sampled_from(["staff", "api", "import"])),
    st.tuples(st.just("reply"), st.sampled_from(["TD", "退订", "好"]), st.just("")),
    st.tuples(st.just("send"), st.sampled_from(["marketing", "service"]), st.just("")),
    st.tuples(st.just("release"), st.just(None), st.just("")),
)


def _consent_at(history, at, initial):
    granted = initial
    for change_at, value in history:
        if change_at <= at:
            granted = value
    return granted


@hsettings(max_examples=40, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(_STEP, st.integers(min_value=1, max_value=600)), min_size=1, max_size=14))
def test_it_never_sends_marketing_without_consent_at_send_time(store_a, manager, settings, steps,
                                                                django_capture_on_commit_callbacks):
    from aftercare.care.services.channels import sms_reply_receive

    settings.MESSAGE_MARKETING_WEEKLY_CAP = 1000
    at = dt.datetime(2026, 12, 7, 18, tzinfo=SH)
    sid = transaction.savepoint()
    try:
        customer = f.CustomerFactory(store=store_a, mobile="+8613700000003", consent_marketing=False)
        for (op, arg, source), minutes in steps:
            at += dt.timedelta(minutes=minutes)
            with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
                if op == "consent":
                    consent_set(actor=manager, customer=customer, purpose="marketing", granted=arg, source=source)
                elif op == "reply":
                    sms_reply_receive(sender="13700000003", text=arg)
                elif op == "send":
                    message_send(customer=customer, purpose=arg, channel="sms", text="x")
                else:
                    messages_release(now=at)
        history = list(ConsentChange.objects.filter(customer=customer, purpose="marketing")
                       .order_by("at", "id").values_list("at", "granted"))
        for sent_at in LetterLog.objects.filter(customer=customer, purpose="marketing",
                                                status=LetterStatus.SENT).values_list("sent_at", flat=True):
            assert _consent_at(history, sent_at, initial=False), (sent_at, history)
    finally:
        transaction.savepoint_rollback(sid)
