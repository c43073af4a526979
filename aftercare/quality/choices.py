from django.db import models
from django.utils.translation import gettext_lazy as _


class ReportSource(models.TextChoices):
    """Where a parts-quality report came from."""

    REPAIR_ORDER = "repair_order", _("Repair order")
    WARRANTY_CLAIM = "warranty_claim", _("Warranty claim")
    COMPLAINT = "complaint", _("Product-quality complaint")
    ENTERED = "entered", _("Entered by hand")


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")


class AlarmStatus(models.TextChoices):
    """new → acknowledged → under investigation → confirmed (recall / campaign candidates) or dismissed."""

    NEW = "new", _("New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    INVESTIGATING = "investigating", _("Under investigation")
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed")


OPEN_ALARM_STATUSES = (AlarmStatus.NEW, AlarmStatus.ACKNOWLEDGED, AlarmStatus.INVESTIGATING)


class AlarmTest(models.TextChoices):
    """Which test of `alarm.monitor` fired in the first alarm month."""

    CUSUM = "cusum", _("CUSUM (a lasting rise)")
    TAIL = "tail", _("Poisson tail (a sudden jump)")
    BOTH = "both", _("CUSUM and Poisson tail")


class EvaluationFormStatus(models.TextChoices):
    """A form is drafted, then active (one version of a code at a time), then retired by its next version."""

    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class VisitStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")


class ActionStatus(models.TextChoices):
    """open → done (the store reports it done) → verified by the evaluator, or back to open."""

    OPEN = "open", _("Open")
    DONE = "done", _("Done, to verify")
    VERIFIED = "verified", _("Verified")
