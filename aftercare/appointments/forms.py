import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin

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
