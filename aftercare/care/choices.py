"""Choices of the care app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerClass(models.TextChoices):
    """The classes of seed 000 p20 (客户分类): a customer is in exactly one at a time (`CareProfile`)."""

    NEW = "new", _("New (no counted visit yet)")
    LOYAL = "loyal", _("Loyal")
    REGULAR = "regular", _("Regular")
    LOST = "lost", _("Lost")


class LostRule(models.TextChoices):
    """Why a customer is lost (seed 000 p20, 流失客户的判别依据): the first rule that holds."""

    NO_VISIT = "no_visit", _("No maintenance or repair for 6+ months")
    ONCE_A_YEAR = "once_a_year", _("One visit a year")
    ONLY_INSPECTIONS = "only_inspections", _("Only inspections")
    REMINDED_NEVER_CAME = "reminded_never_came", _("Reminded but never came")


# ---- remind: reminders (issue 18, "Reminders") ----


class ReminderKind(models.TextChoices):
    """What a reminder is about (docs/care.md, "Reminders"). Insurance expiry is the renewals app's."""

    FIRST_MAINTENANCE = "first_maintenance", _("First maintenance")
    MAINTENANCE = "maintenance", _("Periodic maintenance")
    WARRANTY_END = "warranty_end", _("Warranty end")
    INSPECTION = "inspection", _("Annual inspection")
    BIRTHDAY = "birthday", _("Birthday")


class ReminderAction(models.TextChoices):
    CALL = "call", _("Call task")
    SMS = "sms", _("SMS message")


class ReminderState(models.TextChoices):
    CALL = "call", _("Call task made")
    SMS_PENDING = "sms_pending", _("SMS to send")
    SMS_SENT = "sms_sent", _("SMS sent")
    NO_CONSENT = "no_consent", _("Not contacted: no consent to service contact")


# ---- end remind ----


# ---- campaigns: campaigns, their targets and recalls ----
class CampaignPurpose(models.TextChoices):
    """Whose consent a campaign needs: marketing (an event, an offer) or service (a free check, a recall)."""

    MARKETING = "marketing", _("Marketing (needs marketing consent)")
    SERVICE = "service", _("Service (needs service-call consent)")


class CampaignState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    LAUNCHED = "launched", _("Launched")


class CampaignChannel(models.TextChoices):
    CALL = "call", _("Call")
    SMS = "sms", _("SMS after the call")


class TargetState(models.TextChoices):
    """Where one customer of a campaign stands after the calls ("came" is read from the repair orders)."""

    TARGETED = "targeted", _("Targeted")
    REACHED = "reached", _("Reached")
    INVITED = "invited", _("Invited (accepted)")
    DECLINED = "declined", _("Declined")
    UNREACHABLE = "unreachable", _("Unreachable")


# What a campaign call may record (the call screen's campaign card): the target's state after it
CALL_OUTCOMES = (TargetState.INVITED, TargetState.DECLINED, TargetState.REACHED)


class DeclineReason(models.TextChoices):
    NO_TIME = "no_time", _("No time")
    NOT_NEEDED = "not_needed", _("Not needed")
    PRICE = "price", _("Price")
    TOO_FAR = "too_far", _("Too far")
    OTHER_DEALER = "other_dealer", _("Goes to another dealer")
    OTHER = "other", _("Other")


class RecallVehicleState(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    UNREACHABLE = "unreachable", _("Unreachable")
