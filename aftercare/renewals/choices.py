from django.db import models
from django.utils.translation import gettext_lazy as _


class Segment(models.TextChoices):
    """Who a renewal case is about (docs/kpis.md, "Renewal segments"): decides who is called first and how the
    renewal rate is read. Computed when the case is made, from the policies and repair orders on file."""

    NEW_CAR_FIRST = "new_car_first", _("New car, first renewal (新车首年)")
    RENEWED_HERE = "renewed_here", _("Renewed here last year (续转续)")
    INSURED_ELSEWHERE = "insured_elsewhere", _("Serviced here, insured elsewhere (在修不在保)")
    LAPSED_RETURNED = "lapsed_returned", _("Lapsed 1–3 years, came back (断保回流)")
    LAPSED_LOST = "lapsed_lost", _("Lapsed, not returned (纯流失)")


# the order a specialist calls in: the likeliest renewals first
SEGMENT_PRIORITY = {
    Segment.RENEWED_HERE: 1,
    Segment.NEW_CAR_FIRST: 2,
    Segment.LAPSED_RETURNED: 3,
    Segment.INSURED_ELSEWHERE: 4,
    Segment.LAPSED_LOST: 5,
}


class CaseState(models.TextChoices):
    OPEN = "open", _("Open")
    RENEWED_HERE = "renewed_here", _("Renewed here")
    RENEWED_ELSEWHERE = "renewed_elsewhere", _("Renewed elsewhere")
    NOT_RENEWED = "not_renewed", _("Not renewed")
    LAPSED = "lapsed", _("Lapsed without an outcome")


CLOSED_STATES = (CaseState.RENEWED_HERE, CaseState.RENEWED_ELSEWHERE, CaseState.NOT_RENEWED, CaseState.LAPSED)


class Outcome(models.TextChoices):
    """What a specialist records (kept beside the case's state, which an imported renewal may set)."""

    RENEWED_HERE = "renewed_here", _("Renewed here")
    RENEWED_ELSEWHERE = "renewed_elsewhere", _("Renewed elsewhere")
    NOT_RENEWED = "not_renewed", _("Not renewed")


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    WECHAT = "wechat", _("WeChat")
    SMS = "sms", _("SMS")
    VISIT = "visit", _("In the store")


class ContactResult(models.TextChoices):
    """How a contact went: an answered one is an effective contact; the others are attempts."""

    INTERESTED = "interested", _("Interested, quote given")
    THINKING = "thinking", _("Thinking it over")
    DECLINED = "declined", _("Declined")
    CALL_BACK = "call_back", _("Call back later")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


EFFECTIVE_RESULTS = (ContactResult.INTERESTED, ContactResult.THINKING, ContactResult.DECLINED, ContactResult.CALL_BACK)


class ReminderKind(models.TextChoices):
    TWO_MONTHS = "two_months", _("Two months before expiry")
    EXPIRY_MONTH = "expiry_month", _("In the month of expiry")


class ClaimAssistState(models.TextChoices):
    OPEN = "open", _("Open")
    SETTLED = "settled", _("Settled")
    CLOSED = "closed", _("Closed without repair")
