"""Reports' rows (docs/reports.md)."""

from django.conf import settings
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
