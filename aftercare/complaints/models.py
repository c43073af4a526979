from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import StoreOwnedModel
from aftercare.org.choices import Role

from .choices import (
    FeedbackAction,
    FeedbackCategory,
    FeedbackKind,
    FeedbackSeverity,
    FeedbackSource,
    FeedbackStatus,
    PauseReason,
    VerificationResult,
)


class Feedback(StoreOwnedModel):
    """A complaint (投诉), grievance (抱怨) or suggestion (建议): the electronic complaint form.

    Due dates live in columns (`deadline_at`, `warn_at`, `next_escalation_at`); the daily/hourly job
    `complaints_escalate` acts on rows whose instant has passed, so reruns change nothing twice.
    All instants are UTC and half-open: handled in time means `returned_at < deadline_at`.
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
    severity = models.CharField(
        _("severity"), max_length=10, choices=FeedbackSeverity.choices, default=FeedbackSeverity.NORMAL
    )
    deadline_at = models.DateTimeField(_("deadline"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # routing and the clock
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by (current)"),
    )
    routed_at = models.DateTimeField(_("sent to the department at"), null=True, blank=True)
    warn_at = models.DateTimeField(_("due-soon warning at"), null=True, blank=True)
    warned_at = models.DateTimeField(_("due-soon warning sent at"), null=True, blank=True)
    next_escalation_at = models.DateTimeField(_("next escalation at"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    paused_at = models.DateTimeField(_("clock paused since"), null=True, blank=True)
    pause_reason = models.CharField(_("waiting for"), max_length=20, choices=PauseReason.choices, blank=True)
    paused_working_days = models.PositiveIntegerField(_("working days paused"), default=0)
    # handling by the department
    actions_taken = models.TextField(_("actions taken"), blank=True)
    root_cause = models.TextField(_("root cause"), blank=True)
    result = models.TextField(_("result"), blank=True)
    returned_at = models.DateTimeField(_("returned to CS at"), null=True, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    returned_by_role = models.CharField(_("returned by role"), max_length=30, choices=Role.choices, blank=True)
    returned_in_time = models.BooleanField(_("returned in time"), null=True, blank=True)
    first_returned_at = models.DateTimeField(_("first returned at"), null=True, blank=True)
    first_returned_in_time = models.BooleanField(_("first return in time"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    # verification and archive
    verification_task = models.ForeignKey(
        "followups.FollowupTask",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="verified_feedback",
        verbose_name=_("verification call"),
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verification_result = models.CharField(
        _("verification result"), max_length=20, choices=VerificationResult.choices, blank=True
    )
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["store", "status", "created_at"], name="feedback_store_status_idx"),
            models.Index(fields=["store", "created_at"], name="feedback_store_time_idx"),
            models.Index(fields=["customer", "created_at"], name="feedback_customer_idx"),
            models.Index(fields=["assignee", "status", "deadline_at"], name="feedback_inbox_idx"),
            models.Index(
                fields=["next_escalation_at"],
                name="feedback_escalation_due_idx",
                condition=Q(status="routed", paused_at__isnull=True),
            ),
            models.Index(
                fields=["warn_at"],
                name="feedback_warn_due_idx",
                condition=Q(status="routed", paused_at__isnull=True, warned_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(paused_at__isnull=True, pause_reason="") | Q(paused_at__isnull=False) & ~Q(pause_reason=""),
                name="feedback_pause_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="archived") | Q(archived_at__isnull=False), name="feedback_archived_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(status="routed") | Q(deadline_at__isnull=False), name="feedback_routed_has_deadline"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class FeedbackEvent(StoreOwnedModel):
    """One step in a form's history (visible on the form and in its PDF). Append-only, written by services.

    `actor` is null for the system job (due-soon warnings, escalations).
    """

    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(_("action"), max_length=20, choices=FeedbackAction.choices)
    from_status = models.CharField(_("from"), max_length=20, choices=FeedbackStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=FeedbackStatus.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("feedback event")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["feedback", "created_at"], name="feedback_event_idx")]

    def __str__(self) -> str:
        return f"{self.action} #{self.feedback_id}"


def attachment_path(instance, filename: str) -> str:
    # the stored name never carries the uploaded name (it may be anything); downloads go through a scoped view
    import uuid

    return f"complaints/{instance.store_id}/{instance.feedback_id}/{uuid.uuid4().hex}"


class FeedbackAttachment(StoreOwnedModel):
    """A handling document (photo, invoice, report). Served only through the scoped download view."""

    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("handling document")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class ComplaintSettings(models.Model):
    """Per-store complaint settings (defaults apply while a store has no row)."""

    store = models.OneToOneField("org.Store", on_delete=models.CASCADE, related_name="complaint_settings")
    warn_hours = models.PositiveSmallIntegerField(
        _("due-soon warning (hours before the deadline)"), default=24, validators=[MaxValueValidator(240)]
    )
    reopen_escalation_count = models.PositiveSmallIntegerField(
        _("escalate when reopened this many times"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
    )
    repeat_repair_window_days = models.PositiveSmallIntegerField(
        _("repeat-repair window (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("store complaint settings")
        verbose_name_plural = _("store complaint settings")

    def __str__(self) -> str:
        return str(self.store)


class DeadlinePolicy(StoreOwnedModel):
    """Handling deadline in working days for one kind and severity (default 3 when a store has no row)."""

    kind = models.CharField(_("kind"), max_length=20, choices=FeedbackKind.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=FeedbackSeverity.choices)
    working_days = models.PositiveSmallIntegerField(
        _("working days"), validators=[MinValueValidator(1), MaxValueValidator(30)]
    )

    class Meta:
        verbose_name = _("handling deadline")
        ordering = ["store_id", "kind", "severity"]
        constraints = [
            models.UniqueConstraint(fields=["store", "kind", "severity"], name="deadline_policy_unique"),
            models.CheckConstraint(
                condition=Q(working_days__gte=1, working_days__lte=30), name="deadline_policy_days_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.severity}: {self.working_days}"


class EscalationTier(StoreOwnedModel):
    """Tier `level` notifies the store's staff of `role` once a form is `working_days_after` past its deadline."""

    level = models.PositiveSmallIntegerField(_("level"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    role = models.CharField(_("escalate to"), max_length=30, choices=Role.choices)
    working_days_after = models.PositiveSmallIntegerField(
        _("working days after the deadline"), default=0, validators=[MaxValueValidator(30)]
    )

    class Meta:
        verbose_name = _("escalation tier")
        ordering = ["store_id", "level"]
        constraints = [
            models.UniqueConstraint(fields=["store", "level"], name="escalation_tier_unique"),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=5), name="escalation_tier_level_range"),
        ]

    def __str__(self) -> str:
        return f"{self.level}: {self.role}"


class DepartmentDesignee(StoreOwnedModel):
    """The person of a department who receives its complaint forms (one per department)."""

    department = models.OneToOneField(
        "org.Department", on_delete=models.CASCADE, related_name="designee", verbose_name=_("department")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("designee")
    )

    class Meta:
        verbose_name = _("department designee")

    def __str__(self) -> str:
        return f"{self.department_id} → {self.user_id}"


class RepeatRepair(StoreOwnedModel):
    """A repair order followed by a repeat repair of the same fault on the same vehicle within the window."""

    original = models.ForeignKey(
        "customers.RepairOrder", on_delete=models.CASCADE, related_name="repeat_repairs", verbose_name=_("original")
    )
    repeat = models.ForeignKey(
        "customers.RepairOrder", on_delete=models.CASCADE, related_name="+", verbose_name=_("repeat repair")
    )
    vehicle = models.ForeignKey("customers.Vehicle", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    fault_key = models.CharField(_("fault"), max_length=200)
    followup_task = models.ForeignKey(
        "followups.FollowupTask", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("repeat repair")
        constraints = [
            models.UniqueConstraint(fields=["original", "repeat"], name="repeat_repair_unique"),
            models.CheckConstraint(condition=~Q(original=models.F("repeat")), name="repeat_repair_not_self"),
        ]
        indexes = [models.Index(fields=["store", "created_at"], name="repeat_repair_store_idx")]

    def __str__(self) -> str:
        return f"{self.original_id} → {self.repeat_id}"
