import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin

from .choices import BookingState

# ---- measures (ameasure part) ----------------------------------------------------------------------------------


class MeasuresFilterForm(BootstrapFormMixin, forms.Form):
    """Year, store (one in scope; empty: every store in scope) and the month of the bay use and peak load."""

    small = True
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=2100)
    store = forms.IntegerField(label=_("Store"), required=False, min_value=1, max_value=2**63 - 1)
    month = forms.DateField(label=_("Month"), required=False, input_formats=["%Y-%m"],
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
        """The year shown and the month of the grids (defaults: this year; this month in it, else its last)."""
        data = self.cleaned_data if self.is_bound and not self.errors else {}
        month = data.get("month")
        year = data.get("year") or (month.year if month else today.year)
        if month is None:
            month = today.replace(day=1) if year == today.year else dt.date(year, 12 if year < today.year else 1, 1)
        return year, month.replace(day=1)


DRILL_STATES = (("counted", _("Not cancelled")), ("shown", _("Arrived or no-show")), *BookingState.choices)


class MeasuresDrillForm(BootstrapFormMixin, forms.Form):
    """The repair orders or appointments behind a figure: month, store, booked / state, weekday and hour."""

    small = True
    month = forms.DateField(label=_("Month"), input_formats=["%Y-%m"], widget=forms.DateInput(attrs={"type": "month"}))
    store = forms.IntegerField(label=_("Store"), required=False, min_value=1, max_value=2**63 - 1,
                               widget=forms.HiddenInput)
    booked = forms.TypedChoiceField(label=_("Booked"), required=False, coerce=lambda v: v == "1", empty_value=None,
                                    choices=(("", _("All")), ("1", _("Booked")), ("0", _("Not booked"))))
    state = forms.ChoiceField(label=_("State"), required=False, choices=(("", _("All")), *DRILL_STATES))
    weekday = forms.IntegerField(label=_("Weekday"), required=False, min_value=0, max_value=6,
                                 widget=forms.HiddenInput)
    hour = forms.IntegerField(label=_("Hour"), required=False, min_value=0, max_value=23, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
