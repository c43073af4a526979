"""Care rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py). Each part
plants its own in its block; every row carries the canary (or belongs to a customer who does); none may ever show."""

import datetime as dt


def plant(store, canary) -> dict:
    out: dict = {}
    # ---- remind: a reminder rule and a reminder with its call task ----
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
    out.update({"rule_id": rule, "reminder_id": reminder})
    # ---- end remind ----
    return out
