"""Dealer evaluation (issue 20, "Dealer evaluation and scorecard"): the carmaker's evaluation forms, versioned like
the follow-up questionnaires (a form is never edited once active: its next version is drafted), and the visits the
itinerant service staff make to a store with one: a score per item, photos, and findings with corrective actions,
each with an owner in the store and a due date, followed until the evaluator verifies them
(`services/evaluations.py`). A submitted visit's score (points / maximum, in %) is the scorecard's first column."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import CleanTextMixin, StoreOwnedModel

from .choices import ActionStatus, EvaluationFormStatus, VisitStatus


def _bilingual(zh: str, en: str) -> str:
    return zh if (get_language() or "").startswith("zh") or not en else en


class EvaluationForm(CleanTextMixin, models.Model):
    """One version of a dealer evaluation form of the group (code + version)."""

    group = models.ForeignKey("org.DealerGroup", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("code"), max_length=20)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=EvaluationFormStatus.choices, default=EvaluationFormStatus.DRAFT
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("evaluation form")
        ordering = ("code", "-version")
        constraints = [
            models.UniqueConstraint(fields=["group", "code", "version"], name="quality_evalform_version"),
            models.UniqueConstraint(
                fields=["group", "code"], condition=Q(status="active"), name="quality_evalform_one_active"
            ),
            models.CheckConstraint(
                condition=Q(status__in=EvaluationFormStatus.values), name="quality_evalform_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"

    @property
    def name(self) -> str:
        return _bilingual(self.name_zh, self.name_en)


class EvaluationItem(CleanTextMixin, models.Model):
    """One scored item of a form, in its section."""

    form = models.ForeignKey(EvaluationForm, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(_("order"))
    section_zh = models.CharField(_("section (Chinese)"), max_length=100, blank=True)
    section_en = models.CharField(_("section (English)"), max_length=100, blank=True)
    text_zh = models.CharField(_("item (Chinese)"), max_length=300)
    text_en = models.CharField(_("item (English)"), max_length=300, blank=True)
    max_score = models.PositiveSmallIntegerField(_("maximum score"), validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("evaluation item")
        ordering = ("form", "position")
        constraints = [
            models.UniqueConstraint(fields=["form", "position"], name="quality_evalitem_position"),
            models.CheckConstraint(condition=Q(max_score__gte=1), name="quality_evalitem_max_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.text}"

    @property
    def text(self) -> str:
        return _bilingual(self.text_zh, self.text_en)

    @property
    def section(self) -> str:
        return _bilingual(self.section_zh, self.section_en)


class StoreVisit(StoreOwnedModel):
    """A visit of an itinerant service engineer to a store with one evaluation form."""

    form = models.ForeignKey(EvaluationForm, on_delete=models.PROTECT, related_name="visits", verbose_name=_("form"))
    evaluator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    visited_on = models.DateField(_("visit date"))
    status = models.CharField(_("status"), max_length=10, choices=VisitStatus.choices, default=VisitStatus.DRAFT)
    score = models.DecimalField(_("score (%)"), max_digits=4, decimal_places=1, null=True, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("store visit")
        constraints = [
            models.UniqueConstraint(fields=["store", "id"], name="quality_visit_store_id"),
            models.CheckConstraint(condition=Q(status__in=VisitStatus.values), name="quality_visit_status_valid"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(score__isnull=False, submitted_at__isnull=False),
                name="quality_visit_submitted_scored",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=100), name="quality_visit_score_range"
            ),
        ]
        indexes = [models.Index(fields=["store", "status", "visited_on"], name="quality_visit_store_day")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.visited_on:%Y-%m-%d} {self.form}"


class VisitScore(CleanTextMixin, models.Model):
    """The score one item got on one visit."""

    visit = models.ForeignKey(StoreVisit, on_delete=models.CASCADE, related_name="scores")
    item = models.ForeignKey(EvaluationItem, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField(_("score"))
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("item score")
        constraints = [models.UniqueConstraint(fields=["visit", "item"], name="quality_visitscore_once")]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.score}"


class VisitPhoto(CleanTextMixin, models.Model):
    """A photo taken on a visit, of one item or of the visit."""

    visit = models.ForeignKey(StoreVisit, on_delete=models.CASCADE, related_name="photos")
    item = models.ForeignKey(EvaluationItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    image = models.FileField(_("photo"), upload_to="quality/visits/%Y/%m/")
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("visit photo")

    def __str__(self) -> str:
        return self.caption or self.image.name


class CorrectiveAction(StoreOwnedModel):
    """A finding of a visit and the action the store must take: owner, due date, done, verified."""

    visit = models.ForeignKey(StoreVisit, on_delete=models.PROTECT, related_name="actions")
    item = models.ForeignKey(EvaluationItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    finding = models.TextField(_("finding"))
    action = models.TextField(_("corrective action"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner")
    )
    due_on = models.DateField(_("due date"))
    status = models.CharField(_("status"), max_length=10, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_note = models.TextField(_("what was done"), blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verify_note = models.TextField(_("verification note"), blank=True)

    class Meta:
        verbose_name = _("corrective action")
        constraints = [
            models.UniqueConstraint(fields=["store", "id"], name="quality_action_store_id"),
            models.CheckConstraint(condition=Q(status__in=ActionStatus.values), name="quality_action_status_valid"),
            models.CheckConstraint(
                condition=Q(status="open") | Q(done_at__isnull=False), name="quality_action_done_dated"
            ),
            models.CheckConstraint(
                condition=~Q(status="verified") | Q(verified_at__isnull=False), name="quality_action_verified_dated"
            ),
        ]
        indexes = [models.Index(fields=["store", "status", "due_on"], name="quality_action_store_due")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.due_on:%Y-%m-%d} {self.get_status_display()}"

    def is_overdue(self, today) -> bool:
        """Open past its due date (the start card's and the list's "overdue": `selectors_evaluations`)."""
        return self.status == ActionStatus.OPEN and self.due_on < today
