"""Customer care and retention (issue 18): reminders, campaigns and recalls, customer classes and churn, the
churn-risk score, outbound channels and consent. Store-owned rows carry `store_id` (`core.models.StoreOwnedModel`)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import StoreOwnedModel
from aftercare.customers.models import customer_of_the_store, store_checked_by_customer

from .choices import CustomerClass, LostRule, ReminderAction, ReminderKind, ReminderState


class CareProfile(StoreOwnedModel):
    """Where a customer stands for care today, one row a customer: the class of the daily classification (with its
    history in the classification part) and the churn-risk score of the daily scoring. Segments, reminder and
    campaign lists and the customer-360 panel read it."""

    store = store_checked_by_customer()
    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="care_profile", db_constraint=False,
        verbose_name=_("customer"),
    )
    customer_class = models.CharField(_("class"), max_length=20, choices=CustomerClass.choices,
                                      default=CustomerClass.NEW)
    lost_rule = models.CharField(_("why lost"), max_length=30, choices=LostRule.choices, blank=True)
    class_since = models.DateField(_("in this class since"), null=True, blank=True)
    classified_on = models.DateField(_("classified on"), null=True, blank=True)
    last_visit_at = models.DateTimeField(_("last counted visit"), null=True, blank=True)
    visits_12m = models.PositiveIntegerField(_("counted visits, last 12 months"), default=0)
    spend_12m = models.DecimalField(_("spend, last 12 months"), max_digits=12, decimal_places=2, default=0)
    churn_risk = models.FloatField(
        _("churn risk"), null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Probability of becoming lost in the next 6 months"),
    )
    churn_reasons = models.JSONField(_("churn risk reasons"), default=list, blank=True)
    scored_on = models.DateField(_("scored on"), null=True, blank=True)

    class Meta:
        verbose_name = _("care profile")
        constraints = [
            customer_of_the_store("care_profile_customer_of_the_store"),
            models.CheckConstraint(condition=models.Q(churn_risk__gte=0, churn_risk__lte=1)
                                   | models.Q(churn_risk__isnull=True), name="care_profile_churn_risk_0_1"),
            models.CheckConstraint(condition=models.Q(spend_12m__gte=0), name="care_profile_spend_non_negative"),
        ]
        indexes = [
            models.Index(fields=["store", "customer_class"], name="care_profile_store_class_idx"),
            models.Index(fields=["store", "churn_risk"], name="care_profile_store_risk_idx"),
        ]


# ---- remind: reminder rules and reminders (issue 18, "Reminders"; docs/care.md) ----


class ReminderRule(StoreOwnedModel):
    """A store's rule for one kind of reminder: whether it runs, how many days before the due date the reminder is
    made, whether it becomes a call task (follow-up rule CARE) or an SMS, and the window after the due date in
    which a repair order or a booking counts as the customer having come. `months` / `km`: the interval of the
    kind (first maintenance after delivery; periodic maintenance when the vehicle has none of its own)."""

    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(_("kind"), max_length=30, choices=ReminderKind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    lead_days = models.PositiveSmallIntegerField(
        _("lead days"), default=7, validators=[MaxValueValidator(90)],
        help_text=_("The reminder is made this many days before the due date"),
    )
    action = models.CharField(_("action"), max_length=10, choices=ReminderAction.choices, default=ReminderAction.CALL)
    came_days = models.PositiveSmallIntegerField(
        _("came window (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("Days after the due date in which a repair order or a booking counts as success"),
    )
    months = models.PositiveSmallIntegerField(_("interval (months)"), null=True, blank=True,
                                              validators=[MinValueValidator(1), MaxValueValidator(60)])
    km = models.PositiveIntegerField(_("interval (km)"), null=True, blank=True,
                                     validators=[MinValueValidator(500), MaxValueValidator(100_000)])

    class Meta:
        verbose_name = _("reminder rule")
        constraints = [models.UniqueConstraint(fields=["store", "kind"], name="care_reminder_rule_store_kind")]

    def __str__(self) -> str:
        return self.get_kind_display()


class Reminder(StoreOwnedModel):
    """One reminder made for a vehicle (or, for a birthday, a customer) and a due date: unique per vehicle, kind
    and due date (per customer, kind and due date for birthdays), so a rerun makes nothing twice."""

    store = store_checked_by_customer()
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+",
                                 db_constraint=False, verbose_name=_("customer"))
    vehicle = models.ForeignKey("customers.Vehicle", on_delete=models.CASCADE, related_name="+", null=True,
                                blank=True, verbose_name=_("vehicle"))
    kind = models.CharField(_("kind"), max_length=30, choices=ReminderKind.choices)
    due_on = models.DateField(_("due date"))
    made_on = models.DateField(_("made on"))
    action = models.CharField(_("action"), max_length=10, choices=ReminderAction.choices)
    state = models.CharField(_("state"), max_length=20, choices=ReminderState.choices)
    came_until = models.DateField(_("counts as came until"))
    task = models.ForeignKey("followups.FollowupTask", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+", verbose_name=_("call task"))
    letter = models.ForeignKey("followups.LetterLog", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+", verbose_name=_("message"))

    class Meta:
        verbose_name = _("reminder")
        constraints = [
            customer_of_the_store("care_reminder_customer_of_the_store"),
            models.UniqueConstraint(fields=["vehicle", "kind", "due_on"], condition=models.Q(vehicle__isnull=False),
                                    name="care_reminder_vehicle_kind_due"),
            models.UniqueConstraint(fields=["customer", "kind", "due_on"], condition=models.Q(vehicle__isnull=True),
                                    name="care_reminder_customer_kind_due"),
        ]
        indexes = [
            models.Index(fields=["store", "due_on"], name="care_reminder_store_due_idx"),
            models.Index(fields=["store", "made_on"], name="care_reminder_store_made_idx"),
        ]


# ---- end remind ----
