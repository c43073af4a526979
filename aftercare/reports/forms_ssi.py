"""Forms of the SSI pages (docs/reports.md, "SSI against region and nation")."""

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin
from aftercare.dms.forms import StoreFileUploadForm

from .models import SURVEY_KINDS


class SsiImportForm(StoreFileUploadForm):
    """The carmaker's monthly file for one of the user's stores."""

    kind = forms.ChoiceField(label=_("Survey (for rows without a survey column)"), choices=SURVEY_KINDS)
    file = forms.FileField(label=_("Carmaker's file (XLSX or CSV)"))


class SsiTargetForm(BootstrapFormMixin, forms.Form):
    region_rank = forms.IntegerField(label=_("Target rank in region"), min_value=1, max_value=100000, required=False)
    nation_rank = forms.IntegerField(label=_("Target national rank"), min_value=1, max_value=100000, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
