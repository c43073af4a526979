from django.db import models
from django.utils.translation import gettext_lazy as _


class BayKind(models.TextChoices):
    GENERAL = "general", _("General bay")
    APPOINTMENT = "appointment", _("Dedicated appointment bay")
    EXPRESS = "express", _("Express bay")


class BookingState(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CONFIRMED = "confirmed", _("Confirmed by the customer")
    ARRIVED = "arrived", _("Arrived")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", _("Cancelled")


# bookings that hold their bay's slots
HOLDING_STATES = (BookingState.BOOKED, BookingState.CONFIRMED, BookingState.ARRIVED)


class BookingSource(models.TextChoices):
    CALL = "call", _("Follow-up call")
    CUSTOMER_PAGE = "customer_page", _("Customer page")
    API = "api", _("API")
    SELF = "self", _("Customer's self-booking link")
    IMPORT = "import", _("Imported list")
    WAITLIST = "waitlist", _("Waitlist offer")
    PHONE_IN = "phone_in", _("Customer called in")
    WALK_IN = "walk_in", _("Walk-in")  # came without an appointment (the day board's quick form)


class BookingEventKind(models.TextChoices):
    CREATED = "created", _("Booked")
    MOVED = "moved", _("Moved")
    CONFIRMED = "confirmed", _("Confirmed")
    CANCELLED = "cancelled", _("Cancelled")
    ARRIVED = "arrived", _("Arrived")
    NO_SHOW = "no_show", _("No-show")
    MATCHED = "matched", _("Matched to a repair order")


# ---- roadside rescue (aday part) ----


class RescueOutcome(models.TextChoices):
    FIXED_ON_SITE = "fixed_on_site", _("Fixed on site")
    TOWED_HERE = "towed_here", _("Towed to our store")
    TOWED_ELSEWHERE = "towed_elsewhere", _("Towed elsewhere")
    CANCELLED = "cancelled", _("Cancelled by the customer")
    OTHER = "other", _("Other")
