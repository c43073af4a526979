"""Parts quality (issue 20, docs/quality.md): the codes (part families, symptoms), the parts-quality reports of the
stores, and the batch-defect alarms of the dealer group."""

from django.conf import settings
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import CleanTextMixin, StoreOwnedModel

from .choices import OPEN_ALARM_STATUSES, AlarmStatus, AlarmTest, ReportSource, ReportStatus

code_validator = RegexValidator(r"^[A-Z0-9][A-Z0-9_-]*$", _("Use capital letters, digits, - and _ only."))


class BilingualName(models.Model):
    """A code with its name in both languages; `name` is the reader's language."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def name(self) -> str:
        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en


class PartFamily(CleanTextMixin, BilingualName):
    """A family of parts watched by the alarm (motor, controller, …); data the quality engineer edits."""

    code = models.CharField(_("code"), max_length=20, unique=True, validators=[code_validator])
    important = models.BooleanField(_("important part"), default=True)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ("position", "code")
        verbose_name = _("part family")
        verbose_name_plural = _("part families")


class SymptomCode(CleanTextMixin, BilingualName):
    """A failure symptom, of one part family or general (no family)."""

    code = models.CharField(_("code"), max_length=20, unique=True, validators=[code_validator])
    family = models.ForeignKey(
        PartFamily,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="symptoms",
        verbose_name=_("part family"),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ("family__position", "code")
        verbose_name = _("symptom code")


class QualityReport(StoreOwnedModel):
    """A parts-quality report (零部件质量信息反馈): one failed part of one vehicle, reported by the dealer's store.

    A draft may lack the part and the vehicle (a complaint handed over before anyone looked at the car); a submitted
    report has them all (a check constraint), and only submitted reports feed the alarm."""

    status = models.CharField(_("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    source = models.CharField(_("source"), max_length=20, choices=ReportSource.choices)
    vehicle = models.ForeignKey(
        "customers.Vehicle",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("vehicle"),
    )
    vin = models.CharField(_("VIN"), max_length=17, blank=True)
    vehicle_model = models.CharField(_("model"), max_length=100, blank=True)
    build_month = models.DateField(_("build month"), null=True, blank=True)
    part_family = models.ForeignKey(
        PartFamily,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("part family"),
    )
    part_number = models.CharField(_("part number"), max_length=50, blank=True)
    supplier_batch = models.CharField(_("supplier batch"), max_length=50, blank=True)
    failure_date = models.DateField(_("failure date"), null=True, blank=True)
    mileage_km = models.PositiveIntegerField(
        _("mileage at failure (km)"), null=True, blank=True, validators=[MaxValueValidator(2_000_000)]
    )
    months_in_service = models.PositiveSmallIntegerField(
        _("months in service at failure"), null=True, blank=True, validators=[MaxValueValidator(600)]
    )
    symptom = models.ForeignKey(
        SymptomCode, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("symptom code")
    )
    symptom_text = models.TextField(_("symptom"), blank=True)
    repair_order = models.ForeignKey(
        "customers.RepairOrder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("repair order"),
    )
    complaint = models.ForeignKey(
        "complaints.Feedback",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("complaint"),
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # the carmaker's warranty claim a report was imported from (docs/quality.md, "The warranty-claim file")
    claim_number = models.CharField(_("claim number"), max_length=40, blank=True)
    claim_date = models.DateField(_("claim date"), null=True, blank=True)

    class Meta:
        verbose_name = _("parts-quality report")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ReportStatus.values), name="quality_report_status_valid"),
            models.CheckConstraint(condition=Q(source__in=ReportSource.values), name="quality_report_source_valid"),
            models.CheckConstraint(
                condition=Q(status=ReportStatus.DRAFT)
                | (
                    Q(
                        part_family__isnull=False,
                        vehicle__isnull=False,
                        build_month__isnull=False,
                        failure_date__isnull=False,
                        submitted_at__isnull=False,
                    )
                    & ~Q(vin="")
                ),
                name="quality_report_submitted_complete",
            ),
            # a complaint is handed over once
            models.UniqueConstraint(
                fields=["complaint"], condition=Q(complaint__isnull=False), name="quality_report_one_per_complaint"
            ),
            # a warranty claim is imported once per store (re-importing the file skips it)
            models.UniqueConstraint(
                fields=["store", "claim_number"], condition=~Q(claim_number=""), name="quality_report_one_per_claim"
            ),
        ]
        indexes = [
            models.Index(fields=["part_family", "build_month", "failure_date"], name="quality_report_series"),
            models.Index(fields=["store", "status", "failure_date"], name="quality_report_store_status"),
        ]

    def __str__(self) -> str:
        return f"{self.vin or '—'} {self.part_family or ''}".strip()


class QualityReportPhoto(CleanTextMixin, models.Model):
    """A photo of a report's failed part (evidence, added while drafting or later); store-scoped through its
    report, like a visit's photo through its visit."""

    report = models.ForeignKey(QualityReport, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("photo"), upload_to="quality/reports/%Y/%m/")
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("report photo")
        ordering = ("id",)

    def __str__(self) -> str:
        return self.caption or self.image.name


class QualityAlarm(models.Model):
    """A batch-defect alarm of one series (part family × build month × supplier batch, pooled across the group's
    stores), one row per episode: the alarm months that follow while it is open belong to it (the job updates its
    figures); a rerun finds it by its natural key and adds nothing."""

    group = models.ForeignKey("org.DealerGroup", on_delete=models.PROTECT, related_name="+")
    part_family = models.ForeignKey(
        PartFamily, on_delete=models.PROTECT, related_name="alarms", verbose_name=_("part family")
    )
    build_month = models.DateField(_("build month"))
    supplier_batch = models.CharField(_("supplier batch"), max_length=50, blank=True, default="")
    first_alarm_month = models.DateField(_("first alarm month"))
    last_alarm_month = models.DateField(_("last alarm month"))
    observed = models.PositiveIntegerField(_("failures observed"))
    expected = models.FloatField(_("failures expected"))
    statistic = models.FloatField(_("CUSUM statistic"))
    threshold = models.FloatField(_("CUSUM threshold h"))
    p_value = models.FloatField(_("tail probability"))
    test = models.CharField(_("test"), max_length=10, choices=AlarmTest.choices)
    store_ids = models.JSONField(_("stores concerned"), default=list, blank=True)
    vehicle_count = models.PositiveIntegerField(_("vehicles concerned"), default=0)
    batches = models.JSONField(_("supplier batches among the failures"), default=dict, blank=True)  # {"B2403": 7, …}
    series = models.JSONField(
        default=list, blank=True
    )  # [{"month": "2025-03", "observed": n, "expected": mu0, "s": S}, …]
    status = models.CharField(_("status"), max_length=15, choices=AlarmStatus.choices, default=AlarmStatus.NEW)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("batch-defect alarm")
        ordering = ("-first_alarm_month", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["group", "part_family", "build_month", "supplier_batch", "first_alarm_month"],
                name="quality_alarm_one_per_episode",
            ),
            models.UniqueConstraint(
                fields=["group", "part_family", "build_month", "supplier_batch"],
                condition=Q(status__in=OPEN_ALARM_STATUSES),
                name="quality_alarm_one_open_per_series",
            ),
            models.CheckConstraint(condition=Q(status__in=AlarmStatus.values), name="quality_alarm_status_valid"),
            models.CheckConstraint(condition=Q(test__in=AlarmTest.values), name="quality_alarm_test_valid"),
            models.CheckConstraint(
                condition=~Q(status=AlarmStatus.DISMISSED) | ~Q(reason=""), name="quality_alarm_dismissed_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(last_alarm_month__gte=models.F("first_alarm_month")), name="quality_alarm_months_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.part_family.code} {self.build_month:%Y-%m} {self.supplier_batch}".strip()


class QualityAlarmEvent(models.Model):
    """One step of an alarm's workflow (the visible history; the audit trail has it too)."""

    alarm = models.ForeignKey(QualityAlarm, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    from_status = models.CharField(max_length=15, choices=AlarmStatus.choices, blank=True)
    to_status = models.CharField(max_length=15, choices=AlarmStatus.choices)
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"{self.alarm_id}: {self.from_status} → {self.to_status}"


from .evaluation_models import (  # noqa: E402, F401  (dealer evaluation: forms, visits, corrective actions)
    CorrectiveAction,
    EvaluationForm,
    EvaluationItem,
    StoreVisit,
    VisitPhoto,
    VisitScore,
)
from .shipment_models import PartsShipmentMonth  # noqa: E402, F401  (the scorecard's parts-shipment months)
