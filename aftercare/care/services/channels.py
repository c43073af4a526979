"""Writes of the channels part: message templates, a store's channel settings, the opt-out by reply keyword or link,
the delivery log's export. Sending itself is `aftercare.followups.services.outbound.message_send` (the one outbound
interface)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext

from aftercare.core.choices import AuditAction
from aftercare.core.exports import xlsx_bytes
from aftercare.core.services import audit_event_record
from aftercare.customers.choices import ConsentPurpose, ConsentSource
from aftercare.customers.models import Customer
from aftercare.customers.services import consent_set
from aftercare.customers.validators import mask_mobile, normalize_mobile
from aftercare.followups.choices import MESSAGE_CHANNELS
from aftercare.followups.models import ChannelSettings, LetterLog, MessageTemplate
from aftercare.followups.services.outbound import channel_rules, optout_customer_id
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

# a reply withdrawing marketing consent (the usual "回T退订" / "回TD退订" of Chinese marketing SMS)
OPT_OUT_KEYWORDS = frozenset({"T", "TD", "退订", "STOP", "UNSUBSCRIBE"})

CHANNEL_SETTINGS_FIELDS = ("quiet_start", "quiet_end", "marketing_weekly_cap", "calls_weekly_cap", "enabled_channels")
MARKETING_CAP_MAX = 21  # three a day at most
CALLS_CAP_MAX = 14


def channel_settings_update(*, actor, store: Store, **data) -> ChannelSettings:
    """Create or change a store's sending rules (quiet hours, weekly caps of marketing messages and of calls, the
    channels it sends on): one of the actor's own stores, permission care.manage; validated (errors name the
    field), audited with the changed fields. Fields not given keep their value (a store without a row: the
    settings' defaults)."""
    require_perm(actor, Perm.CARE_MANAGE)
    if store.pk not in own_store_ids(actor):
        raise PermissionDenied
    unknown = set(data) - set(CHANNEL_SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"unknown channel settings fields: {sorted(unknown)}")
    errors = {}
    cap = data.get("marketing_weekly_cap")
    if cap is not None and not (isinstance(cap, int) and 0 <= cap <= MARKETING_CAP_MAX):
        errors["marketing_weekly_cap"] = [gettext("Give a number from 0 to %(max)d.") % {"max": MARKETING_CAP_MAX}]
    cap = data.get("calls_weekly_cap")
    if cap is not None and not (isinstance(cap, int) and 1 <= cap <= CALLS_CAP_MAX):
        errors["calls_weekly_cap"] = [gettext("Give a number from 1 to %(max)d.") % {"max": CALLS_CAP_MAX}]
    channels = data.get("enabled_channels")
    if channels is not None and (not isinstance(channels, list | tuple)
                                 or any(c not in MESSAGE_CHANNELS for c in channels)):
        errors["enabled_channels"] = [gettext("Choose among SMS, e-mail and WeChat.")]
    if errors:
        raise ValidationError(errors)
    if channels is not None:
        data["enabled_channels"] = [c for c in MESSAGE_CHANNELS if c in channels]
    with transaction.atomic():
        row = ChannelSettings.objects.select_for_update().filter(store=store).first()
        created = row is None
        if created:
            rules = channel_rules(store.pk)
            row = ChannelSettings(store=store, quiet_start=rules.quiet_start, quiet_end=rules.quiet_end,
                                  marketing_weekly_cap=rules.marketing_weekly_cap,
                                  calls_weekly_cap=rules.calls_weekly_cap, enabled_channels=list(rules.channels))
        changed = [f for f in CHANNEL_SETTINGS_FIELDS if f in data and getattr(row, f) != data[f]]
        for name in changed:
            setattr(row, name, data[name])
        row.full_clean()
        row.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=row,
                           store_id=store.pk, changed_fields=changed)
    return row


TEMPLATE_FIELDS = (
    "code", "name", "purpose", "channel", "subject_zh", "body_zh", "subject_en", "body_en", "wechat_template_id",
    "is_active",
)


def message_template_save(*, actor, template: MessageTemplate | None = None, store: Store | None = None,
                          group_wide: bool = False, **fields) -> MessageTemplate:
    """Create (`template` None: for `store`, or its group when `group_wide`) or change a message template.
    Needs `care.manage`; variables checked (`MessageTemplate.clean`, naming an unknown one). Audited."""
    require_perm(actor, Perm.CARE_MANAGE)
    unknown = set(fields) - set(TEMPLATE_FIELDS)
    if unknown:
        raise TypeError(f"unknown template fields: {sorted(unknown)}")
    created = template is None
    if created:
        if store is None or store.pk not in own_store_ids(actor):
            raise PermissionDenied
        template = MessageTemplate(group_id=store.group_id, store=None if group_wide else store)
    elif template.store_id is not None and template.store_id not in own_store_ids(actor):
        raise PermissionDenied
    for name, value in fields.items():
        setattr(template, name, value)
    template.full_clean()
    with transaction.atomic():
        template.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=template,
                           store_id=template.store_id, changed_fields=fields.keys())
    return template


def sms_reply_receive(*, sender: str, text: str) -> int:
    """An SMS reply from the gateway: an opt-out keyword (TD, T, 退订, STOP) withdraws the marketing consent of every
    customer file with that mobile, at once (source: customer reply), which cancels their pending marketing.
    Returns how many files changed; other replies change nothing."""
    if (text or "").strip().upper() not in OPT_OUT_KEYWORDS:
        return 0
    try:
        mobile = normalize_mobile(sender)
    except ValidationError:
        return 0
    if not mobile:
        return 0
    changed = 0
    for customer in Customer.objects.filter(mobile=mobile, is_active=True).order_by("pk"):
        changed += consent_set(actor=None, customer=customer, purpose=ConsentPurpose.MARKETING, granted=False,
                               source=ConsentSource.REPLY, note="sms reply")
    return changed


def optout_customer(token: str) -> Customer | None:
    """The customer a signed opt-out link names (None: bad or expired link)."""
    customer_id = optout_customer_id(token)
    return Customer.objects.filter(pk=customer_id).select_related("store").first() if customer_id else None


def optout_by_link(*, customer: Customer) -> None:
    """The customer of an opt-out link (`optout_customer`) confirmed it: marketing consent withdrawn (source:
    link)."""
    consent_set(actor=None, customer=customer, purpose=ConsentPurpose.MARKETING, granted=False,
                source=ConsentSource.LINK, note="opt-out link")


def message_log_export_xlsx(*, actor, messages, filters: dict | None = None) -> bytes:
    """The (already scoped and filtered) delivery log as XLSX; phones masked. Audited as an export."""
    header = [
        gettext("Recorded"), gettext("Store"), gettext("Channel"), gettext("Purpose"), gettext("Status"),
        gettext("Template"), gettext("Sent at"), gettext("Customer number"), gettext("Customer"), gettext("Mobile"),
        gettext("Subject"), gettext("Text"), gettext("Error"),
    ]
    rows = (
        [
            m.created_at, m.store.code, m.get_channel_display(), m.get_purpose_display(), m.get_status_display(),
            m.template_code, m.sent_at, m.customer.number, m.customer.name,
            mask_mobile(m.customer.mobile) if m.customer.mobile else "", m.subject, m.text, m.error,
        ]
        for m in messages.iterator(chunk_size=2000)
    )
    content, n = xlsx_bytes("messages", header, rows)
    audit_event_record(actor=actor, action=AuditAction.EXPORT, object_type=LetterLog._meta.label_lower,
                       detail={"rows": n, "log": "messages", **(filters or {})})
    return content
