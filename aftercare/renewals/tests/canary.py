"""Renewal rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py): a case
held by one of the store's specialists with a recorded outcome, its effective contact with a quote and a gift and its
follow-up task, the store's gift and settings, claim assistance and an SMS reminder with its letter. Every one
carries the canary; none may ever show."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from aftercare.followups.choices import FollowupKind, LetterChannel, LetterKind, SubjectType
from aftercare.followups.models import FollowupTask, LetterLog
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.choices import Role
from aftercare.renewals.models import (
    ClaimAssist,
    RenewalCase,
    RenewalContact,
    RenewalGift,
    RenewalReminder,
    RenewalSettings,
)
from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    now = timezone.now()
    today = timezone.localdate()
    rules = {r.code: r for r in followup_rules_seed_defaults(store)}
    customer = f.CustomerFactory(store=store, name=f"{canary}-rn", mobile="+8613700007732", consent_marketing=True)
    vehicle = f.owned_vehicle(customer, model=canary)
    policy = f.InsurancePolicyFactory(
        store=store, customer=customer, vehicle=vehicle, insurer=canary, start_date=today - dt.timedelta(days=330),
        expiry_date=today + dt.timedelta(days=35),
    )
    holder = f.UserFactory()
    f.StaffFactory(user=holder, group=store.group, role=Role.RENEWAL_SPECIALIST, stores=[store], display_name=canary)
    case = RenewalCase.objects.create(
        store=store, customer=customer, vehicle=vehicle, policy=policy, expiry_date=policy.expiry_date,
        segment="renewed_here", previous_insurer=canary, previous_premium=Decimal("4321.00"), holder=holder,
        claimed_at=now, outcome_insurer=canary, outcome_reason_text=canary, priority=1,
    )
    RenewalSettings.objects.get_or_create(store=store)
    gift = RenewalGift.objects.create(store=store, name=canary, cost=Decimal("88.00"))
    contact = RenewalContact.objects.create(
        store=store, case=case, number=1, due_on=today, quote_insurer=canary, next_step=canary, notes=canary,
        gift=gift, gift_cost=gift.cost, channel="phone", result="interested", effective=True, contacted_at=now,
        handler=holder,
    )
    task = FollowupTask.objects.create(
        store=store, rule=rules["RENEWAL"], kind=FollowupKind.RENEWAL, subject_type=SubjectType.RENEWAL_CONTACT,
        subject_id=contact.pk, customer=customer, vehicle=vehicle, event_at=now, due_at=now + dt.timedelta(days=3),
        status="claimed", claimed_by=holder, claimed_at=now, status_reason=canary,
    )
    contact.task = task
    contact.save(update_fields=["task"])
    claim_assist = ClaimAssist.objects.create(
        store=store, customer=customer, vehicle=vehicle, policy=policy, case=case, reported_on=today,
        description=canary, opened_by=holder,
    )
    letter = LetterLog.objects.create(
        store=store, customer=customer, kind=LetterKind.NOTICE, channel=LetterChannel.SMS, text=canary
    )
    reminder = RenewalReminder.objects.create(store=store, case=case, kind="two_months", sent_on=today, letter=letter)
    return {
        "renewal_case": case,
        "case_id": case,
        "renewal_contact": contact,
        "renewal_task": task,
        "gift": gift,
        "gift_id": gift,
        "claim_assist": claim_assist,
        "claim_assist_id": claim_assist,
        "renewal_reminder": reminder,
        "rn_user": holder,
    }
