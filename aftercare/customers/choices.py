from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerSource(models.TextChoices):
    SALES = "sales", _("New-car sale")
    SERVICE = "service", _("Repair / maintenance")
    PARTS_COUNTER = "parts_counter", _("Parts counter")
    CONSULTATION = "consultation", _("Consultation")
    DMS_IMPORT = "dms_import", _("DMS import")
    OTHER = "other", _("Other")


class BackgroundCategory(models.TextChoices):
    PRIVATE = "private", _("Private owner")
    COMPANY = "company", _("Company / fleet")
    GOVERNMENT = "government", _("Government / institution")
    TAXI = "taxi", _("Taxi / ride-hailing")
    OTHER = "other", _("Other")


class RepairKind(models.TextChoices):
    MAINTENANCE = "maintenance", _("Maintenance")
    FIRST_FREE_MAINTENANCE = "first_free_maintenance", _("First free maintenance")
    MECHANICAL = "mechanical", _("Mechanical repair")
    BODY = "body", _("Body repair")
    PAINT = "paint", _("Paint")
    WASH = "wash", _("Car wash")
    WARRANTY_CLAIM = "warranty_claim", _("Warranty claim")
    INSURANCE_JOB = "insurance_job", _("Insurance job")
    INTERNAL = "internal", _("Internal")


class PolicyKind(models.TextChoices):
    NEW_CAR = "new_car", _("New-car policy")
    RENEWAL = "renewal", _("Renewal")


class LossReason(models.TextChoices):
    """Why a customer was lost: one list for the renewals that did not happen (战败分析) and for churn (care)."""

    PRICE = "price", _("Price")
    CLAIMS_EXPERIENCE = "claims_experience", _("Claims experience")
    SOLD_CAR = "sold_car", _("Sold the car")
    MOVED = "moved", _("Moved away")
    UNREACHABLE = "unreachable", _("Unreachable")
    SERVICE = "service", _("Service quality")
    ANOTHER_DEALER = "another_dealer", _("Another dealer")
    OTHER = "other", _("Other (say what)")


class MileageSource(models.TextChoices):
    REPAIR_ORDER = "repair_order", _("Repair order")
    DELIVERY = "delivery", _("Delivery")
    MANUAL = "manual", _("Manual entry")


# ---- channels: consent by purpose (PIPL) ----
class ConsentPurpose(models.TextChoices):
    SERVICE = "service", _("Service contact")
    MARKETING = "marketing", _("Marketing")


class ConsentSource(models.TextChoices):
    IMPORT = "import", _("Import")
    STAFF = "staff", _("Staff")
    REPLY = "reply", _("Customer reply")
    LINK = "link", _("Opt-out link")
    API = "api", _("API")


# the Customer flag that holds the consent of each purpose
CONSENT_FIELDS = {ConsentPurpose.SERVICE: "consent_service_calls", ConsentPurpose.MARKETING: "consent_marketing"}
# ---- end channels ----
