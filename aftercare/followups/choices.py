from django.db import models
from django.utils.translation import gettext_lazy as _


class Trigger(models.TextChoices):
    DELIVERY = "delivery", _("New-car delivery")
    REPAIR_ORDER = "repair_order", _("Repair order settled")
    FOLLOWUP_COMPLETED = "followup_completed", _("Previous follow-up completed (carmaker second call)")
    FEEDBACK_RETURNED = "feedback_returned", _("Complaint form returned by the department")
    REPEAT_REPAIR = "repeat_repair", _("Repeat repair of the same fault")
    RENEWAL_DUE = "renewal_due", _("Insurance renewal contact due")
    CARE_REMINDER_DUE = "care_reminder_due", _("Care reminder due")
    CAMPAIGN_INVITATION = "campaign_invitation", _("Campaign invitation due")
    RECALL = "recall", _("Recall or service campaign vehicle")


# Triggers whose tasks the apps above make themselves (one task per event, not set-based generation):
# complaints (returned forms, repeat repairs), renewals (contacts due on a renewal case) and care (reminders due,
# campaign invitations, recall vehicles).
EVENT_TRIGGERS = (Trigger.FEEDBACK_RETURNED, Trigger.REPEAT_REPAIR, Trigger.RENEWAL_DUE, Trigger.CARE_REMINDER_DUE,
                  Trigger.CAMPAIGN_INVITATION, Trigger.RECALL)


class FollowupKind(models.TextChoices):
    SSI = "ssi", _("New-car SSI")
    CSI = "csi", _("After-sales CSI")
    TRACKING = "tracking", _("Carmaker tracking call")
    COMPLAINT_VERIFICATION = "complaint_verification", _("Complaint verification")
    RENEWAL = "renewal", _("Renewal contact")
    CARE = "care", _("Care reminder")
    CAMPAIGN = "campaign", _("Campaign invitation")
    RECALL = "recall", _("Recall or service campaign")
    REPEAT_REPAIR = "repeat_repair", _("Repeat repair (not fixed first time)")


# The calls the return-visit rate (回访率) counts: after a sale, a repair or a complaint. Renewal contacts, care
# reminders and campaign invitations are calls in the same queue and workload, but not return visits.
RETURN_VISIT_KINDS = (
    FollowupKind.SSI,
    FollowupKind.CSI,
    FollowupKind.TRACKING,
    FollowupKind.COMPLAINT_VERIFICATION,
    FollowupKind.REPEAT_REPAIR,
)


class DeadlineUnit(models.TextChoices):
    HOURS = "hours", _("Hours")
    CALENDAR_DAYS = "calendar_days", _("Calendar days")
    WORKING_DAYS = "working_days", _("Working days")
    STORE_DAYS = "store_days", _("Days, calendar or working as the store setting says")


class StoreDayUnit(models.TextChoices):
    CALENDAR_DAYS = "calendar_days", _("Calendar days")
    WORKING_DAYS = "working_days", _("Working days")


class SubjectType(models.TextChoices):
    DELIVERY = "delivery", _("Sales delivery")
    REPAIR_ORDER = "repair_order", _("Repair order")
    FOLLOWUP_TASK = "followup_task", _("Follow-up task")
    FEEDBACK_RETURN = "feedback_return", _("Complaint form returned")
    REPEAT_REPAIR = "repeat_repair", _("Repeat repair")
    RENEWAL_CONTACT = "renewal_contact", _("Renewal contact")
    # ---- remind: a care reminder (aftercare/care/models.py Reminder) ----
    CARE_REMINDER = "care_reminder", _("Care reminder")
    # ---- end remind ----
    # ---- campaigns: the care app's campaign targets and recall vehicles ----
    CAMPAIGN_TARGET = "campaign_target", _("Campaign target")
    RECALL_VEHICLE = "recall_vehicle", _("Recall vehicle")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLAIMED = "claimed", _("Claimed")
    COMPLETED = "completed", _("Completed")
    UNREACHABLE = "unreachable", _("Unreachable")
    REFUSED = "refused", _("Refused")
    CANCELLED = "cancelled", _("Cancelled")
    NO_CONSENT = "no_consent", _("Not called: customer refused service calls")


ACTIVE_STATUSES = (TaskStatus.OPEN, TaskStatus.CLAIMED)
FINAL_STATUSES = (
    TaskStatus.COMPLETED,
    TaskStatus.UNREACHABLE,
    TaskStatus.REFUSED,
    TaskStatus.CANCELLED,
    TaskStatus.NO_CONSENT,
)


class CallOutcome(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    REFUSED = "refused", _("Refused")
    CALL_BACK = "call_back", _("Call back at a time")


NO_CONTACT_OUTCOMES = (CallOutcome.NO_ANSWER, CallOutcome.BUSY)
REACHED_OUTCOMES = (CallOutcome.COMPLETED, CallOutcome.REFUSED, CallOutcome.CALL_BACK)


class CallDirection(models.TextChoices):
    OUTBOUND = "outbound", _("Outbound")
    INBOUND = "inbound", _("Inbound")


class CallPurpose(models.TextChoices):
    FOLLOWUP = "followup", _("Follow-up call")
    CONSULTATION = "consultation", _("Consultation")
    COMPLAINT = "complaint", _("Complaint")


class LetterKind(models.TextChoices):
    UNREACHABLE_NOTICE = "unreachable_notice", _("Notice to an unreachable customer")
    NOTICE = "notice", _("Notice")
    INVITATION = "invitation", _("Invitation")
    REPLY = "reply", _("Reply letter")
    MESSAGE = "message", _("Message")  # channels: sent by `services.outbound.message_send`


class LetterChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    LETTER = "letter", _("Letter")
    EMAIL = "email", _("E-mail")  # channels
    WECHAT = "wechat", _("WeChat")  # channels


class LetterStatus(models.TextChoices):
    PENDING = "pending", _("To be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # ---- channels ----
    HELD = "held", _("Held (quiet hours)")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    # ---- end channels ----


class RateTreatment(models.TextChoices):
    """How unreachable / refused tasks count in the return-visit rate."""

    MISSED = "missed", _("Counted as due, not completed")
    DONE = "done", _("Counted as completed when closed before the deadline")
    EXCLUDED = "excluded", _("Left out of the rate")


class QuestionnaireStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")


class QuestionnaireKind(models.TextChoices):
    SSI = "ssi", _("New-car SSI")
    CSI = "csi", _("After-sales CSI")
    OTHER = "other", _("Other")


class QuestionType(models.TextChoices):
    SCALE_5 = "scale_5", _("Scale 1–5")
    SCALE_10 = "scale_10", _("Scale 1–10")
    YES_NO = "yes_no", _("Yes / no")
    SINGLE_CHOICE = "single_choice", _("Single choice")
    FREE_TEXT = "free_text", _("Free text")


SCALE_MAX = {QuestionType.SCALE_5: 5, QuestionType.SCALE_10: 10}


# ---- channels: the purpose of a message ----
class MessagePurpose(models.TextChoices):
    SERVICE = "service", _("Service")
    MARKETING = "marketing", _("Marketing")


# the channels `services.outbound.message_send` sends through (a paper letter is logged by hand)
MESSAGE_CHANNELS = ("sms", "email", "wechat")
# ---- end channels ----
