"""Forms of the dealer scorecard and the parts-shipment import (docs/quality.md)."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin, month_input
from aftercare.dms.forms import FileUploadForm


class ShipmentImportForm(FileUploadForm):
    """The carmaker's parts-shipment file: its rows name their dealer, so no store is chosen."""

    file = forms.FileField(label=_("Parts-shipment file (XLSX or CSV)"))


class ScorecardForm(BootstrapFormMixin, forms.Form):
    month = forms.DateField(label=_("Month"), input_formats=["%Y-%m"], required=False,
                            widget=month_input())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean_month(self) -> dt.date | None:
        month = self.cleaned_data.get("month")
        if month is not None and not dt.date(2000, 1, 1) <= month <= dt.date(2100, 12, 1):
            raise forms.ValidationError(_("Give a month between 2000-01 and 2100-12."))
        return month
