from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    DELIVERIES = "deliveries", _("Sales deliveries")
    REPAIR_ORDERS = "repair_orders", _("Repair orders")
    POLICIES = "policies", _("Insurance policies")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
