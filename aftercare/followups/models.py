import functools
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import CleanTextMixin, StoreOwnedModel
from aftercare.customers.choices import RepairKind
from aftercare.org.choices import Role

from .choices import (
    MESSAGE_CHANNELS,
    CallDirection,
    CallOutcome,
    CallPurpose,
    DeadlineUnit,
    FollowupKind,
    LetterChannel,
    LetterKind,
    LetterStatus,
    MessagePurpose,
    QuestionnaireKind,
    QuestionnaireStatus,
    QuestionType,
    RateTreatment,
    StoreDayUnit,
    SubjectType,
    TaskStatus,
    Trigger,
)

# The names of the default rules (`services.rules.DEFAULT_RULES`), by code. A store's rule is written with its name in
# the site's language; `FollowupRule.display_name` shows a name still as shipped in the reader's language.
DEFAULT_RULE_NAMES = {
    "SSI": _("New-car SSI follow-up"),
    "CSI": _("After-sales CSI follow-up"),
    "TRACK1": _("Carmaker first tracking call"),
    "TRACK2": _("Carmaker second tracking call"),
    "VERIFY": _("Complaint verification call"),
    "FTF": _("Repeat repair: not fixed first time"),
    "RENEWAL": _("Insurance renewal contact"),
    "CARE": _("Care reminder call"),
    "CAMPAIGN": _("Campaign invitation call"),
    "RECALL": _("Recall or service campaign call"),
}


@functools.cache
def _shipped_names(code: str) -> frozenset[str]:
    """The default rule's name in every language of the site (empty for a code that is no default rule); computed
    once per code (each call switches languages, and `display_name` runs for every rule shown)."""
    name = DEFAULT_RULE_NAMES.get(code)
    if name is None:
        return frozenset()
    out = set()
    for language, _label in settings.LANGUAGES:
        with translation.override(language):
            out.add(str(name))
    return frozenset(out)


def default_allowed_roles() -> list[str]:
    return [Role.CS_SPECIALIST.value, Role.CS_MANAGER.value]


def default_excluded_kinds() -> list[str]:
    return [RepairKind.INTERNAL.value]


# ---- questionnaires --------------------------------------------------------------------------------------------


class QuestionnaireTemplate(CleanTextMixin, models.Model):
    """A versioned carmaker questionnaire (group-wide). A template with answer sheets is never edited in place."""

    code = models.CharField(_("code"), max_length=30)
    version = models.PositiveIntegerField(_("version"), default=1)
    kind = models.CharField(_("kind"), max_length=10, choices=QuestionnaireKind.choices)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=QuestionnaireStatus.choices, default=QuestionnaireStatus.DRAFT
    )
    dissatisfied_threshold = models.DecimalField(
        _("dissatisfied threshold"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.400"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text=_("A scale answer whose normalised score (0–1) is at or below this marks the sheet dissatisfied"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("questionnaire template")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="questionnaire_code_version_unique"),
            models.UniqueConstraint(
                fields=["code"], condition=Q(status="active"), name="questionnaire_one_active_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"

    @property
    def in_use(self) -> bool:
        return self.sheets.exists()


class Factor(CleanTextMixin, models.Model):
    template = models.ForeignKey(QuestionnaireTemplate, on_delete=models.CASCADE, related_name="factors")
    code = models.CharField(_("code"), max_length=30)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    weight = models.DecimalField(
        _("weight"), max_digits=6, decimal_places=3, default=Decimal(1), validators=[MinValueValidator(Decimal(0))]
    )

    class Meta:
        verbose_name = _("questionnaire factor")
        ordering = ["template_id", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["template", "code"], name="factor_code_unique")]

    def __str__(self) -> str:
        return self.name_zh


class Question(CleanTextMixin, models.Model):
    factor = models.ForeignKey(Factor, on_delete=models.CASCADE, related_name="questions")
    code = models.CharField(_("code"), max_length=30)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    text_zh = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"), blank=True)
    type = models.CharField(_("type"), max_length=20, choices=QuestionType.choices)
    choices = models.JSONField(
        _("choices"),
        default=list,
        blank=True,
        help_text=_('Single choice: [{"value": "a", "label_zh": "…", "label_en": "…", "score": 1.0}]'),
    )
    weight = models.DecimalField(
        _("weight"), max_digits=6, decimal_places=3, default=Decimal(1), validators=[MinValueValidator(Decimal(0))]
    )
    required = models.BooleanField(_("required"), default=True)
    dissatisfied_at_or_below = models.SmallIntegerField(
        _("dissatisfied at or below"),
        null=True,
        blank=True,
        help_text=_("Raw answer value; overrides the template threshold (yes/no: 0 means a 'no' is dissatisfied)"),
    )

    class Meta:
        verbose_name = _("question")
        ordering = ["factor__order", "order", "id"]

    def __str__(self) -> str:
        return self.text_zh[:40]

    def clean(self):
        if self.type == QuestionType.SINGLE_CHOICE:
            if not isinstance(self.choices, list) or not self.choices:
                raise ValidationError({"choices": _("A single-choice question needs at least one choice.")})
            values = [c.get("value") if isinstance(c, dict) else None for c in self.choices]
            if None in values or len(set(values)) != len(values):
                raise ValidationError({"choices": _("Every choice needs a distinct value.")})


class AnswerSheet(StoreOwnedModel):
    """One filled questionnaire: scores per factor and on the carmaker's 1000-point scale."""

    task = models.OneToOneField("FollowupTask", on_delete=models.PROTECT, related_name="sheet")
    template = models.ForeignKey(QuestionnaireTemplate, on_delete=models.PROTECT, related_name="sheets")
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    answered_at = models.DateTimeField(_("answered at"))
    score_total = models.DecimalField(_("score (1000 points)"), max_digits=7, decimal_places=2, null=True)
    factor_scores = models.JSONField(_("factor scores"), default=dict, blank=True)
    dissatisfied = models.BooleanField(_("dissatisfied"), default=False)
    dissatisfied_reasons = models.JSONField(default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("answer sheet")
        indexes = [models.Index(fields=["store", "answered_at"], name="sheet_store_time_idx")]

    def __str__(self) -> str:
        return f"{self.template} #{self.task_id}: {self.score_total}"


class Answer(models.Model):
    sheet = models.ForeignKey(AnswerSheet, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    value = models.JSONField(_("value"), null=True)
    score = models.DecimalField(_("normalised score"), max_digits=5, decimal_places=4, null=True)
    dissatisfied = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("answer")
        constraints = [models.UniqueConstraint(fields=["sheet", "question"], name="answer_unique_per_sheet")]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.value}"


# ---- rules, settings, tasks ------------------------------------------------------------------------------------


class StoreFollowupSettings(models.Model):
    store = models.OneToOneField("org.Store", on_delete=models.CASCADE, related_name="followup_settings")
    max_attempts = models.PositiveSmallIntegerField(
        _("maximum attempts"), default=3, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    repair_deadline_unit = models.CharField(
        _("repair-order deadline in"), max_length=20, choices=StoreDayUnit.choices, default=StoreDayUnit.CALENDAR_DAYS
    )
    unreachable_counts_as = models.CharField(
        _("unreachable tasks in the return-visit rate"),
        max_length=10,
        choices=RateTreatment.choices,
        default=RateTreatment.MISSED,
    )
    refused_counts_as = models.CharField(
        _("refused tasks in the return-visit rate"),
        max_length=10,
        choices=RateTreatment.choices,
        default=RateTreatment.DONE,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("store follow-up settings")
        verbose_name_plural = _("store follow-up settings")

    def __str__(self) -> str:
        return str(self.store)


class FollowupRule(StoreOwnedModel):
    """A row a CS manager edits per store: which event creates which call task, and by when it is due."""

    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    trigger = models.CharField(_("trigger"), max_length=30, choices=Trigger.choices)
    kind = models.CharField(_("kind"), max_length=30, choices=FollowupKind.choices)
    source_rule = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("after the task of rule"),
        help_text=_("Only for the trigger 'previous follow-up completed'"),
    )
    delay_hours = models.PositiveIntegerField(
        _("delay (hours)"), default=0, help_text=_("The task may be called from this many hours after the event")
    )
    deadline_amount = models.PositiveIntegerField(_("deadline"), validators=[MinValueValidator(1)])
    deadline_unit = models.CharField(_("deadline unit"), max_length=20, choices=DeadlineUnit.choices)
    template = models.ForeignKey(
        QuestionnaireTemplate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rules",
        verbose_name=_("questionnaire"),
    )
    allowed_roles = models.JSONField(_("who may call"), default=default_allowed_roles, blank=True)
    excluded_repair_kinds = models.JSONField(
        _("excluded repair-order kinds"), default=default_excluded_kinds, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_carmaker_variant = models.BooleanField(_("carmaker variant"), default=False, editable=False)

    class Meta:
        verbose_name = _("follow-up rule")
        ordering = ["store_id", "code"]
        constraints = [models.UniqueConstraint(fields=["store", "code"], name="followup_rule_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} {self.display_name}"

    @property
    def display_name(self) -> str:
        """The name in the reader's language while it is the default rule's name as shipped (in any of the site's
        languages); a name the store changed as it was typed."""
        if self.name in _shipped_names(self.code):
            return str(DEFAULT_RULE_NAMES[self.code])
        return self.name

    @property
    def allowed_role_labels(self) -> list[str]:
        """Who may call, as role names in the reader's language (a code no longer a role as it is)."""
        return [str(Role(code).label) if code in Role.values else code for code in self.allowed_roles or []]

    def clean(self):
        errors = {}
        if self.trigger == Trigger.FOLLOWUP_COMPLETED and self.source_rule_id is None:
            errors["source_rule"] = _("Choose the rule whose completed task starts this one.")
        if self.trigger != Trigger.FOLLOWUP_COMPLETED and self.source_rule_id is not None:
            errors["source_rule"] = _("Only a 'previous follow-up completed' rule has a source rule.")
        if self.source_rule_id is not None and self.source_rule.store_id != self.store_id:
            errors["source_rule"] = _("The source rule must belong to the same store.")
        if not isinstance(self.allowed_roles, list) or not set(self.allowed_roles) <= set(Role.values):
            errors["allowed_roles"] = _("Unknown role.")
        if not isinstance(self.excluded_repair_kinds, list) or not set(self.excluded_repair_kinds) <= set(
            RepairKind.values
        ):
            errors["excluded_repair_kinds"] = _("Unknown repair-order kind.")
        if errors:
            raise ValidationError(errors)


class FollowupTask(StoreOwnedModel):
    """One follow-up call to make. (rule, subject) is unique, so generating twice creates nothing twice."""

    rule = models.ForeignKey(FollowupRule, on_delete=models.PROTECT, related_name="tasks")
    kind = models.CharField(_("kind"), max_length=30, choices=FollowupKind.choices)
    subject_type = models.CharField(_("subject type"), max_length=20, choices=SubjectType.choices)
    subject_id = models.BigIntegerField(_("subject id"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="followup_tasks")
    vehicle = models.ForeignKey(
        "customers.Vehicle", on_delete=models.PROTECT, null=True, blank=True, related_name="followup_tasks"
    )
    template = models.ForeignKey(
        QuestionnaireTemplate, on_delete=models.PROTECT, null=True, blank=True, related_name="tasks"
    )
    event_at = models.DateTimeField(_("event time"))
    due_at = models.DateTimeField(_("due before"), help_text=_("Half-open: completed in time if before this instant"))
    status = models.CharField(_("status"), max_length=20, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    status_reason = models.CharField(_("reason"), max_length=200, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    # who held the task when it fell due, recorded when it changes hands after its deadline: a late close is theirs,
    # not the rate of whoever took the overdue task over (specialist_workload; docs/kpis.md "On-time rate")
    late_holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_call_at = models.DateTimeField(_("next call at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=CallOutcome.choices, blank=True)

    class Meta:
        verbose_name = _("follow-up task")
        constraints = [
            models.UniqueConstraint(fields=["rule", "subject_type", "subject_id"], name="followup_task_rule_subject"),
            models.CheckConstraint(
                condition=Q(claimed_by__isnull=True) | Q(claimed_at__isnull=False), name="followup_claim_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["store", "status", "due_at"], name="followup_queue_idx"),
            models.Index(fields=["store", "due_at"], name="followup_store_due_idx"),
            models.Index(fields=["claimed_by", "status"], name="followup_claimed_idx"),
            models.Index(fields=["customer", "status"], name="followup_customer_idx"),
            # the queue reads only open / claimed tasks: a partial index keeps its plan away from closed history
            models.Index(
                fields=["store", "due_at"], name="followup_open_due_idx", condition=Q(status__in=["open", "claimed"])
            ),
            # specialist workload and on-time rates filter closed tasks by close time
            models.Index(fields=["store", "completed_at"], name="followup_store_closed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class CallLog(StoreOwnedModel):
    """Every call: attempts on a task and calls logged by hand (inbound consultations, complaints)."""

    task = models.ForeignKey(FollowupTask, on_delete=models.PROTECT, null=True, blank=True, related_name="calls")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(
        _("direction"), max_length=10, choices=CallDirection.choices, default=CallDirection.OUTBOUND
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=CallPurpose.choices, default=CallPurpose.FOLLOWUP)
    called_at = models.DateTimeField(_("time"))
    duration_s = models.PositiveIntegerField(_("duration (s)"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=CallOutcome.choices)
    call_back_at = models.DateTimeField(_("call back at"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("call log entry")
        ordering = ["-called_at", "-id"]
        indexes = [
            models.Index(fields=["store", "called_at"], name="calllog_store_time_idx"),
            models.Index(fields=["handler", "called_at"], name="calllog_handler_time_idx"),
            # the sales hand-over's data errors (kpis.py): a store's wrong numbers since the period's start; few rows
            models.Index(fields=["store", "called_at"], condition=Q(outcome="wrong_number"),
                         name="calllog_wrong_number_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.called_at:%Y-%m-%d %H:%M} {self.outcome}"


# Why a message was not sent, as `services.outbound.message_send` stores it in `LetterLog.error` (English, stable: the
# tests and the API read it), and as the message log shows it.
LETTER_REASONS = {
    "weekly cap reached": _("weekly cap of marketing messages reached"),
    "channel disabled": _("channel turned off for the store"),
    "no marketing consent": _("no consent to marketing messages"),
    "no service consent": _("no consent to service messages"),
    "customer file merged": _("customer file merged into another"),
    "no sms address": _("no mobile number on file"),
    "no email address": _("no e-mail address on file"),
    "no wechat address": _("no WeChat account linked"),
}


class LetterLog(StoreOwnedModel):
    """Every notice, invitation and reply letter, and the SMS sent to unreachable customers."""

    task = models.ForeignKey(FollowupTask, on_delete=models.PROTECT, null=True, blank=True, related_name="letters")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=30, choices=LetterKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=LetterChannel.choices)
    status = models.CharField(_("status"), max_length=10, choices=LetterStatus.choices, default=LetterStatus.PENDING)
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    text = models.TextField(_("text"), blank=True)
    # ---- channels: the delivery log of every message (services/outbound.py) ----
    purpose = models.CharField(_("purpose"), max_length=10, choices=MessagePurpose.choices,
                               default=MessagePurpose.SERVICE)
    template_code = models.CharField(_("template"), max_length=50, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    hold_until = models.DateTimeField(_("held until"), null=True, blank=True)
    # ---- end channels ----

    class Meta:
        verbose_name = _("letter log entry")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["store", "created_at"], name="letterlog_store_time_idx"),
            # channels: a customer's messages of a week (the caps) and the held ones due
            models.Index(fields=["customer", "created_at"], name="letterlog_customer_time_idx"),
            models.Index(fields=["status", "hold_until"], name="letterlog_status_hold_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel}"

    @property
    def error_label(self) -> str:
        """`error` in the reader's language when it is one of `LETTER_REASONS`, else empty (a provider's error text
        is shown as it came)."""
        label = LETTER_REASONS.get(self.error)
        return str(label) if label else ""


# ---- channels: message templates and per-store sending rules ----
class MessageTemplate(CleanTextMixin, models.Model):
    """A message with `{variable}` placeholders, in Chinese and English, for one channel and purpose. A store's
    own template of a code wins over its group's (`store` empty). Unknown variables are refused on save
    (`clean`), naming the variable; the variables are `outbound.TEMPLATE_VARIABLES` (and those registered)."""

    group = models.ForeignKey("org.DealerGroup", on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    code = models.SlugField(_("code"), max_length=50)
    name = models.CharField(_("name"), max_length=100)
    purpose = models.CharField(_("purpose"), max_length=10, choices=MessagePurpose.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=LetterChannel.choices)
    subject_zh = models.CharField(_("subject (Chinese)"), max_length=200, blank=True)
    body_zh = models.TextField(_("text (Chinese)"))
    subject_en = models.CharField(_("subject (English)"), max_length=200, blank=True)
    body_en = models.TextField(_("text (English)"), blank=True)
    wechat_template_id = models.CharField(_("WeChat template id"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("message template")
        ordering = ["code", "channel", "id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "code", "channel"], condition=Q(store__isnull=False),
                                    name="message_template_store_code"),
            models.UniqueConstraint(fields=["group", "code", "channel"], condition=Q(store__isnull=True),
                                    name="message_template_group_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.channel})"

    def clean(self):
        from .services.outbound import template_variables_check

        errors = {}
        if self.channel not in MESSAGE_CHANNELS:
            errors["channel"] = [_("Choose SMS, e-mail or WeChat.")]
        for field in ("subject_zh", "body_zh", "subject_en", "body_en"):
            try:
                template_variables_check(getattr(self, field) or "")
            except ValidationError as exc:
                errors[field] = exc.messages
        if errors:
            raise ValidationError(errors)


def all_message_channels() -> list[str]:
    return list(MESSAGE_CHANNELS)


class ChannelSettings(models.Model):
    """A store's sending rules; a store without a row follows the settings (`MESSAGE_QUIET_HOURS_START` / `_END`,
    `MESSAGE_MARKETING_WEEKLY_CAP`, `CALLS_WEEKLY_CAP`) and sends on every channel. A channel not in
    `enabled_channels` sends nothing from the store (its messages are cancelled with the reason)."""

    store = models.OneToOneField("org.Store", on_delete=models.CASCADE, related_name="+")
    quiet_start = models.TimeField(_("quiet hours from"))
    quiet_end = models.TimeField(_("quiet hours until"))
    marketing_weekly_cap = models.PositiveSmallIntegerField(_("marketing messages per customer a week"))
    calls_weekly_cap = models.PositiveSmallIntegerField(_("calls per customer a week"))
    enabled_channels = models.JSONField(_("enabled channels"), default=all_message_channels, blank=True)

    class Meta:
        verbose_name = _("channel settings")
        verbose_name_plural = _("channel settings")

    def __str__(self) -> str:
        return str(self.store_id)

    def clean(self):
        super().clean()
        channels = self.enabled_channels
        if not isinstance(channels, list) or any(c not in MESSAGE_CHANNELS for c in channels):
            raise ValidationError({"enabled_channels": [_("Choose among SMS, e-mail and WeChat.")]})
        self.enabled_channels = [c for c in MESSAGE_CHANNELS if c in channels]  # one order, no repeats
# ---- end channels ----
