"""Forms of the care app (each part in its own block)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin

# ---- channels: the delivery log search and the message template form ----
from aftercare.followups.choices import LetterChannel, LetterStatus, MessagePurpose  # noqa: E402
from aftercare.followups.models import MessageTemplate  # noqa: E402

_ANY = [("", _("Any"))]
_CHANNELS = [(c, label) for c, label in LetterChannel.choices if c != LetterChannel.LETTER]


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class MessageLogSearchForm(BootstrapFormMixin, forms.Form):
    small = True
    q = forms.CharField(label=_("Customer name or number"), required=False, max_length=100)
    phone_tail = forms.CharField(label=_("Phone (last digits)"), required=False, max_length=20)
    status = forms.ChoiceField(label=_("Status"), choices=_ANY + LetterStatus.choices, required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=_ANY + _CHANNELS, required=False)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=_ANY + MessagePurpose.choices, required=False)
    since = forms.DateField(label=_("From"), required=False, widget=_date_input())
    until = forms.DateField(label=_("Before"), required=False, widget=_date_input(),
                            help_text=_("Exclusive: the day itself is not included"))
    customer = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def filters(self) -> dict:
        """Selector keyword arguments (invalid input is ignored field by field)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        out = {name: data.get(name) or "" for name in ("q", "phone_tail", "status", "channel", "purpose")}
        out.update(since=data.get("since"), until=data.get("until"), customer_id=data.get("customer"))
        return out

    def audit_detail(self) -> dict:
        f = self.filters()
        return {k: str(v) for k, v in f.items() if v not in (None, "") and k not in ("q", "phone_tail")}


class MessageTemplateForm(BootstrapFormMixin, forms.ModelForm):
    """Parsing only: validation (unknown variables) and saving are `care.services.channels.message_template_save`."""

    store = forms.TypedChoiceField(label=_("Store"), coerce=int, required=False, empty_value=None)

    class Meta:
        model = MessageTemplate
        fields = ["code", "name", "purpose", "channel", "subject_zh", "body_zh", "subject_en", "body_en",
                  "wechat_template_id", "is_active"]
        widgets = {"body_zh": forms.Textarea(attrs={"rows": 4}), "body_en": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = _CHANNELS
        if self.instance.pk:
            del self.fields["store"]
        else:
            self.fields["store"].choices = [("", _("Whole group"))] + [(s.pk, f"{s.code} {s.name}") for s in stores]
        self._style()

    def _post_clean(self):  # the service runs full_clean()
        pass
# ---- end channels ----
