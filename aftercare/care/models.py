"""Customer care and retention (issue 18): reminders, campaigns and recalls, customer classes and churn, the
churn-risk score, outbound channels and consent. Store-owned rows carry `store_id` (`core.models.StoreOwnedModel`)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import StoreOwnedModel
from aftercare.customers.models import customer_of_the_store, store_checked_by_customer

from .choices import CustomerClass, LostRule


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
