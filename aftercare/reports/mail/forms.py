"""Forms of the report archive: the filters, the re-send reason, generate-now."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin, date_input

from ..mail_models import ReportKind

STORE_MANAGER = "manager"


class ArchiveFilterForm(BootstrapFormMixin, forms.Form):
    small = True
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    department = forms.ChoiceField(label=_("Report of"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All")), *ReportKind.choices])

    def __init__(self, *args, stores=(), departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("All stores")), *[(s.pk, str(s)) for s in stores]]
        self.fields["department"].choices = [("", _("All")), (STORE_MANAGER, _("Store manager")),
                                             *[(str(d.pk), f"{d.store.code} {d.name}") for d in departments]]
        self._style()


class ResendForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("Why send it again?"), max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class GenerateForm(BootstrapFormMixin, forms.Form):
    store = forms.TypedChoiceField(label=_("Store"), coerce=int)
    department = forms.ChoiceField(label=_("Report of"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=ReportKind.choices)
    day = forms.DateField(label=_("A day of the period"), widget=date_input())

    def __init__(self, *args, stores=(), departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [(s.pk, str(s)) for s in stores]
        self.fields["department"].choices = [("", _("Store manager")),
                                             *[(str(d.pk), f"{d.store.code} {d.name}") for d in departments]]
        self._style()

    def clean_day(self):
        day = self.cleaned_data["day"]
        if day < dt.date(2000, 1, 1):
            raise forms.ValidationError(_("Choose a later day."))
        return day
