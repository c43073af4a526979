"""Service appointments (预约): the store's capacity (bays, service kinds, opening hours, caps, day overrides) and
bookings. A booking holds its bay's slots as rows of `BookingSlot`, unique per bay and slot start, so the
database refuses a double booking on SQLite and PostgreSQL alike. See docs/appointments.md."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import CleanTextMixin, StoreOwnedModel
from aftercare.customers.models import customer_of_the_store, store_checked_by_customer

from .choices import BayKind, BookingEventKind, BookingSource, BookingState, RescueOutcome


class AppointmentSettings(models.Model):
    store = models.OneToOneField("org.Store", on_delete=models.CASCADE, related_name="appointment_settings")
    slot_minutes = models.PositiveSmallIntegerField(
        _("slot length (minutes)"), default=30, validators=[MinValueValidator(10), MaxValueValidator(120)]
    )
    walk_in_share = models.PositiveSmallIntegerField(
        _("share of bay time held back for walk-ins (%)"), default=20, validators=[MaxValueValidator(90)]
    )
    no_show_grace_minutes = models.PositiveSmallIntegerField(
        _("no-show after (minutes late)"), default=30, validators=[MaxValueValidator(240)]
    )
    booking_horizon_days = models.PositiveSmallIntegerField(
        _("bookable ahead (days)"), default=60, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    # shown to customers on the self-booking page (e.g. when their link has expired)
    service_phone = models.CharField(_("service phone for customers"), max_length=30, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("store appointment settings")
        verbose_name_plural = _("store appointment settings")
        constraints = [
            models.CheckConstraint(condition=Q(slot_minutes__gte=10, slot_minutes__lte=120),
                                   name="appointment_slot_minutes_range"),
            models.CheckConstraint(condition=Q(walk_in_share__lte=90), name="appointment_walk_in_share_range"),
        ]

    def __str__(self):
        return str(self.store)


class Bay(StoreOwnedModel):
    name = models.CharField(_("name"), max_length=50)
    kind = models.CharField(_("kind"), max_length=20, choices=BayKind.choices)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("bay")
        ordering = ["store_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["store", "name"], name="bay_name_unique"),
            models.UniqueConstraint(fields=["store", "id"], name="bay_store_id_unique"),
            models.CheckConstraint(condition=Q(kind__in=BayKind.values), name="bay_kind_valid"),
        ]

    def __str__(self):
        return self.name


class ServiceKind(StoreOwnedModel):
    """What a customer books (first maintenance, maintenance …), how long it takes and which bays take it."""

    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(10), MaxValueValidator(8 * 60)]
    )
    bay_kinds = models.JSONField(_("bay kinds that take it"), default=list)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service kind")
        ordering = ["store_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["store", "code"], name="service_kind_code_unique"),
            models.CheckConstraint(condition=Q(duration_minutes__gte=10, duration_minutes__lte=480),
                                   name="service_kind_duration_range"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        kinds = self.bay_kinds
        if not isinstance(kinds, list) or not kinds or any(k not in BayKind.values for k in kinds):
            raise ValidationError({"bay_kinds": _("Choose at least one bay kind.")})


class OpeningHours(CleanTextMixin, models.Model):
    """The store's hours on a weekday (0 = Monday). A weekday without a row is closed; statutory holidays are
    closed unless a day override opens them; a make-up working day uses its weekday's hours, or Monday's."""

    store = models.ForeignKey("org.Store", on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), validators=[MaxValueValidator(6)])
    opens_at = models.TimeField(_("opens"))
    closes_at = models.TimeField(_("closes"))
    daily_cap = models.PositiveSmallIntegerField(_("bookings per day (empty: no cap)"), null=True, blank=True)

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["store_id", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["store", "weekday"], name="opening_hours_weekday_unique"),
            models.CheckConstraint(condition=Q(closes_at__gt=models.F("opens_at")), name="opening_hours_ordered"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="opening_hours_weekday_range"),
        ]

    def __str__(self):
        return f"{self.weekday}: {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"


class KindCap(CleanTextMixin, models.Model):
    """At most `cap` bookings of one service kind on a weekday (e.g. two body estimates on Saturdays)."""

    store = models.ForeignKey("org.Store", on_delete=models.CASCADE, related_name="+")
    weekday = models.PositiveSmallIntegerField(_("weekday"), validators=[MaxValueValidator(6)])
    service_kind = models.ForeignKey(ServiceKind, on_delete=models.CASCADE, related_name="caps")
    cap = models.PositiveSmallIntegerField(_("bookings per day"))

    class Meta:
        verbose_name = _("daily cap of a service kind")
        constraints = [models.UniqueConstraint(fields=["store", "weekday", "service_kind"], name="kind_cap_unique")]

    def __str__(self):
        return f"{self.service_kind_id} @ {self.weekday}: {self.cap}"


class DayOverride(CleanTextMixin, models.Model):
    """A day unlike its weekday: closed, other hours, another cap."""

    store = models.ForeignKey("org.Store", on_delete=models.CASCADE, related_name="+")
    date = models.DateField(_("date"))
    closed = models.BooleanField(_("closed"), default=False)
    opens_at = models.TimeField(_("opens"), null=True, blank=True)
    closes_at = models.TimeField(_("closes"), null=True, blank=True)
    daily_cap = models.PositiveSmallIntegerField(_("bookings per day"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("day override")
        constraints = [
            models.UniqueConstraint(fields=["store", "date"], name="day_override_unique"),
            models.CheckConstraint(
                condition=Q(closed=True) | Q(opens_at__isnull=True, closes_at__isnull=True)
                | Q(opens_at__isnull=False, closes_at__isnull=False, closes_at__gt=models.F("opens_at")),
                name="day_override_hours_ordered",
            ),
        ]

    def __str__(self):
        return str(self.date)

    def clean(self):
        if not self.closed and (self.opens_at is None) != (self.closes_at is None):
            raise ValidationError({"closes_at": _("Give both opening and closing times, or neither.")})


class Booking(StoreOwnedModel):
    """An appointment: customer, vehicle, service kinds, bay and time (UTC, shown in Asia/Shanghai)."""

    store = store_checked_by_customer()
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="bookings",
                                 db_constraint=False, verbose_name=_("customer"))
    vehicle = models.ForeignKey("customers.Vehicle", on_delete=models.PROTECT, related_name="bookings",
                                verbose_name=_("vehicle"))
    kinds = models.ManyToManyField(ServiceKind, related_name="bookings", verbose_name=_("service kinds"))
    bay = models.ForeignKey(Bay, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("bay"))
    advisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("service advisor"))
    start_at = models.DateTimeField(_("start"))
    end_at = models.DateTimeField(_("end"))
    state = models.CharField(_("state"), max_length=20, choices=BookingState.choices, default=BookingState.BOOKED)
    source = models.CharField(_("booked through"), max_length=20, choices=BookingSource.choices)
    notes = models.TextField(_("notes"), blank=True)
    parts_to_prepare = models.TextField(_("parts to prepare"), blank=True)
    followup_task = models.ForeignKey("followups.FollowupTask", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="+")
    repair_order = models.OneToOneField("customers.RepairOrder", on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="booking", verbose_name=_("repair order"))
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    reminded_on = models.DateField(_("reminded on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name = _("appointment")
        ordering = ["start_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_at__gt=models.F("start_at")), name="booking_times_ordered"),
            models.CheckConstraint(condition=Q(state__in=BookingState.values), name="booking_state_valid"),
            customer_of_the_store("booking_customer_of_the_store"),
        ]
        indexes = [
            models.Index(fields=["store", "start_at"], name="booking_store_start_idx"),
            models.Index(fields=["vehicle", "start_at"], name="booking_vehicle_start_idx"),
            models.Index(fields=["customer", "state"], name="booking_customer_state_idx"),
        ]

    def __str__(self):
        return f"{self.vehicle} · {self.start_at:%Y-%m-%d %H:%M}"


class BookingSlot(models.Model):
    """One slot of one bay held by a booking. Unique per (bay, start): the database's guarantee against double
    booking, the same on SQLite and PostgreSQL. Rows are deleted when the booking is cancelled or moved."""

    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="+")
    bay = models.ForeignKey(Bay, on_delete=models.PROTECT, related_name="+")
    start_at = models.DateTimeField()
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="slots")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bay", "start_at"], name="booking_slot_unique")]
        indexes = [models.Index(fields=["store", "start_at"], name="booking_slot_store_start_idx")]

    def __str__(self):
        return f"{self.bay_id} @ {self.start_at:%Y-%m-%d %H:%M}"


class BookingEvent(models.Model):
    """The booking's history: made, moved, confirmed, cancelled, arrived, no-show, matched — who and when."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("what"), max_length=20, choices=BookingEventKind.choices)
    at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("appointment event")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.booking_id} {self.kind}"


class BookingDay(models.Model):
    """A store's day as a lock: bookings of one day are checked against the day's caps under its row lock
    (PostgreSQL `SELECT … FOR UPDATE`; SQLite's write transactions are serial already)."""

    store = models.ForeignKey("org.Store", on_delete=models.CASCADE, related_name="+")
    date = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "date"], name="booking_day_unique")]

    def __str__(self):
        return f"{self.store_id} {self.date}"


# ---- roadside rescue (aday part; seed 000 p22) ----------------------------------------------------------------------


class RescueCall(StoreOwnedModel):
    """A roadside rescue (道路救援): when and where the customer called, what happened, whom the store sent and when,
    when they arrived and how it ended. Times are ordered: reported ≤ dispatched ≤ arrived."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("customer"))
    vehicle = models.ForeignKey("customers.Vehicle", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("vehicle"))
    reported_at = models.DateTimeField(_("reported at"))
    place = models.CharField(_("place"), max_length=200)
    what_happened = models.TextField(_("what happened"))
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    dispatched_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="+", verbose_name=_("dispatched (staff)"))
    dispatched_to = models.CharField(_("dispatched (who)"), max_length=100, blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=RescueOutcome.choices, blank=True)
    outcome_note = models.CharField(_("outcome note"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name = _("roadside rescue")
        ordering = ["-reported_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dispatched_at__isnull=True) | Q(dispatched_at__gte=models.F("reported_at")),
                name="rescue_dispatched_after_reported"),
            models.CheckConstraint(
                condition=Q(arrived_at__isnull=True)
                | Q(dispatched_at__isnull=False, arrived_at__gte=models.F("dispatched_at")),
                name="rescue_arrived_after_dispatched"),
            models.CheckConstraint(condition=Q(outcome="") | Q(outcome__in=RescueOutcome.values),
                                   name="rescue_outcome_valid"),
        ]
        indexes = [models.Index(fields=["store", "reported_at"], name="rescue_store_reported_idx")]

    def __str__(self):
        return f"{self.place} · {self.reported_at:%Y-%m-%d %H:%M}"

    def clean(self):
        errors = {}
        if self.dispatched_at and self.reported_at and self.dispatched_at < self.reported_at:
            errors["dispatched_at"] = _("Dispatched cannot be before the call was reported.")
        if self.arrived_at and not self.dispatched_at:
            errors["arrived_at"] = _("Give when the rescue was dispatched before when it arrived.")
        elif self.arrived_at and self.dispatched_at and self.arrived_at < self.dispatched_at:
            errors["arrived_at"] = _("Arrived cannot be before the rescue was dispatched.")
        if errors:
            raise ValidationError(errors)


# ---- booking in the UI: messages sent about a booking, the waitlist (abook) ------------------------------------------


class BookingMessageKind(models.TextChoices):
    CONFIRMATION = "confirmation", _("Confirmation")
    REMINDER = "reminder", _("Reminder the day before")


class BookingMessage(models.Model):
    """An SMS about a booking (its confirmation, its reminder the day before), a row of the follow-up letter log.
    Unique per booking, kind and start: a booking is confirmed and reminded once per time it is booked for."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=20, choices=BookingMessageKind.choices)
    start_at = models.DateTimeField(_("for the start"))
    sent_on = models.DateField(_("made on"))
    letter = models.ForeignKey("followups.LetterLog", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")

    class Meta:
        verbose_name = _("appointment message")
        constraints = [models.UniqueConstraint(fields=["booking", "kind", "start_at"],
                                               name="booking_message_unique")]

    def __str__(self):
        return f"{self.booking_id} {self.kind}"


class WaitlistState(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    OFFERED = "offered", _("Offered a freed slot")
    BOOKED = "booked", _("Booked")
    EXPIRED = "expired", _("Offer expired")
    CANCELLED = "cancelled", _("Cancelled")


class WaitlistEntry(StoreOwnedModel):
    """A customer waiting for a full day: when a booking of that day is cancelled or moved away, the first entry
    waiting whose kinds fit a freed start is offered it by SMS; the offer expires after the store's hours."""

    store = store_checked_by_customer()
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 db_constraint=False, verbose_name=_("customer"))
    vehicle = models.ForeignKey("customers.Vehicle", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("vehicle"))
    date = models.DateField(_("day wanted"))
    kinds = models.ManyToManyField(ServiceKind, related_name="+", verbose_name=_("service kinds"))
    state = models.CharField(_("state"), max_length=20, choices=WaitlistState.choices, default=WaitlistState.WAITING)
    notes = models.CharField(_("notes"), max_length=200, blank=True)
    offered_start_at = models.DateTimeField(_("offered start"), null=True, blank=True)
    offered_at = models.DateTimeField(_("offered at"), null=True, blank=True)
    offer_expires_at = models.DateTimeField(_("offer expires at"), null=True, blank=True)
    offer_letter = models.ForeignKey("followups.LetterLog", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    booking = models.ForeignKey(Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                verbose_name=_("appointment"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist")
        ordering = ["date", "created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=WaitlistState.values), name="waitlist_state_valid"),
            customer_of_the_store("waitlist_customer_of_the_store"),
        ]
        indexes = [models.Index(fields=["store", "date", "state"], name="waitlist_store_date_idx")]

    def __str__(self):
        return f"{self.vehicle} · {self.date}"


# ---- the self-booking link (aself) ------------------------------------------------------------------------------


class SelfBookingLink(models.Model):
    """The customer's self-booking link of a booking: the random `nonce` is what the signed URL carries
    (`appointments/links.py`); clearing it (`revoked_at`) kills every link sent for the booking."""

    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="self_link")
    store = models.ForeignKey("org.Store", on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("self-booking link")

    def __str__(self):
        return f"{self.booking_id}"


class SelfBookingHit(models.Model):
    """One use of the self-booking page, counted for its rate limits (per link and per client address, the address
    kept only as a keyed hash); rows older than the window, of every bucket, are deleted as new ones come."""

    bucket = models.CharField(max_length=64)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["bucket", "at"], name="self_booking_hit_idx")]

    def __str__(self):
        return self.bucket
