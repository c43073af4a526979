"""Parts-shipment accuracy (issue 20, "Dealer evaluation and scorecard"): the carmaker's parts department reports,
per dealer and month, the order lines it shipped and how many of them were shipped right (part, quantity,
destination). Imported from its file (`services/shipments.py`); read by the measure
`quality.parts_shipment_accuracy` and the dealer scorecard (`scorecard.py`)."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from aftercare.core.models import StoreOwnedModel


class PartsShipmentMonth(StoreOwnedModel):
    """One store's parts shipments of one month: lines shipped and lines shipped right."""

    month = models.DateField(_("month"), help_text=_("the first day of the month"))
    lines_shipped = models.PositiveIntegerField(_("lines shipped"))
    lines_right = models.PositiveIntegerField(_("lines shipped right"))
    source_file = models.CharField(_("file"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("parts shipments of a month")
        constraints = [
            models.UniqueConstraint(fields=["store", "month"], name="quality_shipment_store_month"),
            models.UniqueConstraint(fields=["store", "id"], name="quality_shipment_store_id"),
            models.CheckConstraint(condition=Q(lines_right__lte=F("lines_shipped")), name="quality_shipment_right_le"),
            models.CheckConstraint(condition=Q(lines_shipped__gte=1), name="quality_shipment_some_lines"),
        ]

    @property
    def accuracy(self):
        """Lines shipped right / lines shipped in %, to 0.1 (the catalogue's rate)."""
        from aftercare.org.kpis import rate

        return rate(self.lines_right, self.lines_shipped)

    def __str__(self) -> str:
        return f"{self.store_id} {self.month:%Y-%m}: {self.lines_right}/{self.lines_shipped}"
