"""Customer care and retention (issue 18): reminders, campaigns and recalls, customer classes and churn, the
churn-risk score, outbound channels and consent. Store-owned rows carry `store_id` (`core.models.StoreOwnedModel`)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import StoreOwnedModel
from aftercare.customers.models import customer_of_the_store, store_checked_by_customer

from .choices import (  # campaigns
    CampaignPurpose,
    CampaignState,
    CustomerClass,
    DeclineReason,
    LostRule,
    RecallVehicleState,
    TargetState,
)


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


# ---- campaigns: campaigns with a segment, their targets, recalls from the carmaker's VIN list ----
class Campaign(StoreOwnedModel):
    """An event (throttle cleaning, a free testing week …) and the customers invited to it (seed 000 p21, seed 004):
    a segment of the stores' customers, invited by call from `calls_days_before` days before the event, loyal
    customers first, with an SMS after the call where the call says so. `store` owns it (its first store)."""

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("what it offers"), blank=True)
    purpose = models.CharField(_("purpose"), max_length=20, choices=CampaignPurpose.choices,
                               default=CampaignPurpose.MARKETING)
    event_start = models.DateField(_("event starts"))
    event_end = models.DateField(_("event ends"))
    stores = models.ManyToManyField("org.Store", related_name="+", verbose_name=_("stores"))
    segment = models.JSONField(_("segment"), default=dict, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    calls_days_before = models.PositiveSmallIntegerField(
        _("calls start (days before the event)"), default=14, validators=[MaxValueValidator(90)]
    )
    second_wave_days = models.PositiveSmallIntegerField(
        _("other customers called (days after the loyal ones)"), default=3, validators=[MaxValueValidator(30)]
    )
    sms_text = models.CharField(_("SMS after the call"), max_length=300, blank=True)
    state = models.CharField(_("state"), max_length=20, choices=CampaignState.choices, default=CampaignState.DRAFT)
    launched_at = models.DateTimeField(_("launched at"), null=True, blank=True)
    launched_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name = _("campaign")
        ordering = ["-event_start", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(event_end__gte=models.F("event_start")),
                                   name="care_campaign_window"),
        ]

    def __str__(self):
        return self.name


class CampaignTarget(StoreOwnedModel):
    """One customer a launched campaign invites: the vehicle, the class at launch, the call task and its
    outcome. One row a customer and campaign."""

    store = store_checked_by_customer()
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="targets")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 db_constraint=False)
    vehicle = models.ForeignKey("customers.Vehicle", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    class_at_launch = models.CharField(_("class at launch"), max_length=20, choices=CustomerClass.choices,
                                       blank=True)
    wave = models.PositiveSmallIntegerField(_("wave"), default=1)
    task = models.ForeignKey("followups.FollowupTask", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    state = models.CharField(_("state"), max_length=20, choices=TargetState.choices, default=TargetState.TARGETED)
    reached = models.BooleanField(_("reached"), default=False)
    decline_reason = models.CharField(_("why declined"), max_length=20, choices=DeclineReason.choices, blank=True)
    letter_needed = models.BooleanField(_("SMS needed"), default=False)
    letter = models.ForeignKey("followups.LetterLog", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")
    outcome_at = models.DateTimeField(_("outcome recorded at"), null=True, blank=True)
    outcome_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name = _("campaign target")
        constraints = [
            customer_of_the_store("care_target_customer_of_the_store"),
            models.UniqueConstraint(fields=["campaign", "customer"], name="care_target_campaign_customer"),
        ]
        indexes = [models.Index(fields=["campaign", "state"], name="care_target_campaign_state_idx")]


class Recall(StoreOwnedModel):
    """A recall or service campaign of the carmaker for one store, from its VIN list: each vehicle of the store
    gets a call, and the recall is complete when every vehicle is done or unreachable."""

    code = models.CharField(_("recall code"), max_length=50)
    title = models.CharField(_("title"), max_length=200)
    started_on = models.DateField(_("starts on"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name = _("recall")
        ordering = ["-started_on", "-id"]
        constraints = [models.UniqueConstraint(fields=["store", "code"], name="care_recall_store_code")]

    def __str__(self):
        return f"{self.code} {self.title}"


class RecallVehicle(StoreOwnedModel):
    """A vehicle of a recall: its call task and whether the work is done (a repair order after the start, or the
    call says so) or the owner unreachable."""

    recall = models.ForeignKey(Recall, on_delete=models.CASCADE, related_name="vehicles")
    vehicle = models.ForeignKey("customers.Vehicle", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", db_constraint=False)
    row_number = models.PositiveIntegerField(_("row of the list"), default=0)
    task = models.ForeignKey("followups.FollowupTask", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    state = models.CharField(_("state"), max_length=20, choices=RecallVehicleState.choices,
                             default=RecallVehicleState.OPEN)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by_call = models.BooleanField(_("marked done by the call"), default=False)

    class Meta:
        verbose_name = _("recall vehicle")
        constraints = [models.UniqueConstraint(fields=["recall", "vehicle"], name="care_recall_vehicle_once")]
