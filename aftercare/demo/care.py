"""The care part of the demo (issue 18), after the appointments: the reminder rules and today's reminders
(`care_remind`), a year of class history (`care_classes`), the churn-risk attributes, model and scores
(`care_churn`), the past campaigns (`care_campaigns`) and message templates, consent history and delivery log
(`care_channels`). Each part's module says what it builds."""

from __future__ import annotations

from aftercare.care.models import CareProfile
from aftercare.org.models import Store

from .care_campaigns import demo_care_campaigns_create
from .care_channels import demo_channels_create
from .care_churn import demo_churn_create
from .care_classes import demo_care_classes_create
from .care_remind import demo_care_remind_create


def demo_care_exist(stores: list[Store]) -> bool:
    return CareProfile.objects.filter(store__in=stores).exists()


def demo_care_create(*, stores: list[Store], seed: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    counts |= demo_care_remind_create(stores=stores, seed=seed)
    counts |= {k: v for k, v in demo_care_classes_create(stores=stores).items() if isinstance(v, int)}
    counts |= demo_churn_create(stores=stores)
    counts |= demo_care_campaigns_create(stores=stores, seed=seed)
    counts |= demo_channels_create(stores=stores, seed=seed)
    return counts
