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


class FeedbackStatus(models.TextChoices):
    """The complaint workflow; this issue only creates `new` rows, routing and archiving come later."""

    NEW = "new", _("New")
    ROUTED = "routed", _("Sent to the department")
    HANDLED = "handled", _("Handled by the department")
    VERIFIED = "verified", _("Verified with the customer")
    ARCHIVED = "archived", _("Archived")
    CLOSED = "closed", _("Closed without action")


OPEN_STATUSES = (FeedbackStatus.NEW, FeedbackStatus.ROUTED, FeedbackStatus.HANDLED)

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
