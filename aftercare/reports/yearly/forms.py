from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin

YEAR_MIN, YEAR_MAX = 2000, 2100


class YearReportForm(BootstrapFormMixin, forms.Form):
    store = forms.ChoiceField(label=_("Store"))
    year = forms.IntegerField(label=_("Year"), min_value=YEAR_MIN, max_value=YEAR_MAX)

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [(s.code, f"{s.code} {s.name}") for s in stores]
        self._style()
