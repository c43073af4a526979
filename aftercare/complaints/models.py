from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import StoreOwnedModel

from .choices import FeedbackCategory, FeedbackKind, FeedbackSource, FeedbackStatus


class Feedback(StoreOwnedModel):
    """A complaint (投诉), grievance (抱怨) or suggestion (建议) of a customer, with where it was heard.

    Routing to the department designee, the 3-day deadline, verification and archiving are a later step:
    `status` and `deadline_at` are here for them.
    """

    kind = models.CharField(_("kind"), max_length=20, choices=FeedbackKind.choices)
    source = models.CharField(_("source"), max_length=20, choices=FeedbackSource.choices)
    category = models.CharField(_("category"), max_length=20, choices=FeedbackCategory.choices)
    department = models.ForeignKey(
        "org.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="feedback",
        verbose_name=_("responsible department"),
    )
    person_concerned = models.CharField(_("person concerned"), max_length=100, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="feedback", verbose_name=_("customer")
    )
    vehicle = models.ForeignKey(
        "customers.Vehicle",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="feedback",
        verbose_name=_("vehicle"),
    )
    text = models.TextField(_("what the customer said"))
    followup_task = models.ForeignKey(
        "followups.FollowupTask", on_delete=models.PROTECT, null=True, blank=True, related_name="feedback"
    )
    answer_sheet = models.ForeignKey(
        "followups.AnswerSheet", on_delete=models.PROTECT, null=True, blank=True, related_name="feedback"
    )
    call_log = models.ForeignKey(
        "followups.CallLog", on_delete=models.PROTECT, null=True, blank=True, related_name="feedback"
    )
    status = models.CharField(_("status"), max_length=20, choices=FeedbackStatus.choices, default=FeedbackStatus.NEW)
    deadline_at = models.DateTimeField(_("deadline"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["store", "status", "created_at"], name="feedback_store_status_idx"),
            models.Index(fields=["store", "created_at"], name="feedback_store_time_idx"),
            models.Index(fields=["customer", "created_at"], name="feedback_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"
