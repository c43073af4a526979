"""The appointment forms: booking, move, cancel, waitlist and list filters; the measures filters; the capacity
settings, the day board (walk-in, match), the open-bookings import and the roadside rescue."""

import datetime as dt

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin, MonthRangeFormMixin, date_input, month_input
from aftercare.org.calendar import business_tz
from aftercare.org.forms import MeasuresFilterForm as OrgMeasuresFilterForm

from .choices import BayKind, BookingState, RescueOutcome

# ---- booking form, move, cancel, waitlist, list filters (abook) ----

_NONE = [("", "—")]
_DATE = date_input()


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


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

# ---- measures (ameasure part) ----


class MeasuresFilterForm(OrgMeasuresFilterForm):
    """Year, store and the month of the bay use and peak load (`org.forms.MeasuresFilterForm`)."""


DRILL_STATES = (("counted", _("Not cancelled")), ("shown", _("Arrived or no-show")), *BookingState.choices)


class MeasuresDrillForm(MonthRangeFormMixin, BootstrapFormMixin, forms.Form):
    """The repair orders or appointments behind a figure: month, store, booked / state, weekday and hour."""

    small = True
    month = forms.DateField(label=_("Month"), input_formats=["%Y-%m"], widget=month_input())
    store = forms.IntegerField(label=_("Store"), required=False, min_value=1, max_value=2**63 - 1,
                               widget=forms.HiddenInput)
    booked = forms.TypedChoiceField(label=_("Booked"), required=False, coerce=lambda v: v == "1", empty_value=None,
                                    choices=(("", _("All")), ("1", _("Booked")), ("0", _("Not booked"))))
    state = forms.ChoiceField(label=_("State"), required=False, choices=(("", _("All")), *DRILL_STATES))
    weekday = forms.IntegerField(label=_("Weekday"), required=False, min_value=0, max_value=6,
                                 widget=forms.HiddenInput)
    hour = forms.IntegerField(label=_("Hour"), required=False, min_value=0, max_value=23, widget=forms.HiddenInput)
    # a quarter's or a year's figure (the measures pages): the months from `month` up to `until`, not included
    until = forms.DateField(label=_("Up to month (not included)"), required=False, input_formats=["%Y-%m"],
                            widget=month_input())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


# ---- capacity settings, day board, import, rescue ----

WEEKDAYS = [(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")), (4, _("Friday")),
            (5, _("Saturday")), (6, _("Sunday"))]
_DATETIME_LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


def user_label(user) -> str:
    staff = getattr(user, "staff", None)
    return (staff.display_name if staff else "") or user.get_username()


def _time(label, required=False):
    return forms.TimeField(label=label, required=required, widget=forms.TimeInput(attrs={"type": "time"},
                                                                                    format="%H:%M"))


def _when(label, required=False):
    return forms.DateTimeField(label=label, required=required, input_formats=_DATETIME_LOCAL,
                               widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))


class _Styled(BootstrapFormMixin, forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


# ---- capacity settings ----


class CapacitySettingsForm(_Styled):
    slot_minutes = forms.IntegerField(label=_("Slot length (minutes)"), min_value=10, max_value=120)
    walk_in_share = forms.IntegerField(label=_("Bay time held back for walk-ins (%)"), min_value=0, max_value=90)
    no_show_grace_minutes = forms.IntegerField(label=_("No-show after (minutes late)"), min_value=0, max_value=240)
    booking_horizon_days = forms.IntegerField(label=_("Bookable ahead (days)"), min_value=1, max_value=365)


class BayForm(_Styled):
    small = True
    name = forms.CharField(label=_("Bay"), max_length=50)
    kind = forms.ChoiceField(label=_("Kind"), choices=BayKind.choices)


class BayUpdateForm(BayForm):
    is_active = forms.BooleanField(label=_("Active"), required=False)


class ServiceKindForm(_Styled):
    small = True
    code = forms.SlugField(label=_("Code"), max_length=30)
    name = forms.CharField(label=_("Name"), max_length=100)
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=10, max_value=480)
    bay_kinds = forms.MultipleChoiceField(label=_("Bays that take it"), choices=BayKind.choices,
                                          widget=forms.CheckboxSelectMultiple)


class ServiceKindUpdateForm(ServiceKindForm):
    is_active = forms.BooleanField(label=_("Active"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["code"]


class HoursForm(_Styled):
    """One weekday's row of the hours table (prefix `h<weekday>`): both times empty closes the weekday."""

    small = True
    opens_at = _time(_("Opens"))
    closes_at = _time(_("Closes"))
    daily_cap = forms.IntegerField(label=_("Bookings per day"), required=False, min_value=0, max_value=999,
                                   help_text=_("Empty: no cap."))

    def clean(self):
        data = super().clean()
        if (data.get("opens_at") is None) != (data.get("closes_at") is None):
            self.add_error("closes_at", _("Give both opening and closing times, or neither."))
        return data


class KindCapForm(_Styled):
    small = True
    weekday = forms.TypedChoiceField(label=_("Weekday"), choices=WEEKDAYS, coerce=int)
    service_kind = forms.TypedChoiceField(label=_("Service kind"), coerce=int, choices=_NONE, empty_value=None)
    cap = forms.IntegerField(label=_("Bookings per day"), required=False, min_value=0, max_value=999,
                             help_text=_("Empty removes the cap."))

    def __init__(self, *args, kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kinds = {k.pk: k for k in kinds}
        self.fields["service_kind"].choices = _NONE + [(k.pk, k.name) for k in kinds]


class DayOverrideForm(_Styled):
    small = True
    date = forms.DateField(label=_("Date"), widget=date_input())
    closed = forms.BooleanField(label=_("Closed"), required=False)
    opens_at = _time(_("Opens"))
    closes_at = _time(_("Closes"))
    daily_cap = forms.IntegerField(label=_("Bookings per day"), required=False, min_value=0, max_value=999)
    note = forms.CharField(label=_("Note"), required=False, max_length=100)

    def clean_date(self):
        day = self.cleaned_data["date"]
        if not 2000 <= day.year <= 2999:
            raise forms.ValidationError(_("Give a date between 2000 and 2999."))
        return day


# ---- the day board ----


class BoardFilterForm(_Styled):
    small = True
    date = forms.DateField(label=_("Day"), required=False,
                           widget=date_input())
    advisor = forms.TypedChoiceField(label=_("Advisor"), required=False, coerce=int, empty_value=None)
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, advisors=(), stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["advisor"].choices = [("", _("All advisors"))] + [(u.pk, user_label(u)) for u in advisors]
        if len(stores) > 1:
            self.fields["store"].choices = [(s.pk, f"{s.code} {s.name}") for s in stores]
        else:
            del self.fields["store"]

    def clean_date(self):
        day = self.cleaned_data.get("date")
        if day is not None and not 2000 <= day.year <= 2999:
            raise forms.ValidationError(_("Give a date between 2000 and 2999."))
        return day


class WalkInForm(_Styled):
    small = True
    vehicle = forms.CharField(label=_("Plate or VIN"), max_length=20)
    kinds = forms.TypedMultipleChoiceField(label=_("Service"), coerce=int)
    advisor = forms.TypedChoiceField(label=_("Advisor"), required=False, coerce=int, empty_value=None)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=500)

    def __init__(self, *args, kinds=(), advisors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kinds"].choices = [(k.pk, k.name) for k in kinds]
        self.fields["advisor"].choices = _NONE + [(u.pk, user_label(u)) for u in advisors]
        self.advisors = {u.pk: u for u in advisors}


class MatchForm(forms.Form):
    repair_order = forms.IntegerField(label=_("Repair order"), min_value=1)


# ---- the open-bookings import ----


class OpenBookingsImportForm(_Styled):
    store = forms.ModelChoiceField(label=_("Store"), queryset=None, empty_label=None)
    file = forms.FileField(label=_("List (XLSX or CSV)"))

    def __init__(self, *args, user_store_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        from aftercare.org.models import Store

        self.fields["store"].queryset = Store.objects.filter(pk__in=user_store_ids).order_by("code")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(_("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)})
        return upload


# ---- roadside rescue ----


class RescueForm(_Styled):
    vehicle = forms.CharField(label=_("Plate or VIN"), required=False, max_length=20,
                              help_text=_("Empty when the car is not in the store's files."))
    reported_at = _when(_("Reported at"), required=True)
    place = forms.CharField(label=_("Place"), max_length=200)
    what_happened = forms.CharField(label=_("What happened"), max_length=2000,
                                    widget=forms.Textarea(attrs={"rows": 2}))
    dispatched_at = _when(_("Dispatched at"))
    dispatched_user = forms.TypedChoiceField(label=_("Dispatched (staff)"), required=False, coerce=int,
                                             empty_value=None)
    dispatched_to = forms.CharField(label=_("Dispatched (other)"), required=False, max_length=100,
                                    help_text=_("A partner's tow truck, a technician not in the list …"))
    arrived_at = _when(_("Arrived at"))
    outcome = forms.ChoiceField(label=_("Outcome"), required=False, choices=_NONE + RescueOutcome.choices)
    outcome_note = forms.CharField(label=_("Outcome note"), required=False, max_length=200)

    def __init__(self, *args, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = {u.pk: u for u in staff}
        self.fields["dispatched_user"].choices = _NONE + [(u.pk, user_label(u)) for u in staff]
        tz = business_tz()
        for name in ("reported_at", "dispatched_at", "arrived_at"):
            self.fields[name].widget.attrs["max"] = dt.datetime.now(tz).strftime("%Y-%m-%dT%H:%M")

    def clean(self):
        data = super().clean()
        reported, dispatched, arrived = data.get("reported_at"), data.get("dispatched_at"), data.get("arrived_at")
        if dispatched and reported and dispatched < reported:
            self.add_error("dispatched_at", _("Dispatched cannot be before the call was reported."))
        if arrived and not dispatched and "dispatched_at" not in self.errors:
            self.add_error("dispatched_at", _("Give when the rescue was dispatched before when it arrived."))
        elif arrived and dispatched and arrived < dispatched:
            self.add_error("arrived_at", _("Arrived cannot be before the rescue was dispatched."))
        return data
