"""Renewal rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py).

A held renewal case with a recorded contact (quote, gift) and an outcome, and a gift of the store: every one
carries the canary, none may ever show on a page or through the API of another store's user.
"""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from aftercare.renewals.models import RenewalCase, RenewalContact, RenewalGift, RenewalSettings
from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    customer = f.CustomerFactory(store=store, name=f"{canary}-renewal", address=canary)
    vehicle = f.owned_vehicle(customer, model=canary)
    policy = f.InsurancePolicyFactory(store=store, customer=customer, vehicle=vehicle, insurer=canary,
                                      start_date=dt.date(2026, 1, 1), expiry_date=dt.date(2026, 12, 31))
    holder = f.UserFactory()
    f.StaffFactory(user=holder, group=store.group, role="renewal_specialist", stores=[store], display_name=canary)
    RenewalSettings.objects.get_or_create(store=store)
    gift = RenewalGift.objects.create(store=store, name=canary, cost=Decimal("1.00"))
    case = RenewalCase.objects.create(
        store=store, customer=customer, vehicle=vehicle, policy=policy, expiry_date=policy.expiry_date,
        segment="renewed_here", priority=1, previous_insurer=canary, holder=holder, claimed_at=timezone.now(),
        outcome_insurer=canary, outcome_reason_text=canary,
    )
    contact = RenewalContact.objects.create(
        store=store, case=case, number=1, due_on=dt.date(2026, 11, 16), channel="phone", result="interested",
        effective=True, contacted_at=timezone.now(), handler=holder, quote_insurer=canary, gift=gift,
        gift_cost=gift.cost, next_step=canary, notes=canary,
    )
    return {"case_id": case, "renewal_case": case, "renewal_contact": contact, "gift_id": gift}
