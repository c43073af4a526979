"""Feedback rows of a foreign store for the project-wide scoping walker."""

from aftercare.complaints.models import Feedback
from aftercare.org.choices import DepartmentKind
from aftercare.org.models import Department
from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    customer = f.CustomerFactory(store=store, name=f"{canary}-fb")
    user = f.UserFactory()
    department, _ = Department.objects.get_or_create(store=store, kind=DepartmentKind.SALES, defaults={"name": canary})
    feedback = Feedback.objects.create(
        store=store,
        kind="complaint",
        source="walk_in",
        category="sales",
        department=department,
        customer=customer,
        text=canary,
        created_by=user,
    )
    return {"feedback": feedback, "feedback_id": feedback, "department": department}
