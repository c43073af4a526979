"""Complaint rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py).

A routed form with its history, a handling document (a real file), a verification call task, a repeat repair
and a notification for one of the store's people: every one carries the canary, none may ever show.
"""

import datetime as dt

from django.core.files.base import ContentFile
from django.utils import timezone

from aftercare.complaints.models import DepartmentDesignee, Feedback, FeedbackAttachment, FeedbackEvent, RepeatRepair
from aftercare.core.models import Notification
from aftercare.followups.choices import FollowupKind, SubjectType
from aftercare.followups.models import FollowupTask
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.choices import DepartmentKind, Role
from aftercare.org.models import Department
from aftercare.testing import factories as f

TINY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def plant(store, canary) -> dict:
    now = timezone.now()
    customer = f.CustomerFactory(store=store, name=f"{canary}-fb")
    vehicle = f.owned_vehicle(customer, model=canary)
    designee = f.UserFactory()
    f.StaffFactory(user=designee, group=store.group, role=Role.DEPARTMENT_DESIGNEE, stores=[store], display_name=canary)
    department, _ = Department.objects.get_or_create(store=store, kind=DepartmentKind.SALES, defaults={"name": canary})
    DepartmentDesignee.objects.get_or_create(store=store, department=department, defaults={"user": designee})
    feedback = Feedback.objects.create(
        store=store,
        kind="complaint",
        source="walk_in",
        category="sales",
        department=department,
        customer=customer,
        vehicle=vehicle,
        text=canary,
        person_concerned=canary,
        actions_taken=canary,
        status="routed",
        assignee=designee,
        routed_at=now,
        deadline_at=now + dt.timedelta(days=3),
        created_by=designee,
    )
    event = FeedbackEvent.objects.create(
        store=store, feedback=feedback, actor=designee, action="routed", from_status="new", to_status="routed",
        note=canary,
    )
    attachment = FeedbackAttachment(
        store=store, feedback=feedback, name=f"{canary}.pdf", content_type="application/pdf", size=len(TINY_PDF),
        uploaded_by=designee,
    )
    attachment.file.save("x.pdf", ContentFile(TINY_PDF + canary.encode()), save=True)
    rules = {r.code: r for r in followup_rules_seed_defaults(store)}
    verification = FollowupTask.objects.create(
        store=store, rule=rules["VERIFY"], kind=FollowupKind.COMPLAINT_VERIFICATION,
        subject_type=SubjectType.FEEDBACK_RETURN, subject_id=event.pk, customer=customer, vehicle=vehicle,
        event_at=now, due_at=now + dt.timedelta(days=1), status_reason=canary,
    )
    first = f.RepairOrderFactory(store=store, customer=customer, vehicle=vehicle, fault_description=canary)
    again = f.RepairOrderFactory(store=store, customer=customer, vehicle=vehicle, fault_description=canary)
    repeat = RepeatRepair.objects.create(
        store=store, original=first, repeat=again, vehicle=vehicle, customer=customer, fault_key=canary
    )
    notification = Notification.objects.create(
        store=store, recipient=designee, title=canary, body=canary, link=f"/complaints/{feedback.pk}/"
    )
    return {
        "feedback": feedback,
        "feedback_id": feedback,
        "department": department,
        "feedback_event": event,
        "attachment_id": attachment,
        "verification_task": verification,
        "repeat_repair": repeat,
        "notification": notification,
        "fb_user": designee,
    }
