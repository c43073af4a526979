"""Care rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py). Every one
carries the canary; none may ever show. Each part of the care app plants its rows in its own block."""

import datetime as dt

from django.utils import timezone

from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    rows: dict = {}
    rows.update(_plant_campaigns(store, canary))
    return rows


# ---- campaigns: a launched campaign with a target and its call task, a recall with a vehicle ----
def _plant_campaigns(store, canary) -> dict:
    from aftercare.care.models import Campaign, CampaignTarget, Recall, RecallVehicle
    from aftercare.followups.choices import SubjectType, Trigger
    from aftercare.followups.services.generation import TaskSubject, followup_task_create
    from aftercare.followups.services.rules import followup_rule_get

    today = timezone.localdate()
    customer = f.CustomerFactory(store=store, name=f"{canary}-cp", consent_marketing=True)
    vehicle = f.owned_vehicle(customer, model=canary)
    campaign = Campaign.objects.create(store=store, name=canary, description=canary, event_start=today,
                                       event_end=today + dt.timedelta(days=7), channels=["call", "sms"],
                                       sms_text=canary, state="launched", launched_at=timezone.now())
    campaign.stores.set([store])
    target = CampaignTarget.objects.create(store=store, campaign=campaign, customer=customer, vehicle=vehicle,
                                           class_at_launch="loyal", state="invited", reached=True)
    rule = followup_rule_get(store=store, trigger=Trigger.CAMPAIGN_INVITATION)
    (task,) = followup_task_create(actor=None, rule=rule, subjects=[
        TaskSubject(SubjectType.CAMPAIGN_TARGET, target.pk, customer.pk, vehicle.pk, timezone.now())])
    target.task = task
    target.save(update_fields=["task"])
    recall = Recall.objects.create(store=store, code=canary[:50], title=canary, started_on=today)
    recall_vehicle = RecallVehicle.objects.create(store=store, recall=recall, vehicle=vehicle, customer=customer)
    return {"campaign_id": campaign, "campaign_target_id": target, "recall_id": recall,
            "recall_vehicle_id": recall_vehicle, "campaign_task": task}
