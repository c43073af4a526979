"""Forms of the care app (Bootstrap classes and cleaned text from `aftercare.core.forms`)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin
from aftercare.customers.choices import LossReason

from .choices import ReminderAction, ReminderKind  # remind

# ---- classes: class settings, churn reason, month filter ----


class ClassSettingsForm(BootstrapFormMixin, forms.Form):
    lost_after_months = forms.IntegerField(label=_("Lost after (months without a counted visit)"), min_value=3,
                                           max_value=24)
    once_a_year_max_visits = forms.IntegerField(label=_("Lost with at most this many visits in 12 months"),
                                                min_value=0, max_value=3,
                                                help_text=_("For customers known for 12 months or more; 0 turns the "
                                                            "rule off"))
    lost_when_only_inspections = forms.BooleanField(label=_("Lost when only inspections"), required=False)
    reminded_min = forms.IntegerField(label=_("Lost after this many care reminders without a visit"), min_value=0,
                                      max_value=20, help_text=_("0 turns the rule off"))
    loyal_min_visits = forms.IntegerField(label=_("Loyal from this many visits in 12 months"), min_value=2,
                                          max_value=12)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ChurnReasonForm(BootstrapFormMixin, forms.Form):
    reason = forms.ChoiceField(label=_("Why the customer left"), choices=[("", "—"), *LossReason.choices])
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ClassMonthForm(BootstrapFormMixin, forms.Form):
    small = True
    month = forms.DateField(label=_("Month"), required=False, input_formats=["%Y-%m"],
                            widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


# ---- end classes ----


# ---- remind: a reminder rule, the reminder list's filters (issue 18, "Reminders") ----
class ReminderRuleForm(BootstrapFormMixin, forms.Form):
    is_active = forms.BooleanField(label=_("Active"), required=False)
    lead_days = forms.IntegerField(label=_("Lead days"), min_value=0, max_value=90)
    action = forms.ChoiceField(label=_("Action"), choices=ReminderAction.choices)
    came_days = forms.IntegerField(label=_("Came window (days)"), min_value=1, max_value=365)
    months = forms.IntegerField(label=_("Interval (months)"), min_value=1, max_value=60, required=False)
    km = forms.IntegerField(label=_("Interval (km)"), min_value=500, max_value=100_000, required=False)


class ReminderFilterForm(BootstrapFormMixin, forms.Form):
    due = forms.ChoiceField(label=_("Due"), required=False, choices=[
        ("", _("All")), ("today", _("Due today")), ("overdue", _("Overdue"))])
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All kinds")), *ReminderKind.choices])
# ---- end remind ----


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
