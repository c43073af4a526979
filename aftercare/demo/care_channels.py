"""Demo data of the channels part (docs/care.md, "Channels and consent"): the group's message templates in Chinese
and English (an SMS service reminder, a marketing invitation with its opt-out link, a WeChat reminder), a week of the
delivery log per store (sent, delivered, held in quiet hours, failed, cancelled for consent or the weekly cap) and the
consent history of the customers who opted out. Fast: a few hundred rows, bulk inserted.

Entry: `demo_channels_create(stores=…, seed=…, now=…)`, called by the demo loader after the customers exist."""

import datetime as dt
import random

from django.utils import timezone

from aftercare.customers.models import ConsentChange, Customer
from aftercare.followups.models import LetterLog, MessageTemplate
from aftercare.org.models import Store

TEMPLATES = [
    dict(code="maintenance_due", name="保养到期提醒", purpose="service", channel="sms",
         body_zh="{customer_name}您好，您的爱车{plate}将于{date}到保养时间，欢迎预约。{store_name}",
         body_en="Dear {customer_name}, your {plate} is due for service on {date}. {store_name}"),
    dict(code="spring_checkup", name="春季免费检测邀请", purpose="marketing", channel="sms",
         body_zh="{customer_name}您好，{store_name}春季免费检测进行中，{date}前到店有礼。退订 {optout_url}",
         body_en="Dear {customer_name}, free spring check-up at {store_name} until {date}. Unsubscribe: {optout_url}"),
    dict(code="maintenance_due", name="保养到期提醒（微信）", purpose="service", channel="wechat",
         subject_zh="保养提醒", body_zh="{customer_name}您好，您的爱车{plate}将于{date}到保养时间。",
         wechat_template_id="DEMO-TEMPLATE-ID"),
]

STATUSES = [("sent", 50), ("delivered", 25), ("held", 6), ("failed", 5), ("cancelled", 14)]
ERRORS = {"failed": "WechatError: WeChat error 43004: require subscribe", "cancelled": "weekly cap reached"}


def demo_channels_exist(stores: list[Store]) -> bool:
    return MessageTemplate.objects.filter(group_id__in={s.group_id for s in stores}).exists()


def demo_channels_create(*, stores: list[Store], seed: int, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    rng = random.Random(seed * 7919 + 18)
    counts = {"message_templates": 0, "messages": 0, "consent_changes": 0}
    for group_id in sorted({s.group_id for s in stores}):
        for row in TEMPLATES:
            MessageTemplate.objects.get_or_create(group_id=group_id, store=None, code=row["code"],
                                                  channel=row["channel"], defaults=row)
            counts["message_templates"] += 1
    for store in stores:
        customers = list(Customer.objects.filter(store=store, is_active=True).exclude(mobile="")
                         .order_by("pk").values_list("pk", "consent_marketing")[:200])
        if not customers:
            continue
        letters, changes = [], []
        for customer_id, marketing in rng.sample(customers, min(60, len(customers))):
            status = rng.choices([s for s, _w in STATUSES], [w for _s, w in STATUSES])[0]
            purpose = "marketing" if marketing and rng.random() < 0.5 else "service"
            if status == "held":
                purpose = "marketing"
            at = now - dt.timedelta(days=rng.randint(0, 6), hours=rng.randint(0, 10))
            letters.append(LetterLog(
                store=store, customer_id=customer_id, kind="message", channel=rng.choice(["sms", "sms", "wechat"]),
                purpose=purpose, status=status, template_code="spring_checkup" if purpose == "marketing"
                else "maintenance_due", text="您好，您的爱车将到保养时间，欢迎预约。", error=ERRORS.get(status, ""),
                sent_at=at if status in ("sent", "delivered") else None,
                hold_until=(now + dt.timedelta(hours=10)) if status == "held" else None,
            ))
        for customer_id, marketing in customers[:8]:
            if marketing:
                continue
            at = now - dt.timedelta(days=rng.randint(1, 30))
            changes += [
                ConsentChange(store=store, customer_id=customer_id, purpose="marketing", granted=True, source="staff",
                              at=at - dt.timedelta(days=90)),
                ConsentChange(store=store, customer_id=customer_id, purpose="marketing", granted=False,
                              source=rng.choice(["reply", "link"]), at=at),
            ]
        LetterLog.objects.bulk_create(letters)
        ConsentChange.objects.bulk_create(changes)
        counts["messages"] += len(letters)
        counts["consent_changes"] += len(changes)
    return counts
