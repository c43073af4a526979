"""Forms of the renewal pages. They parse input only; services validate and write."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin

# ---- measures page (renewals/measures) -------------------------------------------------------------------------

YEAR_MIN, YEAR_MAX = 2000, 2100


class MeasuresFilterForm(BootstrapFormMixin, forms.Form):
    """Year, store (a store in scope; empty: every store in scope) and the month of the breakdowns."""

    small = True
    year = forms.IntegerField(label=_("Year"), required=False, min_value=YEAR_MIN, max_value=YEAR_MAX)
    store = forms.IntegerField(label=_("Store"), required=False, min_value=1, max_value=2**63 - 1)
    month = forms.DateField(label=_("Breakdown month"), required=False, input_formats=["%Y-%m"],
                            widget=forms.DateInput(attrs={"type": "month"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean(self):
        data = super().clean()
        year, month = data.get("year"), data.get("month")
        if year and month and month.year != year:
            self.add_error("month", _("Choose a month of the year shown."))
        return data

    def period(self, today: dt.date) -> tuple[int, dt.date]:
        """The year shown and the breakdown month (defaults: this year; this month in it, else its last month)."""
        data = self.cleaned_data if self.is_bound and not self.errors else {}
        month = data.get("month")
        year = data.get("year") or (month.year if month else today.year)
        if month is None:
            month = today.replace(day=1) if year == today.year else dt.date(year, 12 if year < today.year else 1, 1)
        return year, month.replace(day=1)


class PoliciesSoldFilterForm(BootstrapFormMixin, forms.Form):
    """The policies behind a figure of the monthly table: month, kind, store and insurer."""

    small = True
    month = forms.DateField(label=_("Month"), input_formats=["%Y-%m"], widget=forms.DateInput(attrs={"type": "month"}))
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    store = forms.IntegerField(label=_("Store"), required=False, min_value=1, max_value=2**63 - 1,
                               widget=forms.HiddenInput)
    insurer = forms.CharField(label=_("Insurer"), required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        from aftercare.customers.choices import PolicyKind

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All kinds")), *PolicyKind.choices]
        self._style()
