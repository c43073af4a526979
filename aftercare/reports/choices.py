from django.db import models
from django.utils.translation import gettext_lazy as _


class ActionSource(models.TextChoices):
    """Where a rectification action comes from (seed 004: check that rectification measures are carried out;
    seed 000 p25: targeted fixes of weak points)."""

    SSI_FACTOR = "ssi_factor", _("SSI / CSI factor")
    COMPLAINT_CATEGORY = "complaint_category", _("Complaint category")
    WEEKLY_MEETING = "weekly_meeting", _("Weekly meeting")
    OTHER = "other", _("Other")


class ActionStatus(models.TextChoices):
    OPEN = "open", _("open")
    DONE = "done", _("done, awaiting verification")
    VERIFIED = "verified", _("verified effective")
    CANCELLED = "cancelled", _("cancelled")
