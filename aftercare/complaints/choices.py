from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercare.org.choices import DepartmentKind


class FeedbackKind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    GRIEVANCE = "grievance", _("Grievance")
    SUGGESTION = "suggestion", _("Suggestion")


class FeedbackSource(models.TextChoices):
    FOLLOWUP_CALL = "followup_call", _("Follow-up call")
    INBOUND_CALL = "inbound_call", _("Inbound call")
    WALK_IN = "walk_in", _("Walk-in")
    CARMAKER_HOTLINE = "carmaker_hotline", _("Carmaker hotline")
    ONLINE = "online", _("Online")


class FeedbackCategory(models.TextChoices):
    SALES = "sales", _("Sales")
    MECHANICAL = "mechanical", _("Mechanical repair")
    BODY = "body", _("Body work")
    PAINT = "paint", _("Paint")
    WASH = "wash", _("Car wash")
    PARTS = "parts", _("Parts")
    FACILITIES = "facilities", _("Facilities")
    PRODUCT_QUALITY = "product_quality", _("Product quality")


class FeedbackSeverity(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class FeedbackStatus(models.TextChoices):
    """The complaint form's stage: new → routed (department) → handled (returned to CS) → verified → archived.

    A verification call where the customer is not satisfied sends it back to `routed` (reopen count + 1).
    """

    NEW = "new", _("New, not yet routed")
    ROUTED = "routed", _("With the department")
    HANDLED = "handled", _("Returned, awaiting verification call")
    VERIFIED = "verified", _("Customer satisfied, awaiting archive")
    ARCHIVED = "archived", _("Archived")
    CLOSED = "closed", _("Closed without action")


OPEN_STATUSES = (FeedbackStatus.NEW, FeedbackStatus.ROUTED, FeedbackStatus.HANDLED, FeedbackStatus.VERIFIED)
FINAL_STATUSES = (FeedbackStatus.ARCHIVED, FeedbackStatus.CLOSED)


class PauseReason(models.TextChoices):
    """The stated waiting states that stop the handling clock."""

    WAITING_PARTS = "waiting_parts", _("Waiting for parts")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting for the customer")


class VerificationResult(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    NOT_SATISFIED = "not_satisfied", _("Not satisfied")


class FeedbackAction(models.TextChoices):
    """What happened to a form; one `FeedbackEvent` each, shown as the form's history and in its PDF."""

    CREATED = "created", _("Recorded")
    ROUTED = "routed", _("Sent to the department")
    REASSIGNED = "reassigned", _("Handed to another person")
    TAKEN_OVER = "taken_over", _("Taken over by a supervisor")
    REPORTED = "reported", _("Reported to a supervisor")
    NOTE = "note", _("Handling note")
    ATTACHMENT = "attachment", _("Document added")
    PAUSED = "paused", _("Clock paused")
    RESUMED = "resumed", _("Clock resumed")
    DUE_SOON = "due_soon", _("Due-soon warning")
    ESCALATED = "escalated", _("Escalated")
    RETURNED = "returned", _("Returned to customer service")
    VERIFICATION_TASK = "verification_task", _("Verification call planned")
    VERIFIED = "verified", _("Customer satisfied")
    REOPENED = "reopened", _("Customer not satisfied: reopened")
    ARCHIVED = "archived", _("Archived")
    CLOSED = "closed", _("Closed without action")


# Roles that count as "supervisor level or above" (KPI: complaint customers handled by supervisor level or above).
SUPERVISOR_LEVEL_ROLES = ("supervisor", "store_manager", "group_admin")

DEFAULT_DEADLINE_WORKING_DAYS = 3
# Default escalation tiers when a store configured none: (level, role, working days after the deadline).
DEFAULT_ESCALATION_TIERS = ((1, "supervisor", 0), (2, "store_manager", 1))


# The department a category goes to by default (the store's department of that kind, when it has one).
CATEGORY_DEPARTMENT = {
    FeedbackCategory.SALES: DepartmentKind.SALES,
    FeedbackCategory.MECHANICAL: DepartmentKind.SERVICE_MECHANICAL,
    FeedbackCategory.BODY: DepartmentKind.SERVICE_BODY,
    FeedbackCategory.PAINT: DepartmentKind.SERVICE_PAINT,
    FeedbackCategory.WASH: DepartmentKind.SERVICE_WASH,
    FeedbackCategory.PARTS: DepartmentKind.PARTS,
    FeedbackCategory.FACILITIES: DepartmentKind.CUSTOMER_SERVICE,
    FeedbackCategory.PRODUCT_QUALITY: DepartmentKind.SERVICE_MECHANICAL,
}
