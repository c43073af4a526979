"""Forms for feedback: the search on the list page, and the box on the call screen."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import FeedbackCategory, FeedbackKind, FeedbackStatus

_ANY = [("", _("Any"))]


class FeedbackSearchForm(forms.Form):
    q = forms.CharField(label=_("Customer or text"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=_ANY + FeedbackKind.choices, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=_ANY + FeedbackStatus.choices, required=False)
    category = forms.ChoiceField(label=_("Category"), choices=_ANY + FeedbackCategory.choices, required=False)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        label=_("Before"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Exclusive: the day itself is not included"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            choice = isinstance(field, forms.ChoiceField)
            css = "form-select form-select-sm" if choice else "form-control form-control-sm"
            field.widget.attrs.setdefault("class", css)

    def value(self, name: str):
        return self.cleaned_data.get(name) if self.is_valid() else None
