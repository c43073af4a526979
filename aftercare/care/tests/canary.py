"""Care rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py); every
part of the care app adds its rows in its own block of `plant`."""

from decimal import Decimal

from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    rows = {}
    rows.update(_plant_classes(store, canary))
    rows.update(_plant_churn(store, canary))
    rows.update(_plant_remind(store, canary))
    rows.update(_plant_campaigns(store, canary))
    return rows


# ---- classes: a lost customer with its profile, class history and churn reason ----


def _plant_classes(store, canary) -> dict:
    import datetime as dt

    from aftercare.care.models import CareProfile, ChurnReason, ClassChange

    customer = f.CustomerFactory(store=store, name=f"{canary}-cls", address=canary)
    today = dt.date.today()
    profile = CareProfile.objects.create(store=store, customer=customer, customer_class="lost", lost_rule="no_visit",
                                         class_since=today, classified_on=today, visits_12m=1, spend_12m=4321)
    ClassChange.objects.create(store=store, customer=customer, from_class="regular", to_class="lost",
                               rule="no_visit", on_date=today)
    reason = ChurnReason.objects.create(store=store, customer=customer, reason="other", note=canary,
                                        recorded_on=today)
    from aftercare.care.services.classes import class_flow_months_rebuild

    class_flow_months_rebuild(store_ids=[store.pk])  # its month summary, as the classification writes it
    return {"care_profile": profile, "churn_reason": reason, "class_customer": customer}


# ---- end classes ----


# ---- churn: a scored customer at the top of the risk list ----


def _plant_churn(store, canary) -> dict:
    import datetime as dt

    from aftercare.care.models import CareProfile, ChurnScore

    churn_customer = f.CustomerFactory(store=store, name=f"{canary}-churn", address=canary)
    CareProfile.objects.create(store=store, customer=churn_customer, distance_km=Decimal("99"))
    score = ChurnScore.objects.create(store=store, customer=churn_customer, risk=0.99, reasons=["complaints_6m:+"],
                                      scored_on=dt.date.today())
    return {"churn_customer": churn_customer, "churn_score": score}


# ---- end churn ----


# ---- remind: a reminder rule and a reminder with its call task ----


def _plant_remind(store, canary) -> dict:
    import datetime as dt

    from aftercare.care.choices import ReminderAction, ReminderKind, ReminderState
    from aftercare.care.models import Reminder
    from aftercare.care.services.remind import reminder_rules_map
    from aftercare.followups.choices import SubjectType, Trigger
    from aftercare.followups.services.generation import TaskSubject, followup_task_create
    from aftercare.followups.services.rules import followup_rule_get
    from aftercare.org.calendar import business_date, business_day_start
    from aftercare.testing import factories as f

    today = business_date()
    customer = f.CustomerFactory(store=store, name=f"{canary}-care")
    vehicle = f.owned_vehicle(customer, plate="粤A9C4N8", model=f"{canary}-model")
    rule = reminder_rules_map([store.pk])[store.pk][ReminderKind.MAINTENANCE]
    reminder = Reminder.objects.create(
        store=store, customer=customer, vehicle=vehicle, kind=ReminderKind.MAINTENANCE, due_on=today, made_on=today,
        action=ReminderAction.CALL, state=ReminderState.CALL, came_until=today + dt.timedelta(days=30))
    care_rule = followup_rule_get(store=store, trigger=Trigger.CARE_REMINDER_DUE)
    task = followup_task_create(actor=None, rule=care_rule, subjects=[
        TaskSubject(SubjectType.CARE_REMINDER, reminder.pk, customer.pk, vehicle.pk, business_day_start(today))])[0]
    Reminder.objects.filter(pk=reminder.pk).update(task=task)
    return ({"rule_id": rule, "reminder_id": reminder})


# ---- end remind ----


# ---- campaigns: a launched campaign with a target and its call task, a draft, a recall with a vehicle ----


def _plant_campaigns(store, canary) -> dict:
    import datetime as dt

    from django.utils import timezone

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
    # a draft too, so the edit routes (page and API PATCH) are walked with a campaign they would change
    draft = Campaign.objects.create(store=store, name=f"{canary}-draft", description=canary, event_start=today,
                                    event_end=today + dt.timedelta(days=7), segment={"model": canary},
                                    sms_text=canary)
    draft.stores.set([store])
    recall = Recall.objects.create(store=store, code=canary[:50], title=canary, started_on=today)
    recall_vehicle = RecallVehicle.objects.create(store=store, recall=recall, vehicle=vehicle, customer=customer)
    # `campaign_id` routes are walked with both (aftercare/core/tests/test_scoping.py, ID_PARAMS)
    return {"launched_campaign": campaign, "draft_campaign": draft, "campaign_target_id": target, "recall_id": recall,
            "recall_vehicle_id": recall_vehicle, "campaign_task": task}


# ---- end campaigns ----
