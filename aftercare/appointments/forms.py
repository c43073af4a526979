import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin

from .choices import BookingState

# ---- booking form, move, cancel, waitlist, list filters (abook) ------------------------------------------------------

_NONE = [("", "—")]
_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def parse_start(value: str) -> dt.datetime | None:
    """A free start as the form sends it (an ISO instant with its offset), or None when it is not one."""
    try:
        at = dt.datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return at if not timezone.is_naive(at) else None


class StartField(forms.CharField):
    """A free start: the radio buttons of `appointments/_free_starts.html` send its ISO instant."""

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        at = parse_start(value)
        if at is None:
            raise forms.ValidationError(_("Choose one of the free starts."), code="invalid")
        return at


class BookingForm(BootstrapFormMixin, forms.Form):
    vehicle = forms.TypedChoiceField(label=_("Vehicle"), coerce=int)
    kinds = forms.TypedMultipleChoiceField(label=_("Service kinds"), coerce=int,
                                           widget=forms.CheckboxSelectMultiple)
    date = forms.DateField(label=_("Day"), widget=_DATE)
    start_at = StartField(label=_("Start"), required=False, widget=forms.HiddenInput)
    advisor = forms.TypedChoiceField(label=_("Service advisor"), coerce=int, required=False, empty_value=None)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 2}))
    parts_to_prepare = forms.CharField(label=_("Parts to prepare"), required=False, max_length=2000,
                                       widget=forms.Textarea(attrs={"rows": 2}),
                                       help_text=_("The parts department is notified and sees the day's list."))

    def __init__(self, *args, vehicles=(), kinds=(), advisors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vehicle"].choices = [(v.pk, v.plate or v.vin) for v in vehicles]
        self.fields["kinds"].choices = [(k.pk, f"{k.name} ({k.duration_minutes}′)") for k in kinds]
        self.fields["advisor"].choices = _NONE + [(s.user_id, s.display_name or s.user.get_username())
                                                  for s in advisors]
        self._style()

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("start_at") is None and not self.data.get("to_waitlist"):
            self.add_error("start_at", _("Choose one of the free starts."))
        return data


class MoveForm(BootstrapFormMixin, forms.Form):
    start_at = StartField(label=_("New start"))


class CancelForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class DayFilterForm(BootstrapFormMixin, forms.Form):
    small = True
    date = forms.DateField(label=_("Day"), required=False, widget=_DATE)
    state = forms.ChoiceField(label=_("State"), required=False)

    def __init__(self, *args, states=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("All"))] + list(states)
        self._style()

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
