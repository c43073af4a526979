"""Forms of the reports pages."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin, date_input, month_input
from aftercare.org.kpis import Level, Period

from .choices import ActionSource, ActionStatus


def _owner_label(user) -> str:
    return getattr(getattr(user, "staff", None), "display_name", "") or user.get_username()


class ActionForm(BootstrapFormMixin, forms.Form):
    title = forms.CharField(label=_("Action"), max_length=200)
    source = forms.ChoiceField(label=_("Source"), choices=ActionSource.choices)
    source_detail = forms.CharField(label=_("Source detail"), max_length=200, required=False,
                                    help_text=_("e.g. the SSI factor, the complaint category or the meeting's date"))
    description = forms.CharField(label=_("What is to be done"), widget=forms.Textarea(attrs={"rows": 3}),
                                  required=False)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None)
    due_date = forms.DateField(label=_("Due date"), widget=date_input())

    def __init__(self, *args, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
        self.fields["owner"].label_from_instance = _owner_label
        self._style()


class ActionNoteForm(BootstrapFormMixin, forms.Form):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ActionFilterForm(BootstrapFormMixin, forms.Form):
    small = True
    status = forms.ChoiceField(
        label=_("Status"), required=False,
        choices=[("active", _("open or awaiting verification")), ("", _("all")), *ActionStatus.choices],
    )
    mine = forms.BooleanField(label=_("Mine only"), required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)


# ---- measures ----


class MeasuresForm(BootstrapFormMixin, forms.Form):
    """The measures pages' picker: level (store, region, group), the store or region, the period kind and a month of
    the period (default: the running one)."""

    small = True
    level = forms.ChoiceField(
        label=_("Level"), required=False,
        choices=[(Level.STORE, Level.STORE.label), (Level.REGION, Level.REGION.label),
                 (Level.GROUP, Level.GROUP.label)],
    )
    store = forms.IntegerField(label=_("Store"), required=False, min_value=1, max_value=2**63 - 1)
    region = forms.IntegerField(label=_("Region"), required=False, min_value=1, max_value=2**63 - 1)
    period = forms.ChoiceField(
        label=_("Period"), required=False,
        choices=[(Period.MONTH, Period.MONTH.label), (Period.QUARTER, Period.QUARTER.label),
                 (Period.YEAR, Period.YEAR.label)],
    )
    start = forms.DateField(label=_("Month of the period"), required=False, input_formats=["%Y-%m", "%Y-%m-%d"],
                            widget=month_input())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean_start(self):
        start = self.cleaned_data.get("start")
        if start is not None and not dt.date(2000, 1, 1) <= start < dt.date(2101, 1, 1):
            raise forms.ValidationError(_("Choose a month between 2000 and 2100."))
        return start

    def choice(self) -> dict:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {
            "level": data.get("level") or Level.STORE,
            "store": data.get("store"),
            "region": data.get("region"),
            "period": data.get("period") or Period.MONTH,
            "start": data.get("start"),
        }
