"""Follow-up rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py)."""

from aftercare.followups.choices import CallDirection, CallOutcome, CallPurpose, LetterChannel, LetterKind
from aftercare.followups.models import CallLog, FollowupTask, LetterLog
from aftercare.followups.services.generation import followup_tasks_for_repair_order
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.choices import Role
from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    rules = {r.code: r for r in followup_rules_seed_defaults(store)}
    customer = f.CustomerFactory(store=store, name=f"{canary}-fu", mobile="+8613700007731")
    vehicle = f.owned_vehicle(customer, model=canary)
    ro = f.RepairOrderFactory(store=store, customer=customer, vehicle=vehicle, fault_description=canary)
    followup_tasks_for_repair_order(repair_order=ro)
    task = FollowupTask.objects.get(subject_type="repair_order", subject_id=ro.pk, rule=rules["CSI"])
    user = f.UserFactory()
    f.StaffFactory(user=user, group=store.group, role=Role.CS_SPECIALIST, stores=[store], display_name=canary)
    call = CallLog.objects.create(
        store=store,
        task=task,
        customer=customer,
        handler=user,
        direction=CallDirection.INBOUND,
        purpose=CallPurpose.COMPLAINT,
        called_at=ro.settled_at,
        outcome=CallOutcome.COMPLETED,
        notes=canary,
    )
    letter = LetterLog.objects.create(
        store=store, task=task, customer=customer, kind=LetterKind.NOTICE, channel=LetterChannel.LETTER, text=canary
    )
    # ---- channels: a marketing SMS of the delivery log and a store template (care/messages/, care/templates/) ----
    from aftercare.followups.models import MessageTemplate

    message = LetterLog.objects.create(
        store=store, customer=customer, kind=LetterKind.MESSAGE, channel=LetterChannel.SMS, purpose="marketing",
        status="sent", text=canary, template_code="canary",
    )
    template = MessageTemplate.objects.create(
        group=store.group, store=store, code="canary", name=canary, purpose="marketing", channel="sms", body_zh=canary
    )
    # ---- end channels ----
    return {"task": task, "task_id": task, "rule": rules["CSI"], "call_log": call, "letter": letter, "fu_user": user,
            "message": message, "message_template": template}
