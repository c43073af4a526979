"""Reports' rows (docs/reports.md)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import StoreOwnedModel

from .choices import ActionSource, ActionStatus


class RectificationAction(StoreOwnedModel):
    """One rectification action of the action register: what is to be fixed, where it came from, who owns it by
    when, and whether the fix was verified (services: reports/services/actions.py)."""

    title = models.CharField(_("action"), max_length=200)
    source = models.CharField(_("source"), max_length=30, choices=ActionSource.choices)
    source_detail = models.CharField(
        _("source detail"),
        max_length=200,
        blank=True,
        help_text=_("e.g. the SSI factor, the complaint category or the meeting's date"),
    )
    description = models.TextField(_("what is to be done"), blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("owner"))
    due_date = models.DateField(_("due date"))
    status = models.CharField(_("status"), max_length=20, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_note = models.TextField(_("what was done"), blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    verification_note = models.TextField(_("verification"), blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name = _("rectification action")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ActionStatus.values), name="reports_action_status_valid"),
            models.CheckConstraint(condition=Q(source__in=ActionSource.values), name="reports_action_source_valid"),
            models.CheckConstraint(
                condition=~Q(status__in=["done", "verified"]) | Q(done_at__isnull=False),
                name="reports_action_done_has_time",
            ),
            models.UniqueConstraint(fields=["store", "id"], name="reports_action_store_id"),
        ]
        indexes = [
            models.Index(fields=["store", "status", "due_date"], name="reports_action_open_idx"),
            models.Index(fields=["owner", "status"], name="reports_action_owner_idx"),
        ]

    def __str__(self) -> str:
        return self.title
# ---- ssi: SSI / CSI against region and nation (docs/reports.md, "SSI against region and nation") ----------------

SURVEY_KINDS = (("ssi", "SSI"), ("csi", "CSI"))
SCORE_MAX = 1000


class SsiBenchmark(StoreOwnedModel):
    """One line of the carmaker's monthly result for a store: the store's score as the carmaker computed it, the
    average of the store's region (大区) and of the nation, the store's ranks and how many stores were ranked —
    for the survey overall (`factor` "") or for one factor (the questionnaire's factor code). Imported from the
    carmaker's file; a re-import of a month updates its rows in place."""

    kind = models.CharField(_("survey"), max_length=3, choices=SURVEY_KINDS)
    month = models.DateField(_("month"), help_text=_("The first day of the month"))
    factor = models.CharField(_("factor"), max_length=30, blank=True, help_text=_("Empty: the overall score"))
    region = models.ForeignKey("org.Region", on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    store_score = models.DecimalField(_("store score (carmaker)"), max_digits=7, decimal_places=2, null=True,
                                      blank=True, validators=[MinValueValidator(0), MaxValueValidator(SCORE_MAX)])
    region_score = models.DecimalField(_("region average"), max_digits=7, decimal_places=2, null=True, blank=True,
                                       validators=[MinValueValidator(0), MaxValueValidator(SCORE_MAX)])
    nation_score = models.DecimalField(_("national average"), max_digits=7, decimal_places=2, null=True, blank=True,
                                       validators=[MinValueValidator(0), MaxValueValidator(SCORE_MAX)])
    region_rank = models.PositiveIntegerField(_("rank in region"), null=True, blank=True)
    region_stores = models.PositiveIntegerField(_("stores in region"), null=True, blank=True)
    nation_rank = models.PositiveIntegerField(_("national rank"), null=True, blank=True)
    nation_stores = models.PositiveIntegerField(_("stores nationally"), null=True, blank=True)
    responses = models.PositiveIntegerField(_("responses"), null=True, blank=True)

    class Meta:
        verbose_name = _("SSI benchmark")
        ordering = ["store_id", "kind", "month", "factor"]
        constraints = [
            models.UniqueConstraint(fields=["store", "kind", "month", "factor"], name="ssi_benchmark_unique"),
            models.CheckConstraint(condition=Q(kind__in=["ssi", "csi"]), name="ssi_benchmark_kind"),
            models.CheckConstraint(
                condition=Q(region_rank__isnull=True) | Q(region_stores__isnull=True)
                | Q(region_rank__lte=models.F("region_stores")),
                name="ssi_benchmark_region_rank_within",
            ),
            models.CheckConstraint(
                condition=Q(nation_rank__isnull=True) | Q(nation_stores__isnull=True)
                | Q(nation_rank__lte=models.F("nation_stores")),
                name="ssi_benchmark_nation_rank_within",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.month:%Y-%m} {self.factor or '*'}"


class SsiRankTarget(StoreOwnedModel):
    """The store's target rank for a survey: in its region and nationally (e.g. "within the national top 200")."""

    kind = models.CharField(_("survey"), max_length=3, choices=SURVEY_KINDS)
    region_rank = models.PositiveIntegerField(_("target rank in region"), null=True, blank=True,
                                              validators=[MinValueValidator(1)])
    nation_rank = models.PositiveIntegerField(_("target national rank"), null=True, blank=True,
                                              validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("SSI target rank")
        constraints = [models.UniqueConstraint(fields=["store", "kind"], name="ssi_rank_target_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.region_rank}/{self.nation_rank}"


# ---- end ssi ----


# ---- mail: reports by mail (issue 19) ----
from .mail_models import Report, ReportDelivery, ReportKind, YearReportFile, YearReportFormat  # noqa: E402,F401

# ---- end mail ----
