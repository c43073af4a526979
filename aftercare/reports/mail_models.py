"""Reports by mail (issue 19; docs/reports.md, "Reports by mail"): one `Report` per store, department (none: the
store manager's store-wide report), kind and period, with its PDF and XLSX; one `ReportDelivery` per e-mail sent.
The archive also keeps the generated year reports (`YearReportFile`, one per store × year × language × format),
in the same file storage (`reports/<store id>/…`).

Imported by `models.py`; written only by `reports/mail/services.py`."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import StoreOwnedModel


class ReportKind(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")


def report_file_path(instance, filename: str) -> str:
    # no user text in the stored name; downloads go through the scoped view
    import uuid

    return f"reports/{instance.store_id}/{instance.period_start:%Y%m}/{uuid.uuid4().hex}{filename[-5:]}"


class Report(StoreOwnedModel):
    """A department's (or the store manager's) weekly / monthly report. Periods are half-open Shanghai dates
    `[period_start, period_end)`: a weekly report is an ISO week (Monday to Sunday), a monthly one a calendar month.
    `sent_at` is set when the scheduled e-mail is claimed, before it goes out: a report is mailed once a period."""

    department = models.ForeignKey(
        "org.Department", on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        verbose_name=_("department"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ReportKind.choices)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("until (exclusive)"))
    generated_at = models.DateTimeField(_("generated at"), null=True, blank=True)
    pdf = models.FileField(_("PDF"), upload_to=report_file_path, max_length=200, blank=True)
    xlsx = models.FileField(_("XLSX"), upload_to=report_file_path, max_length=200, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    recipients = models.JSONField(_("recipients"), default=list, blank=True)

    class Meta:
        verbose_name = _("mailed report")
        ordering = ["-period_start", "kind", "department_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "department", "kind", "period_start"], name="report_period_unique",
                condition=Q(department__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["store", "kind", "period_start"], name="report_store_period_unique",
                condition=Q(department__isnull=True),
            ),
            models.CheckConstraint(condition=Q(period_end__gt=models.F("period_start")), name="report_period_order"),
        ]
        indexes = [models.Index(fields=["store", "period_start"], name="report_store_period_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.period_start} #{self.pk}"


class ReportDelivery(StoreOwnedModel):
    """One e-mail of a report to one recipient: scheduled, or re-sent by a user with a reason."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    email = models.EmailField(_("e-mail"))
    sent_at = models.DateTimeField(_("sent at"))
    ok = models.BooleanField(_("delivered"), default=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    resent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("reason for sending again"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("report delivery")
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        return f"{self.report_id} → {self.email}"


class YearReportFormat(models.TextChoices):
    PDF = "pdf", _("PDF")
    XLSX = "xlsx", _("XLSX")


def year_report_file_path(instance, filename: str) -> str:
    # the mailed reports' storage: no user text in the stored name; downloads go through the scoped view
    import uuid

    return f"reports/{instance.store_id}/year{instance.year}/{uuid.uuid4().hex}.{instance.fmt}"


class YearReportFile(StoreOwnedModel):
    """A generated year report of a store (docs/reports.md, "Year report"), archived per year, language and format
    with the time it was built; written only by `reports/yearly/services.py`."""

    year = models.PositiveSmallIntegerField(_("year"))
    language = models.CharField(_("language"), max_length=10)
    fmt = models.CharField(_("format"), max_length=4, choices=YearReportFormat.choices)
    file = models.FileField(_("file"), upload_to=year_report_file_path, max_length=200)
    filename = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    built_at = models.DateTimeField(_("built at"))
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("built by"),
    )

    class Meta:
        verbose_name = _("archived year report")
        ordering = ["-year", "store_id", "language", "fmt"]
        constraints = [
            models.UniqueConstraint(fields=["store", "year", "language", "fmt"], name="year_report_file_unique"),
            models.CheckConstraint(condition=Q(fmt__in=YearReportFormat.values), name="year_report_file_fmt_valid"),
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="year_report_file_year_range"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.year} {self.language} {self.fmt}"
