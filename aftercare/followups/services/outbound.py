"""The one outbound interface: SMS, e-mail and WeChat service-account template messages, with consent by
purpose, quiet hours and a weekly cap, every message a row of the letter log (`LetterLog`, the delivery log).

`message_send` queues a message (free text or a `MessageTemplate` rendered in Chinese or English) and decides:

- **consent at send time**: a service message needs `consent_service_calls`, a marketing one `consent_marketing`;
  checked when the message is queued and again when it is handed to the channel (`letter_deliver`), so a
  withdrawal in between stops it (status `cancelled`, reason in `error`);
- **the store's channels**: a channel the store turned off (`ChannelSettings.enabled_channels`) sends nothing, of
  either purpose: the message is `cancelled` ("channel disabled"), checked when queued and again when sent;
- **quiet hours** (marketing only): a marketing message due between `quiet_start` and `quiet_end` of the store
  (default 21:00–08:00 Asia/Shanghai, `ChannelSettings` or the settings) is `held` until the end of the quiet hours
  and sent then by the job `messages_release` — never dropped;
- **weekly cap** (marketing only): a customer gets at most `marketing_weekly_cap` marketing messages (queued, held,
  sent or delivered) per calendar week (Monday 00:00 Asia/Shanghai); beyond it the message is `cancelled` with the
  reason. Service messages (reminders of a booking, a notice to an unreachable customer) are never capped.

The channel backends: `aftercare.core.sms` (SMS_BACKEND), Django's mail (EMAIL_BACKEND) and `aftercare.core.wechat`
(WECHAT_BACKEND). A marketing message's context carries `optout_url`, a signed link to the public opt-out page.
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.core.sms import sms_send
from aftercare.core.timezones import business_tz
from aftercare.core.wechat import wechat_send
from aftercare.customers.models import Customer
from aftercare.org.calendar import week_start

from ..choices import MESSAGE_CHANNELS, LetterChannel, LetterKind, LetterStatus, MessagePurpose
from ..models import ChannelSettings, LetterLog, MessageTemplate

# ---- templates -----------------------------------------------------------------------------------------------

TEMPLATE_VARIABLES = {
    "customer_name": _("the customer's name"),
    "store_name": _("the store's name"),
    "store_phone": _("the store's phone"),
    "plate": _("the plate"),
    "vehicle": _("the vehicle"),
    "date": _("a date"),
    "time": _("a time"),
    "link": _("a link"),
    "campaign": _("the campaign"),
    "optout_url": _("the opt-out link (marketing, given by the system)"),
}
_VARIABLE = re.compile(r"\{(\w*)\}")


def template_variables() -> dict:
    return dict(TEMPLATE_VARIABLES)


def template_variables_check(text: str) -> None:
    """Refuse a text using an unknown `{variable}`, naming it (and the known ones)."""
    known = template_variables()
    unknown = sorted({name for name in _VARIABLE.findall(text) if name not in known})
    if unknown:
        raise ValidationError(
            gettext("Unknown variable {%(name)s}; the variables are: %(known)s.")
            % {"name": unknown[0], "known": ", ".join("{" + k + "}" for k in sorted(known))}
        )


def template_render(text: str, context: dict) -> str:
    """`{variable}` → its value in `context`; a variable missing from the context is an error naming it."""
    missing = sorted({name for name in _VARIABLE.findall(text) if name not in context})
    if missing:
        raise ValidationError({"context": [gettext("No value for the variable {%(name)s}.") % {"name": missing[0]}]})
    return _VARIABLE.sub(lambda m: str(context[m.group(1)]), text)


def message_template_get(*, store, code: str, channel: str) -> MessageTemplate | None:
    """The store's own active template of `code` for `channel`, else its group's."""
    rows = MessageTemplate.objects.filter(group_id=store.group_id, code=code, channel=channel, is_active=True)
    rows = [t for t in rows if t.store_id in (None, store.pk)]
    rows.sort(key=lambda t: t.store_id is None)
    return rows[0] if rows else None


# ---- the rules -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    quiet_start: dt.time
    quiet_end: dt.time
    marketing_weekly_cap: int
    calls_weekly_cap: int
    channels: tuple[str, ...] = MESSAGE_CHANNELS  # the channels the store sends on


def _hhmm(value: str) -> dt.time:
    return dt.time.fromisoformat(value)


def channel_rules(store_id: int) -> Rules:
    """The store's sending rules (`ChannelSettings`), else the settings' defaults."""
    row = ChannelSettings.objects.filter(store_id=store_id).first()
    if row is not None:
        return Rules(row.quiet_start, row.quiet_end, row.marketing_weekly_cap, row.calls_weekly_cap,
                     tuple(row.enabled_channels or ()))
    return Rules(
        _hhmm(settings.MESSAGE_QUIET_HOURS_START), _hhmm(settings.MESSAGE_QUIET_HOURS_END),
        settings.MESSAGE_MARKETING_WEEKLY_CAP, settings.CALLS_WEEKLY_CAP,
    )


def _rules(store_id: int, rules_by_store: dict[int, Rules] | None) -> Rules:
    """The store's rules, read once per store when the caller keeps `rules_by_store`."""
    if rules_by_store is None:
        return channel_rules(store_id)
    if store_id not in rules_by_store:
        rules_by_store[store_id] = channel_rules(store_id)
    return rules_by_store[store_id]


def in_quiet_hours(at: dt.datetime, rules: Rules) -> bool:
    """Whether `at` (local time in Asia/Shanghai) is in `[quiet_start, quiet_end)`; the window may span midnight."""
    t = at.astimezone(business_tz()).time().replace(tzinfo=None)
    start, end = rules.quiet_start, rules.quiet_end
    if start == end:
        return False
    return start <= t < end if start < end else (t >= start or t < end)


def quiet_hours_end(at: dt.datetime, rules: Rules) -> dt.datetime:
    """The first moment at or after `at` outside the quiet hours."""
    if not in_quiet_hours(at, rules):
        return at
    local = at.astimezone(business_tz())
    end = local.replace(hour=rules.quiet_end.hour, minute=rules.quiet_end.minute, second=0, microsecond=0)
    if end <= local:
        end = (local + dt.timedelta(days=1)).replace(
            hour=rules.quiet_end.hour, minute=rules.quiet_end.minute, second=0, microsecond=0
        )
    return end.astimezone(dt.UTC)


COUNTED_STATUSES = (LetterStatus.PENDING, LetterStatus.HELD, LetterStatus.SENT, LetterStatus.DELIVERED)


def marketing_count_this_week(*, customer_id: int, at: dt.datetime) -> int:
    return LetterLog.objects.filter(
        customer_id=customer_id, purpose=MessagePurpose.MARKETING, status__in=COUNTED_STATUSES,
        created_at__gte=week_start(at),
    ).count()


def _channel_off(channel: str, rules: Rules) -> str:
    """'channel disabled' when the store does not send on `channel` (`ChannelSettings.enabled_channels`), else ''."""
    return "" if channel in rules.channels else "channel disabled"


def _address(customer: Customer, channel: str) -> str:
    return {"sms": customer.mobile, "email": customer.email, "wechat": customer.wechat_openid}.get(channel, "")


def _refusal(customer: Customer, purpose: str, channel: str) -> str:
    """Why the message may not go to the customer now (consent, address), or ''."""
    if purpose == MessagePurpose.MARKETING and not customer.consent_marketing:
        return "no marketing consent"
    if purpose == MessagePurpose.SERVICE and not customer.consent_service_calls:
        return "no service consent"
    if not customer.is_active:
        return "customer file merged"
    if not _address(customer, channel):
        return f"no {channel} address"
    return ""


# ---- the opt-out link ----------------------------------------------------------------------------------------

OPT_OUT_SALT = "aftercare.followups.opt_out"


def optout_token(customer_id: int) -> str:
    return signing.TimestampSigner(salt=OPT_OUT_SALT).sign(signing.b62_encode(customer_id))


def optout_customer_id(token: str) -> int | None:
    """The customer a signed opt-out token names, or None (bad signature, expired)."""
    try:
        value = signing.TimestampSigner(salt=OPT_OUT_SALT).unsign(
            token, max_age=dt.timedelta(days=settings.OPT_OUT_LINK_DAYS)
        )
        return signing.b62_decode(value)
    except (signing.BadSignature, ValueError):
        return None


def optout_url(customer_id: int) -> str:
    return settings.PUBLIC_BASE_URL + reverse("care:optout", args=[optout_token(customer_id)])


# ---- sending -------------------------------------------------------------------------------------------------


def message_send(
    *,
    customer: Customer,
    purpose: str,
    channel: str,
    template_code: str = "",
    text: str = "",
    subject: str = "",
    context: dict | None = None,
    store=None,
    actor=None,
    task=None,
    kind: str = LetterKind.MESSAGE,
    language: str | None = None,
    now: dt.datetime | None = None,
    rules_by_store: dict[int, Rules] | None = None,
) -> LetterLog:
    """Queue one message to `customer` and hand it to its channel (after the caller's transaction commits) —
    or hold it (marketing in quiet hours) or cancel it (no consent, no address, weekly cap), each with its row in
    the letter log. Give either `template_code` (rendered with `context` in the customer's language: Chinese
    unless `language` is English) or `text`. Bad input raises `ValidationError` naming the field.
    `rules_by_store`: the stores' rules a caller queuing many messages has read (filled as they are read)."""
    now = now or timezone.now()
    store = store or customer.store
    context = dict(context or {})
    errors = {}
    if purpose not in MessagePurpose.values:
        errors["purpose"] = [gettext("Choose service or marketing.")]
    if channel not in MESSAGE_CHANNELS:
        errors["channel"] = [gettext("Choose SMS, e-mail or WeChat.")]
    if customer.store_id != store.pk:
        errors["customer"] = [gettext("The customer belongs to another store.")]
    if bool(template_code) == bool((text or "").strip()):
        errors["template_code"] = [gettext("Give either a template or a text.")]
    if errors:
        raise ValidationError(errors)
    context.setdefault("customer_name", customer.name)
    context.setdefault("store_name", store.name)
    if purpose == MessagePurpose.MARKETING:
        context.setdefault("optout_url", optout_url(customer.pk))
    if template_code:
        template = message_template_get(store=store, code=template_code, channel=channel)
        if template is None:
            raise ValidationError(
                {"template_code": [gettext("No active template %(code)s for this channel.") % {"code": template_code}]}
            )
        english = (language or get_language() or "zh-hans").startswith("en") and template.body_en
        subject = template_render((template.subject_en if english else template.subject_zh) or "", context)
        text = template_render(template.body_en if english else template.body_zh, context)
        if channel == LetterChannel.WECHAT and not template.wechat_template_id:
            raise ValidationError({"template_code": [gettext("The template has no WeChat template id.")]})
    elif channel == LetterChannel.WECHAT:
        raise ValidationError({"template_code": [gettext("A WeChat message needs a template.")]})
    rules = _rules(store.pk, rules_by_store)
    with transaction.atomic():
        letter = LetterLog(
            store=store, customer=customer, task=task, kind=kind, channel=channel, purpose=purpose,
            template_code=template_code or "", subject=(subject or "")[:200], text=text.strip(),
            handler=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
            status=LetterStatus.PENDING,
        )
        reason = _refusal(customer, purpose, channel) or _channel_off(channel, rules)
        if not reason and purpose == MessagePurpose.MARKETING:
            if marketing_count_this_week(customer_id=customer.pk, at=now) >= rules.marketing_weekly_cap:
                reason = "weekly cap reached"
        if reason:
            letter.status, letter.error = LetterStatus.CANCELLED, reason
        elif purpose == MessagePurpose.MARKETING and in_quiet_hours(now, rules):
            letter.status, letter.hold_until = LetterStatus.HELD, quiet_hours_end(now, rules)
        letter.full_clean()
        letter.save()
        if actor is not None:
            audit_event_record(actor=actor, action=AuditAction.CREATE, obj=letter,
                               detail={"purpose": purpose, "channel": channel, "status": letter.status})
        if letter.status == LetterStatus.PENDING:
            letter_id = letter.pk
            transaction.on_commit(lambda: letter_deliver(letter_id=letter_id))
    return letter


def _dispatch(letter: LetterLog) -> None:
    customer = letter.customer
    if letter.channel == LetterChannel.SMS:
        sms_send(to=customer.mobile, text=letter.text)
    elif letter.channel == LetterChannel.EMAIL:
        send_mail(letter.subject or letter.text[:60], letter.text, settings.DEFAULT_FROM_EMAIL, [customer.email])
    elif letter.channel == LetterChannel.WECHAT:
        template = message_template_get(store=letter.store, code=letter.template_code, channel=letter.channel)
        if template is None or not template.wechat_template_id:
            raise ValueError("no WeChat template")
        data = {"first": {"value": letter.subject}, "content": {"value": letter.text}}
        wechat_send(openid=customer.wechat_openid, template_id=template.wechat_template_id, data=data)
    else:
        raise ValueError(f"channel {letter.channel} is not sent")


def letter_deliver(*, letter_id: int, now: dt.datetime | None = None, rules_by_store: dict[int, Rules] | None = None
                   ) -> bool:
    """Hand one queued (or held and due) message to its channel, checking consent and quiet hours again now;
    marks it sent, failed (with the error; the row stays), held or cancelled. The row is locked while sending
    (PostgreSQL skips a row another run is sending), so no message goes twice. Returns whether it was sent now.
    `rules_by_store`: the stores' rules a caller sending many messages has read (filled as they are read)."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = LetterLog.objects.filter(pk=letter_id, status__in=(LetterStatus.PENDING, LetterStatus.HELD),
                                        channel__in=MESSAGE_CHANNELS)
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        letter = rows.select_related("customer", "store").first()
        if letter is None:
            return False
        rules = _rules(letter.store_id, rules_by_store)
        # the consent and the store's channels as they are now
        reason = _refusal(letter.customer, letter.purpose, letter.channel) or _channel_off(letter.channel, rules)
        if reason:
            LetterLog.objects.filter(pk=letter.pk).update(status=LetterStatus.CANCELLED, error=reason, updated_at=now)
            return False
        if letter.purpose == MessagePurpose.MARKETING:
            if in_quiet_hours(now, rules):
                LetterLog.objects.filter(pk=letter.pk).update(
                    status=LetterStatus.HELD, hold_until=quiet_hours_end(now, rules), updated_at=now
                )
                return False
        try:
            _dispatch(letter)
        except Exception as exc:  # the gateway failed: keep the row with the reason, someone may resend
            error = f"{type(exc).__name__}: {exc}"[:300]
            LetterLog.objects.filter(pk=letter.pk).update(status=LetterStatus.FAILED, error=error, updated_at=now)
            return False
        LetterLog.objects.filter(pk=letter.pk).update(
            status=LetterStatus.SENT, sent_at=now, hold_until=None, error="", updated_at=now
        )
    return True


def messages_release(*, now: dt.datetime | None = None, stale_minutes: int = 10) -> int:
    """The job `messages_release`: send the held messages now due, and the queued ones a killed run left unsent
    (queued more than `stale_minutes` ago). Returns how many were sent."""
    now = now or timezone.now()
    held = LetterLog.objects.filter(status=LetterStatus.HELD, hold_until__lte=now).values_list("pk", flat=True)
    stale = LetterLog.objects.filter(
        status=LetterStatus.PENDING, kind=LetterKind.MESSAGE, channel__in=MESSAGE_CHANNELS,
        created_at__lte=now - dt.timedelta(minutes=stale_minutes),
    ).values_list("pk", flat=True)
    ids = sorted(set(held) | set(stale))
    rules_by_store: dict[int, Rules] = {}  # each store's rules read once
    return sum(1 for letter_id in ids if letter_deliver(letter_id=letter_id, now=now, rules_by_store=rules_by_store))


def marketing_pending_cancel(*, customer_id: int, reason: str = "marketing consent withdrawn") -> int:
    """Cancel the customer's queued and held marketing messages (consent withdrawn). Returns how many."""
    return LetterLog.objects.filter(
        customer_id=customer_id, purpose=MessagePurpose.MARKETING,
        status__in=(LetterStatus.PENDING, LetterStatus.HELD),
    ).update(status=LetterStatus.CANCELLED, error=reason, updated_at=timezone.now())
