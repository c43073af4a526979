from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin

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
    due_date = forms.DateField(label=_("Due date"), widget=forms.DateInput(attrs={"type": "date"}))

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
