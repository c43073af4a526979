"""Insurance renewals (续保): one case per policy coming up for renewal (or per vehicle serviced here whose policy
is not on file, from an estimated expiry), its contacts, reminders and claim assistance. See docs/renewals.md."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import StoreOwnedModel
from aftercare.customers.choices import LossReason
from aftercare.customers.models import customer_of_the_store, store_checked_by_customer

from .choices import CaseState, ClaimAssistState, ContactChannel, ContactResult, Outcome, ReminderKind, Segment


def default_contact_days() -> list[int]:
    return [45, 33, 30]


class RenewalSettings(models.Model):
    """A store's renewal window (defaults from dealer practice; see docs/renewals.md)."""

    store = models.OneToOneField("org.Store", on_delete=models.CASCADE, related_name="renewal_settings")
    list_opens_days = models.PositiveSmallIntegerField(
        _("list opens (days before expiry)"), default=90, validators=[MinValueValidator(30), MaxValueValidator(180)]
    )
    contact_days = models.JSONField(
        _("contacts due (days before expiry)"), default=default_contact_days,
        help_text=_("Days before expiry, largest first, e.g. 45, 33, 30"),
    )
    lapse_chase_days = models.PositiveSmallIntegerField(
        _("lapsed policies chased for (days after expiry)"), default=30, validators=[MaxValueValidator(90)]
    )
    max_contacts = models.PositiveSmallIntegerField(
        _("contacts per case"), default=4, validators=[MinValueValidator(1), MaxValueValidator(8)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("store renewal settings")
        verbose_name_plural = _("store renewal settings")
        constraints = [
            models.CheckConstraint(condition=Q(list_opens_days__gte=30, list_opens_days__lte=180),
                                   name="renewal_settings_window_range"),
            models.CheckConstraint(condition=Q(max_contacts__gte=1, max_contacts__lte=8),
                                   name="renewal_settings_contacts_range"),
        ]

    def __str__(self):
        return str(self.store)

    def clean(self):
        days = self.contact_days
        if not isinstance(days, list) or not days or not all(isinstance(d, int) and not isinstance(d, bool)
                                                              for d in days):
            raise ValidationError({"contact_days": _("Give whole numbers of days, e.g. 45, 33, 30.")})
        if sorted(set(days), reverse=True) != days or days[-1] < 1:
            raise ValidationError({"contact_days": _("Give different positive days, largest first.")})
        if days[0] > self.list_opens_days:
            raise ValidationError({"contact_days": _("A contact cannot be due before the list opens.")})
        if len(days) > self.max_contacts:
            raise ValidationError({"contact_days": _("More contact days than contacts per case.")})


class RenewalGift(StoreOwnedModel):
    """A gift or offer a specialist may give with a renewal (seed 000 p10–12), with what it costs the store."""

    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    cost = models.DecimalField(_("cost"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("renewal gift or offer")
        verbose_name_plural = _("renewal gifts and offers")
        constraints = [
            models.UniqueConstraint(fields=["store", "name"], name="renewal_gift_name_unique"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="renewal_gift_cost_non_negative"),
        ]
        ordering = ["name"]

    def __str__(self):
        return self.name


class RenewalCase(StoreOwnedModel):
    """One policy year of one vehicle coming up for renewal.

    Made by `renewal_cases_generate` (daily and on policy import), unique per vehicle and expiry and per policy.
    `state` is what happened (an imported renewal sets `renewed_here` itself); `outcome*` is what a specialist
    recorded, kept beside it.
    """

    store = store_checked_by_customer()
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="renewal_cases", db_constraint=False,
        verbose_name=_("customer"),
    )
    vehicle = models.ForeignKey(
        "customers.Vehicle", on_delete=models.PROTECT, related_name="renewal_cases", verbose_name=_("vehicle")
    )
    policy = models.OneToOneField(
        "customers.InsurancePolicy", on_delete=models.PROTECT, null=True, blank=True, related_name="renewal_case",
        verbose_name=_("expiring policy"),
    )
    expiry_date = models.DateField(_("expiry date"))
    expiry_estimated = models.BooleanField(_("expiry estimated"), default=False)
    segment = models.CharField(_("segment"), max_length=20, choices=Segment.choices)
    priority = models.PositiveSmallIntegerField(_("priority"), default=5)
    previous_insurer = models.CharField(_("current insurer"), max_length=100, blank=True)
    previous_premium = models.DecimalField(_("current premium"), max_digits=12, decimal_places=2, null=True,
                                           blank=True)
    state = models.CharField(_("state"), max_length=20, choices=CaseState.choices, default=CaseState.OPEN)
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("holder"))
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    contacts_made = models.PositiveSmallIntegerField(_("effective contacts"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    # what the specialist recorded
    outcome = models.CharField(_("recorded outcome"), max_length=20, choices=Outcome.choices, blank=True)
    outcome_insurer = models.CharField(_("insurer"), max_length=100, blank=True)
    outcome_premium = models.DecimalField(_("premium"), max_digits=12, decimal_places=2, null=True, blank=True,
                                          validators=[MinValueValidator(0)])
    outcome_policy_number = models.CharField(_("new policy number"), max_length=50, blank=True)
    outcome_reason = models.CharField(_("reason"), max_length=20, choices=LossReason.choices, blank=True)
    outcome_reason_text = models.CharField(_("reason (text)"), max_length=200, blank=True)
    outcome_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    outcome_at = models.DateTimeField(_("outcome recorded at"), null=True, blank=True)
    # what the files say
    renewed_policy = models.OneToOneField(
        "customers.InsurancePolicy", on_delete=models.PROTECT, null=True, blank=True, related_name="renews_case",
        verbose_name=_("renewal policy (imported)"),
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("renewal case")
        constraints = [
            models.UniqueConstraint(fields=["store", "vehicle", "expiry_date"], name="renewal_case_vehicle_expiry"),
            models.CheckConstraint(condition=Q(state__in=CaseState.values), name="renewal_case_state_valid"),
            models.CheckConstraint(condition=Q(segment__in=Segment.values), name="renewal_case_segment_valid"),
            models.CheckConstraint(condition=Q(outcome_premium__isnull=True) | Q(outcome_premium__gte=0),
                                   name="renewal_case_premium_non_negative"),
            customer_of_the_store("renewal_case_customer_of_the_store"),
        ]
        indexes = [
            models.Index(fields=["store", "expiry_date"], name="renewal_store_expiry_idx"),
            models.Index(fields=["store", "state", "expiry_date"], name="renewal_store_state_idx"),
            models.Index(fields=["holder", "state"], name="renewal_holder_state_idx"),
            models.Index(fields=["vehicle", "expiry_date"], name="renewal_vehicle_expiry_idx"),
        ]

    def __str__(self):
        return f"{self.vehicle} · {self.expiry_date}"


class RenewalContact(StoreOwnedModel):
    """The n-th contact of a case: planned (due on), worked through its follow-up task (every call in the call
    log), and its result. An answered contact is effective; unanswered calls are attempts on it."""

    case = models.ForeignKey(RenewalCase, on_delete=models.CASCADE, related_name="contacts")
    number = models.PositiveSmallIntegerField(_("contact"), validators=[MinValueValidator(1), MaxValueValidator(8)])
    due_on = models.DateField(_("due on"))
    task = models.OneToOneField("followups.FollowupTask", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="renewal_contact")
    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices, blank=True)
    result = models.CharField(_("result"), max_length=20, choices=ContactResult.choices, blank=True)
    effective = models.BooleanField(_("effective contact"), default=False)
    contacted_at = models.DateTimeField(_("contacted at"), null=True, blank=True)
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("handler"))
    quote_insurer = models.CharField(_("quoted insurer"), max_length=100, blank=True)
    quote_premium = models.DecimalField(_("quoted premium"), max_digits=12, decimal_places=2, null=True, blank=True,
                                        validators=[MinValueValidator(0)])
    quote_discount = models.DecimalField(_("discount offered (%)"), max_digits=5, decimal_places=2, null=True,
                                         blank=True, validators=[MinValueValidator(0), MaxValueValidator(100)])
    gift = models.ForeignKey(RenewalGift, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("gift or offer"))
    gift_cost = models.DecimalField(_("gift cost"), max_digits=10, decimal_places=2, null=True, blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    call = models.ForeignKey("followups.CallLog", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # history from a store's own follow-up sheet (services/sheets.py): no task, no call, no handler
    imported = models.BooleanField(_("imported from the follow-up sheet"), default=False)

    class Meta:
        verbose_name = _("renewal contact")
        ordering = ["case_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="renewal_contact_number_unique"),
            models.CheckConstraint(condition=Q(quote_premium__isnull=True) | Q(quote_premium__gte=0),
                                   name="renewal_contact_quote_non_negative"),
            models.CheckConstraint(
                condition=Q(quote_discount__isnull=True) | Q(quote_discount__gte=0, quote_discount__lte=100),
                name="renewal_contact_discount_range",
            ),
        ]
        indexes = [models.Index(fields=["store", "contacted_at"], name="renewal_contact_time_idx")]


class RenewalReminder(StoreOwnedModel):
    """An SMS reminder of a case (two months before expiry, in the month of expiry): one of each kind, ever."""

    case = models.ForeignKey(RenewalCase, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(_("kind"), max_length=20, choices=ReminderKind.choices)
    sent_on = models.DateField(_("sent on"))
    letter = models.ForeignKey("followups.LetterLog", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")

    class Meta:
        verbose_name = _("renewal reminder")
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="renewal_reminder_once")]


class ClaimAssist(StoreOwnedModel):
    """Help after an accident reported on a policy sold here (seed 000 p11), open until the insurance repair
    order settles."""

    store = store_checked_by_customer()
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 db_constraint=False)
    vehicle = models.ForeignKey("customers.Vehicle", on_delete=models.PROTECT, related_name="claim_assists")
    policy = models.ForeignKey("customers.InsurancePolicy", on_delete=models.PROTECT, related_name="claim_assists",
                               verbose_name=_("policy"))
    case = models.ForeignKey(RenewalCase, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="claim_assists")
    reported_on = models.DateField(_("accident reported on"))
    description = models.TextField(_("what happened"))
    state = models.CharField(_("state"), max_length=10, choices=ClaimAssistState.choices,
                             default=ClaimAssistState.OPEN)
    repair_order = models.ForeignKey("customers.RepairOrder", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("insurance repair order"))
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        verbose_name = _("claim assistance")
        verbose_name_plural = _("claim assistance")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=ClaimAssistState.values), name="claim_assist_state_valid"),
            customer_of_the_store("claim_assist_customer_of_the_store"),
        ]
        indexes = [models.Index(fields=["store", "state"], name="claim_assist_store_state_idx")]
