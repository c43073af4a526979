"""Forms of the org pages: a store's KPI targets for one measure and year (`/kpis/`)."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin, CleanTextFormMixin, month_input

from .kpis import Measure

YEAR_MIN, YEAR_MAX = 2000, 2100


class KpiYearForm(CleanTextFormMixin, forms.Form):
    """Which store and year the page shows."""

    store = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    year = forms.IntegerField(label=_("Year"), required=False, min_value=YEAR_MIN, max_value=YEAR_MAX)


def month_field(month: int) -> str:
    return f"month_{month:02d}"


class KpiTargetRowForm(CleanTextFormMixin, forms.Form):
    """One measure's targets of one store and year: the year's target and one per month (empty = none set: the
    month falls back on its quarter's, the year's or the measure's default). Bounds come from the measure's unit."""

    def __init__(self, *args, measure: Measure, year: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.measure, self.year = measure, year
        low, high = measure.bounds
        opts = {"required": False, "min_value": low, "max_value": high, "max_digits": 12, "decimal_places": 2}
        self.fields["year_value"] = forms.DecimalField(label=_("Year"), **opts)
        for month in range(1, 13):
            label = dt.date(year, month, 1).strftime("%Y-%m")
            self.fields[month_field(month)] = forms.DecimalField(label=label, **opts)

    def targets(self) -> list[tuple[str, dt.date, object]]:
        """[(period kind, period start, value or None)] of the submitted row."""
        data = self.cleaned_data
        rows = [("year", dt.date(self.year, 1, 1), data.get("year_value"))]
        rows += [("month", dt.date(self.year, m, 1), data.get(month_field(m))) for m in range(1, 13)]
        return rows


class MeasuresFilterForm(BootstrapFormMixin, forms.Form):
    """The filter of an app's measures page: the year of its monthly table, a store (one in scope; empty: every
    store in scope, summed) and the month of its breakdowns (`period`). An app may relabel `month`."""

    small = True
    year = forms.IntegerField(label=_("Year"), required=False, min_value=YEAR_MIN, max_value=YEAR_MAX)
    store = forms.IntegerField(label=_("Store"), required=False, min_value=1, max_value=2**63 - 1)
    month = forms.DateField(label=_("Month"), required=False, input_formats=["%Y-%m"],
                            widget=month_input())

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
        """The year shown and the month of the breakdowns (defaults: this year; this month in it, else its last)."""
        data = self.cleaned_data if self.is_bound and not self.errors else {}
        month = data.get("month")
        year = data.get("year") or (month.year if month else today.year)
        if month is None:
            month = today.replace(day=1) if year == today.year else dt.date(year, 12 if year < today.year else 1, 1)
        return year, month.replace(day=1)

    def chosen_store(self) -> int | None:
        """The store asked for, also when another field is invalid (another store's id answers 404 all the same)."""
        return getattr(self, "cleaned_data", {}).get("store") if self.is_bound else None
