"""Customer care and retention (issue 18): reminders, campaigns and recalls, customer classes and churn, the
churn-risk score, outbound channels and consent. Store-owned rows carry `store_id` (`core.models.StoreOwnedModel`)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import StoreOwnedModel, StoreOwnedQuerySet
from aftercare.customers.choices import LossReason
from aftercare.customers.models import customer_of_the_store, store_checked_by_customer

from .choices import (
    CampaignPurpose,
    CampaignState,
    CustomerClass,
    DeclineReason,
    LostRule,
    RecallVehicleState,
    ReminderAction,
    ReminderKind,
    ReminderState,
    TargetState,
)


class CareProfile(StoreOwnedModel):
    """Where a customer stands for care today, one row a customer: the class of the daily classification (with its
    history in the classification part) and the customer attributes the churn-risk score reads. Segments, reminder
    and campaign lists and the customer-360 panel read it; the score itself is a `ChurnScore`."""

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
    # ---- churn: customer attributes the churn-risk score reads (docs/care.md, "Churn-risk score") ----
    distance_km = models.DecimalField(
        _("distance to the store (km)"), max_digits=6, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Filled by the store from the customer's address; empty when unknown"),
    )
    books_appointments = models.BooleanField(
        _("books appointments"), default=False, db_default=False,  # the classification inserts profiles in SQL
        help_text=_("Set by the store; the churn-risk score also counts a customer whose repair orders of the "
                    "last 24 months came by appointment at least half of the time"),
    )
    # ---- end churn ----

    class Meta:
        verbose_name = _("care profile")
        constraints = [
            customer_of_the_store("care_profile_customer_of_the_store"),
            models.CheckConstraint(condition=models.Q(spend_12m__gte=0), name="care_profile_spend_non_negative"),
        ]
        indexes = [
            models.Index(fields=["store", "customer_class"], name="care_profile_store_class_idx"),
        ]


# ---- classes: class settings, class history, churn reasons (issue 18, "Classes and churn") ----


class ClassSettings(models.Model):
    """A store's thresholds of the daily classification (defaults: seed 000 p20; docs/care.md, "Classes and
    churn"). A store without a row classifies with these defaults."""

    store = models.OneToOneField("org.Store", on_delete=models.CASCADE, related_name="care_class_settings")
    lost_after_months = models.PositiveSmallIntegerField(
        _("lost after (months without a counted visit)"), default=6,
        validators=[MinValueValidator(3), MaxValueValidator(24)],
        help_text=_("Also how long a customer without any counted visit stays new"),
    )
    once_a_year_max_visits = models.PositiveSmallIntegerField(
        _("lost with at most this many visits in 12 months"), default=1,
        validators=[MinValueValidator(0), MaxValueValidator(3)],
        help_text=_("For customers known for 12 months or more; 0 turns the rule off"),
    )
    lost_when_only_inspections = models.BooleanField(
        _("lost when only inspections"), default=True,
        help_text=_("Every counted visit of the last 12 months had amount 0"),
    )
    reminded_min = models.PositiveSmallIntegerField(
        _("lost after this many care reminders without a visit"), default=3,
        validators=[MinValueValidator(0), MaxValueValidator(20)],
        help_text=_("Care follow-up tasks of the last 12 months after the last counted visit; 0 turns the rule off"),
    )
    loyal_min_visits = models.PositiveSmallIntegerField(
        _("loyal from this many visits in 12 months"), default=2,
        validators=[MinValueValidator(2), MaxValueValidator(12)],
        help_text=_("With a counted visit in each half of the 12 months"),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("store class settings")
        verbose_name_plural = _("store class settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(lost_after_months__gte=3, lost_after_months__lte=24),
                                   name="care_class_settings_lost_months_range"),
            models.CheckConstraint(condition=models.Q(loyal_min_visits__gte=2, loyal_min_visits__lte=12),
                                   name="care_class_settings_loyal_range"),
        ]

    def __str__(self):
        return str(self.store)


class ClassChange(StoreOwnedModel):
    """One change of a customer's class, written by the daily classification only when the class changes
    (`from_class` empty: the customer's first classification). The class of a customer on a day is the `to_class`
    of the latest change on or before it."""

    store = store_checked_by_customer()
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="care_class_changes", db_constraint=False,
        verbose_name=_("customer"),
    )
    from_class = models.CharField(_("from"), max_length=20, choices=CustomerClass.choices, blank=True)
    to_class = models.CharField(_("to"), max_length=20, choices=CustomerClass.choices)
    rule = models.CharField(_("why lost"), max_length=30, choices=LostRule.choices, blank=True)
    on_date = models.DateField(_("on"))

    class Meta:
        verbose_name = _("class change")
        constraints = [customer_of_the_store("care_class_change_customer_of_the_store")]
        indexes = [
            models.Index(fields=["store", "on_date"], name="care_class_change_store_on_idx"),
            models.Index(fields=["customer", "on_date"], name="care_class_change_cust_on_idx"),
        ]


class ClassFlowMonth(StoreOwnedModel):
    """The class flows of a store's month, written by the daily classification from the class history (never by
    hand): how many customers were in `from_class` at 00:00 of the month's first day (empty: not yet classified)
    and in `to_class` at 00:00 of the next month's first day (for the running month: after the latest run). The
    start and end counts, the churn rate and the loyal share follow from these rows; the classes page and the KPI
    measures read them instead of the history (docs/care.md, "Classes and churn")."""

    month = models.DateField(_("month"))  # its first day
    from_class = models.CharField(_("from"), max_length=20, choices=CustomerClass.choices, blank=True)
    to_class = models.CharField(_("to"), max_length=20, choices=CustomerClass.choices)
    customers = models.PositiveIntegerField(_("customers"), default=0)

    class Meta:
        verbose_name = _("class flow of a month")
        constraints = [models.UniqueConstraint(fields=["store", "month", "from_class", "to_class"],
                                               name="care_class_flow_month_uniq")]


class ChurnReason(StoreOwnedModel):
    """Why a lost (or at-risk) customer left, as the customer said on a call or as customer service recorded it
    on the customer's page. The latest one of a customer is the one reported."""

    store = store_checked_by_customer()
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="care_churn_reasons", db_constraint=False,
        verbose_name=_("customer"),
    )
    reason = models.CharField(_("reason"), max_length=30, choices=LossReason.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    task = models.ForeignKey("followups.FollowupTask", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+", verbose_name=_("call"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    recorded_on = models.DateField(_("recorded on"))

    class Meta:
        verbose_name = _("churn reason")
        constraints = [customer_of_the_store("care_churn_reason_customer_of_the_store")]
        indexes = [models.Index(fields=["store", "recorded_on"], name="care_churn_reason_store_on_idx")]


# ---- churn: the churn-risk model (aftercare/care/churnmodel.py) ----


class ChurnModel(models.Model):
    """One training of the churn-risk model on the group's history (group-wide, not a store's): the fitted
    scikit-learn pipeline (joblib bytes, only ever loaded from these rows), its features and its backtest on a
    later period. The newest row scores."""

    trained_at = models.DateTimeField(_("trained at"))
    cutoff = models.DateField(_("backtest cutoff"), help_text=_("Trained on labels before it, tested after it"))
    feature_names = models.JSONField(_("features"), default=list)
    coefficients = models.JSONField(_("coefficients"), default=dict)
    model = models.BinaryField(_("serialized model"))
    metrics = models.JSONField(_("backtest"), default=dict, blank=True)

    class Meta:
        verbose_name = _("churn-risk model")
        ordering = ["-trained_at", "-id"]

    def __str__(self) -> str:
        return f"{self.trained_at:%Y-%m-%d %H:%M} (AUC {self.metrics.get('auc_model', '?')})"


class ChurnScore(models.Model):
    """The churn-risk score of one active customer, as of the last daily scoring: a narrow table of its own,
    replaced whole each night in one transaction (`services/churn.py`, `churn_scores_write`), so scoring never
    rewrites the wide care profiles and a reader sees yesterday's scores or today's, never a mix. A customer
    without a row is not scored (not active, or no model yet). Read it through `selectors.churn_risk_of`."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="churn_score",
        db_constraint=False, verbose_name=_("customer"),
    )
    store = store_checked_by_customer()
    risk = models.FloatField(
        _("churn risk"), validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text=_("Probability of becoming lost in the next 6 months"),
    )
    reasons = models.JSONField(_("churn risk reasons"), default=list, blank=True)
    model = models.ForeignKey(ChurnModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              db_constraint=False, db_index=False, verbose_name=_("churn-risk model"))
    scored_on = models.DateField(_("scored on"))

    objects = StoreOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("churn-risk score")
        constraints = [
            customer_of_the_store("care_churn_score_customer_of_the_store"),
            models.CheckConstraint(condition=models.Q(risk__gte=0, risk__lte=1), name="care_churn_score_risk_0_1"),
        ]
        indexes = [models.Index(fields=["store", "risk"], name="care_churn_score_risk_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.risk:.2f}"


def churn_risk_of(customer: str = "customer") -> models.F:
    """A customer's churn risk (None when not scored) as an expression of any queryset: `customer` is the path
    from the queryset's model to the customer ("customer" for store-owned rows with a customer, "" on Customer
    itself). The one way every reader (lists, segments, rankings) names it: order by
    `churn_risk_of().desc(nulls_last=True)`, filter with `.alias(risk=churn_risk_of()).filter(risk__gte=…)`."""
    return models.F(f"{customer}__churn_score__risk" if customer else "churn_score__risk")


# ---- end churn ----


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
