"""The outbound interface (followups/services/outbound.py): each channel, quiet hours in Asia/Shanghai, the
weekly marketing cap, consent at send time, templates."""

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError

from aftercare.core.sms import LocmemBackend
from aftercare.core.wechat import LocmemBackend as WechatLocmem
from aftercare.customers.services import consent_set
from aftercare.followups.choices import LetterStatus
from aftercare.followups.models import ChannelSettings, LetterLog, MessageTemplate
from aftercare.followups.services.outbound import letter_deliver, message_send, messages_release
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _backends(settings):
    settings.SMS_BACKEND = "aftercare.core.sms.LocmemBackend"
    settings.WECHAT_BACKEND = "aftercare.core.wechat.LocmemBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    LocmemBackend.outbox.clear()
    WechatLocmem.outbox.clear()
    cache.clear()


@pytest.fixture
def customer(store_a):
    return f.CustomerFactory(
        store=store_a, name="王芳", mobile="+8613800000001", email="wang@example.cn", wechat_openid="o-wang",
        consent_service_calls=True, consent_marketing=True,
    )


def _send(customer, *, capture, **kw):
    kw.setdefault("purpose", "service")
    kw.setdefault("channel", "sms")
    with capture(execute=True):
        return message_send(customer=customer, **kw)


def _at(hour, minute=0, day=7):  # Monday 7 December 2026 is a Monday
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SH)


def test_it_sends_an_sms_and_logs_it_sent(customer, django_capture_on_commit_callbacks):
    letter = _send(customer, capture=django_capture_on_commit_callbacks, text="您的车已修好")
    letter.refresh_from_db()
    assert letter.status == LetterStatus.SENT and letter.sent_at is not None
    assert LocmemBackend.outbox == [{"to": "+8613800000001", "text": "您的车已修好"}]


def test_it_sends_an_email_through_the_django_mail_backend(customer, django_capture_on_commit_callbacks):
    letter = _send(customer, capture=django_capture_on_commit_callbacks, channel="email", text="Hello",
                   subject="Your car")
    letter.refresh_from_db()
    assert letter.status == LetterStatus.SENT
    assert [(m.subject, m.to) for m in mail.outbox] == [("Your car", ["wang@example.cn"])]


def test_it_renders_a_template_in_chinese_or_english(customer, store_a, django_capture_on_commit_callbacks):
    MessageTemplate.objects.create(
        group=store_a.group, code="reminder", name="Reminder", purpose="service", channel="sms",
        body_zh="{customer_name}您好，请于{date}保养。", body_en="Dear {customer_name}, service due {date}.",
    )
    _send(customer, capture=django_capture_on_commit_callbacks, template_code="reminder", context={"date": "12-20"},
          language="zh-hans")
    _send(customer, capture=django_capture_on_commit_callbacks, template_code="reminder", context={"date": "12-20"},
          language="en")
    assert [m["text"] for m in LocmemBackend.outbox] == ["王芳您好，请于12-20保养。", "Dear 王芳, service due 12-20."]


def test_it_prefers_the_stores_template_to_the_groups(customer, store_a, django_capture_on_commit_callbacks):
    for store, body in ((None, "group"), (store_a, "store")):
        MessageTemplate.objects.create(group=store_a.group, store=store, code="x", name="x", purpose="service",
                                       channel="sms", body_zh=body)
    _send(customer, capture=django_capture_on_commit_callbacks, template_code="x", language="zh-hans")
    assert LocmemBackend.outbox[-1]["text"] == "store"


def test_it_refuses_a_template_with_an_unknown_variable_naming_it(store_a):
    template = MessageTemplate(group=store_a.group, code="bad", name="bad", purpose="service", channel="sms",
                               body_zh="您好{customer_name}，{coupon}")
    with pytest.raises(ValidationError) as exc:
        template.full_clean()
    assert "{coupon}" in str(exc.value.message_dict["body_zh"])


def test_it_names_a_variable_missing_from_the_context(customer, store_a):
    MessageTemplate.objects.create(group=store_a.group, code="r", name="r", purpose="service", channel="sms",
                                   body_zh="{date}")
    with pytest.raises(ValidationError) as exc:
        message_send(customer=customer, purpose="service", channel="sms", template_code="r")
    assert "{date}" in str(exc.value.message_dict["context"])


def test_it_refuses_bad_input_naming_the_field(customer, store_b):
    with pytest.raises(ValidationError) as exc:
        message_send(customer=customer, purpose="ads", channel="fax", text="x", store=store_b)
    assert {"purpose", "channel", "customer"} <= set(exc.value.message_dict)


def test_it_cancels_a_message_without_consent_of_its_purpose(customer, django_capture_on_commit_callbacks):
    customer.consent_marketing = False
    customer.save()
    with time_machine.travel(_at(10), tick=False):
        letter = _send(customer, capture=django_capture_on_commit_callbacks, purpose="marketing", text="促销")
    assert (letter.status, letter.error) == (LetterStatus.CANCELLED, "no marketing consent")
    assert LocmemBackend.outbox == []


def test_it_checks_consent_again_when_it_sends(customer, store_a, django_capture_on_commit_callbacks):
    with time_machine.travel(_at(22), tick=False):
        letter = _send(customer, capture=django_capture_on_commit_callbacks, purpose="marketing", text="促销")
    assert letter.status == LetterStatus.HELD
    # withdrawn by other means than consent_set (no signal): the send-time check still stops it
    type(customer).objects.filter(pk=customer.pk).update(consent_marketing=False)
    assert letter_deliver(letter_id=letter.pk, now=_at(8, day=8)) is False
    letter.refresh_from_db()
    assert letter.status == LetterStatus.CANCELLED and LocmemBackend.outbox == []


@pytest.mark.parametrize(
    ("hour", "minute", "held"), [(20, 59, False), (21, 0, True), (7, 59, True), (8, 0, False)]
)
def test_it_holds_marketing_in_quiet_hours_of_shanghai(customer, hour, minute, held,
                                                        django_capture_on_commit_callbacks):
    with time_machine.travel(_at(hour, minute, day=8), tick=False):
        letter = _send(customer, capture=django_capture_on_commit_callbacks, purpose="marketing", text="促销")
    letter.refresh_from_db()
    assert (letter.status == LetterStatus.HELD) is held
    assert (letter.status == LetterStatus.SENT) is not held
    if held:
        expected_day = 9 if hour >= 21 else 8
        assert letter.hold_until == _at(8, day=expected_day)


def test_it_never_holds_service_messages(customer, django_capture_on_commit_callbacks):
    with time_machine.travel(_at(23), tick=False):
        letter = _send(customer, capture=django_capture_on_commit_callbacks, text="您的车已修好")
    letter.refresh_from_db()
    assert letter.status == LetterStatus.SENT


def test_it_sends_held_messages_when_the_quiet_hours_end(customer, django_capture_on_commit_callbacks):
    with time_machine.travel(_at(22), tick=False):
        letter = _send(customer, capture=django_capture_on_commit_callbacks, purpose="marketing", text="促销")
    assert messages_release(now=_at(7, 45, day=8)) == 0
    assert messages_release(now=_at(8, 0, day=8)) == 1
    assert messages_release(now=_at(8, 15, day=8)) == 0  # sent once
    letter.refresh_from_db()
    assert letter.status == LetterStatus.SENT and len(LocmemBackend.outbox) == 1


def test_it_follows_a_stores_own_quiet_hours(customer, store_a, django_capture_on_commit_callbacks):
    ChannelSettings.objects.create(store=store_a, quiet_start=dt.time(20), quiet_end=dt.time(9),
                                   marketing_weekly_cap=3, calls_weekly_cap=2)
    with time_machine.travel(_at(20, 30), tick=False):
        letter = _send(customer, capture=django_capture_on_commit_callbacks, purpose="marketing", text="促销")
    assert letter.status == LetterStatus.HELD and letter.hold_until == _at(9, day=8)


def test_it_caps_marketing_per_customer_a_week_but_not_service(customer, settings,
                                                               django_capture_on_commit_callbacks):
    settings.MESSAGE_MARKETING_WEEKLY_CAP = 3
    statuses = []
    for day in (7, 8, 9, 10):  # Monday to Thursday
        with time_machine.travel(_at(10, day=day), tick=False):
            statuses.append(_send(customer, capture=django_capture_on_commit_callbacks, purpose="marketing",
                                  text="促销").status)
    assert statuses[3] == LetterStatus.CANCELLED
    assert LetterLog.objects.filter(status=LetterStatus.SENT).count() == 3
    with time_machine.travel(_at(10, day=10), tick=False):
        assert _send(customer, capture=django_capture_on_commit_callbacks, text="服务").status != "cancelled"
    with time_machine.travel(_at(10, day=14), tick=False):  # next Monday: a new week
        letter = _send(customer, capture=django_capture_on_commit_callbacks, purpose="marketing", text="促销")
    letter.refresh_from_db()
    assert letter.status == LetterStatus.SENT


def test_it_records_a_gateway_failure_with_its_error(customer, settings, django_capture_on_commit_callbacks):
    settings.SMS_BACKEND = "aftercare.core.sms.BaseBackend"
    letter = _send(customer, capture=django_capture_on_commit_callbacks, text="x")
    letter.refresh_from_db()
    assert letter.status == LetterStatus.FAILED and "NotImplementedError" in letter.error


def test_it_resends_a_message_a_killed_run_left_queued_for_more_than_10_minutes(customer):
    # queued, then the run was killed before its commit callback handed them to the gateway
    old = message_send(customer=customer, purpose="service", channel="sms", text="旧的")
    recent = message_send(customer=customer, purpose="service", channel="sms", text="新的")
    LetterLog.objects.filter(pk=old.pk).update(created_at=_at(9, 49))  # 11 minutes before the run
    LetterLog.objects.filter(pk=recent.pk).update(created_at=_at(9, 51))  # 9 minutes: maybe still being sent
    assert messages_release(now=_at(10)) == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.status, recent.status) == (LetterStatus.SENT, LetterStatus.PENDING)
    assert [m["text"] for m in LocmemBackend.outbox] == ["旧的"]


# ---- WeChat against a local fake of the official API ----

class _FakeWechat(BaseHTTPRequestHandler):
    calls: list = []
    tokens = iter(())
    send_answers: list = []

    def log_message(self, *args):
        pass

    def _answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        self.calls.append(("GET", url.path, parse_qs(url.query), None))
        self._answer({"access_token": next(self.tokens), "expires_in": 7200})

    def do_POST(self):
        url = urlparse(self.path)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(("POST", url.path, parse_qs(url.query), body))
        self._answer(self.send_answers.pop(0))


@pytest.fixture
def fake_wechat(settings):
    server = HTTPServer(("127.0.0.1", 0), _FakeWechat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.WECHAT_BACKEND = "aftercare.core.wechat.HttpBackend"
    settings.WECHAT_API_BASE = f"http://127.0.0.1:{server.server_port}"
    settings.WECHAT_APP_ID, settings.WECHAT_APP_SECRET = "wxapp", "secret"
    _FakeWechat.calls = []
    yield _FakeWechat
    server.shutdown()
    server.server_close()


@pytest.fixture
def wechat_template(store_a):
    return MessageTemplate.objects.create(
        group=store_a.group, code="invite", name="Invite", purpose="service", channel="wechat",
        subject_zh="保养提醒", body_zh="{customer_name}，您的爱车该保养了", wechat_template_id="TPL-1",
    )


def test_it_sends_a_wechat_template_message_with_a_token(customer, fake_wechat, wechat_template,
                                                          django_capture_on_commit_callbacks):
    fake_wechat.tokens = iter(["T1"])
    fake_wechat.send_answers = [{"errcode": 0, "errmsg": "ok", "msgid": 1}, {"errcode": 0, "msgid": 2}]
    for _ in range(2):
        letter = _send(customer, capture=django_capture_on_commit_callbacks, channel="wechat",
                       template_code="invite", language="zh-hans")
        letter.refresh_from_db()
        assert letter.status == LetterStatus.SENT
    token_calls = [c for c in fake_wechat.calls if c[0] == "GET"]
    assert len(token_calls) == 1 and token_calls[0][1] == "/cgi-bin/token"
    assert token_calls[0][2]["appid"] == ["wxapp"]
    method, path, query, body = fake_wechat.calls[1]
    assert (method, path, query["access_token"]) == ("POST", "/cgi-bin/message/template/send", ["T1"])
    assert body["touser"] == "o-wang" and body["template_id"] == "TPL-1"
    assert body["data"]["content"]["value"] == "王芳，您的爱车该保养了"


def test_it_refreshes_an_expired_wechat_token_once(customer, fake_wechat, wechat_template,
                                                    django_capture_on_commit_callbacks):
    fake_wechat.tokens = iter(["OLD", "NEW"])
    fake_wechat.send_answers = [{"errcode": 42001, "errmsg": "access_token expired"}, {"errcode": 0, "msgid": 9}]
    letter = _send(customer, capture=django_capture_on_commit_callbacks, channel="wechat", template_code="invite")
    letter.refresh_from_db()
    assert letter.status == LetterStatus.SENT
    posts = [c[2]["access_token"] for c in fake_wechat.calls if c[0] == "POST"]
    assert posts == [["OLD"], ["NEW"]]


def test_it_marks_a_wechat_api_error_failed_with_its_code(customer, fake_wechat, wechat_template,
                                                          django_capture_on_commit_callbacks):
    fake_wechat.tokens = iter(["T"])
    fake_wechat.send_answers = [{"errcode": 43004, "errmsg": "require subscribe"}]
    letter = _send(customer, capture=django_capture_on_commit_callbacks, channel="wechat", template_code="invite")
    letter.refresh_from_db()
    assert letter.status == LetterStatus.FAILED and "43004" in letter.error and "require subscribe" in letter.error


def test_it_withdraws_marketing_and_cancels_pending_marketing_at_once(customer, store_a, manager,
                                                                      django_capture_on_commit_callbacks):
    with time_machine.travel(_at(22), tick=False):
        held = _send(customer, capture=django_capture_on_commit_callbacks, purpose="marketing", text="促销")
        service = _send(customer, capture=django_capture_on_commit_callbacks, text="服务")
    consent_set(actor=manager, customer=customer, purpose="marketing", granted=False, source="staff")
    held.refresh_from_db()
    assert held.status == LetterStatus.CANCELLED
    service.refresh_from_db()
    assert service.status == LetterStatus.SENT
    assert messages_release(now=_at(9, day=8)) == 0
    change = customer.consent_changes.get()
    assert (change.purpose, change.granted, change.source, change.by) == ("marketing", False, "staff", manager)
