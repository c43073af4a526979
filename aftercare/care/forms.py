"""Forms of the care app (Bootstrap classes and cleaned text from `aftercare.core.forms`)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin, date_input, month_input
from aftercare.customers.choices import LossReason
from aftercare.followups.forms import MeasureRowsForm

from .choices import (
    CampaignChannel,
    CampaignPurpose,
    CustomerClass,
    DeclineReason,
    ReminderAction,
    ReminderKind,
    TargetState,
)
from .services.campaigns import SEGMENT_KEYS

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
                            widget=month_input())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ReminderSuccessRowsForm(MeasureRowsForm):
    """The reminders behind a success-rate figure (the measures pages' drill-down): made in the months, one store,
    those that reached the customer or of those the ones that worked."""

    counted = forms.ChoiceField(label=_("Reminders"), choices=[
        ("contacted", _("Reached the customer (denominator)")), ("worked", _("Came or booked (numerator)")),
        ("not_worked", _("Neither came nor booked"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class CampaignMeasureRowsForm(MeasureRowsForm):
    """The targets behind a campaign measure's figure (the measures pages' drill-down): of the campaigns whose event
    starts in the months, one store; targeted (the denominator), reached or came."""

    counted = forms.ChoiceField(label=_("Targets"), choices=[
        ("targeted", _("Targeted (denominator)")), ("reached", _("Reached by a call")),
        ("came", _("Came in the event's window"))])

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ReminderFilterForm(BootstrapFormMixin, forms.Form):
    small = True
    due = forms.ChoiceField(label=_("Due"), required=False, choices=[
        ("", _("All")), ("today", _("Due today")), ("overdue", _("Overdue"))])
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All kinds")), *ReminderKind.choices])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
# ---- end remind ----


# ---- channels: the delivery log search and the message template form ----
from aftercare.followups.choices import MESSAGE_CHANNELS, LetterChannel, LetterStatus, MessagePurpose  # noqa: E402
from aftercare.followups.models import MessageTemplate  # noqa: E402

_ANY = [("", _("Any"))]
_CHANNELS = [(c, label) for c, label in LetterChannel.choices if c != LetterChannel.LETTER]



class MessageLogSearchForm(BootstrapFormMixin, forms.Form):
    small = True
    q = forms.CharField(label=_("Customer name or number"), required=False, max_length=100)
    phone_tail = forms.CharField(label=_("Phone (last digits)"), required=False, max_length=20)
    status = forms.ChoiceField(label=_("Status"), choices=_ANY + LetterStatus.choices, required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=_ANY + _CHANNELS, required=False)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=_ANY + MessagePurpose.choices, required=False)
    since = forms.DateField(label=_("From"), required=False, widget=date_input())
    until = forms.DateField(label=_("Before"), required=False, widget=date_input(),
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


class ChannelSettingsForm(BootstrapFormMixin, forms.Form):
    """A store's sending rules (`services.channels.channel_settings_update` checks the ranges again)."""

    quiet_start = forms.TimeField(label=_("Quiet hours from"), widget=forms.TimeInput(attrs={"type": "time"},
                                                                                      format="%H:%M"))
    quiet_end = forms.TimeField(label=_("Quiet hours until"), widget=forms.TimeInput(attrs={"type": "time"},
                                                                                     format="%H:%M"),
                                help_text=_("Marketing messages due in the quiet hours wait until they end; the "
                                            "same time twice means no quiet hours."))
    marketing_weekly_cap = forms.IntegerField(label=_("Marketing messages per customer a week"), min_value=0,
                                              max_value=21, help_text=_("0: no marketing messages"))
    calls_weekly_cap = forms.IntegerField(label=_("Calls per customer a week"), min_value=1, max_value=14)
    enabled_channels = forms.MultipleChoiceField(
        label=_("Channels the store sends on"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(c, label) for c, label in LetterChannel.choices if c in MESSAGE_CHANNELS],
        help_text=_("A message on a channel turned off is cancelled, service messages too."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


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


# ---- campaigns: the campaign builder with its segment, the call's outcome, the recall import ----

_DATE = {"widget": date_input()}


class SegmentForm(BootstrapFormMixin, forms.Form):
    """The segment's filters (every one optional); `segment()` gives the dict the services take."""

    purpose = forms.ChoiceField(label=_("Purpose"), choices=CampaignPurpose.choices, initial=CampaignPurpose.MARKETING)
    classes = forms.MultipleChoiceField(label=_("Customer class"), choices=CustomerClass.choices, required=False,
                                        widget=forms.CheckboxSelectMultiple)
    model = forms.CharField(label=_("Vehicle model contains"), required=False, max_length=100)
    vehicle_age_min = forms.IntegerField(label=_("Vehicle age from (years)"), required=False, min_value=0,
                                         max_value=50)
    vehicle_age_max = forms.IntegerField(label=_("Vehicle age to (years)"), required=False, min_value=0, max_value=50)
    last_visit_after = forms.DateField(label=_("Last visit on or after"), required=False, **_DATE)
    last_visit_before = forms.DateField(label=_("Last visit before (or never)"), required=False, **_DATE)
    mileage_min = forms.IntegerField(label=_("Mileage from (km)"), required=False, min_value=0, max_value=2_000_000)
    mileage_max = forms.IntegerField(label=_("Mileage to (km)"), required=False, min_value=0, max_value=2_000_000)
    spend_min = forms.DecimalField(label=_("Spend in 12 months at least (¥)"), required=False, min_value=0,
                                   max_digits=12, decimal_places=2)
    churn_risk_min = forms.DecimalField(label=_("Churn risk at least (0–1)"), required=False, min_value=0,
                                        max_value=1, max_digits=4, decimal_places=3)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def segment(self) -> dict:
        return {k: self.cleaned_data.get(k) for k in SEGMENT_KEYS}


class CampaignForm(SegmentForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("What it offers"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    event_start = forms.DateField(label=_("Event starts"), **_DATE)
    event_end = forms.DateField(label=_("Event ends"), **_DATE)
    stores = forms.MultipleChoiceField(label=_("Stores"), widget=forms.CheckboxSelectMultiple)
    channels = forms.MultipleChoiceField(label=_("Channels"), choices=CampaignChannel.choices,
                                         initial=[CampaignChannel.CALL], widget=forms.CheckboxSelectMultiple)
    calls_days_before = forms.IntegerField(label=_("Calls start (days before the event)"), initial=14, min_value=0,
                                           max_value=90)
    second_wave_days = forms.IntegerField(label=_("Other customers called (days after the loyal ones)"), initial=3,
                                          min_value=0, max_value=30)
    sms_text = forms.CharField(label=_("SMS after the call"), required=False, max_length=300)

    field_order = ["name", "description", "event_start", "event_end", "stores", "purpose", "channels",
                   "calls_days_before", "second_wave_days", "sms_text"]

    def __init__(self, *args, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stores"].choices = [(str(s.pk), s.name) for s in stores]
        self.order_fields(self.field_order)
        self._style()

    def clean(self):
        data = super().clean()
        if data.get("event_start") and data.get("event_end") and data["event_end"] < data["event_start"]:
            self.add_error("event_end", _("The event cannot end before it starts."))
        return data

    # the campaign's own fields the builder edits (besides its segment and stores)
    CAMPAIGN_FIELDS = ("name", "description", "purpose", "event_start", "event_end", "channels", "calls_days_before",
                       "second_wave_days", "sms_text")

    def campaign_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.CAMPAIGN_FIELDS} | {"segment": self.segment()}

    @classmethod
    def initial_for(cls, campaign) -> dict:
        """The builder's initial values for a saved campaign: its fields, its segment's set filters, its stores."""
        initial = {name: getattr(campaign, name) for name in cls.CAMPAIGN_FIELDS}
        initial |= {k: v for k, v in (campaign.segment or {}).items() if v not in (None, "", [])}
        initial["stores"] = [str(pk) for pk in campaign.stores.values_list("pk", flat=True)]
        return initial


class CampaignOutcomeForm(BootstrapFormMixin, forms.Form):
    outcome = forms.ChoiceField(label=_("What the call achieved"), widget=forms.RadioSelect, choices=[
        (TargetState.INVITED, _("Accepted the invitation")), (TargetState.DECLINED, _("Declined")),
        (TargetState.REACHED, _("Reached, undecided")),
    ])
    decline_reason = forms.ChoiceField(label=_("Why declined"), required=False,
                                       choices=[("", "—"), *DeclineReason.choices])
    letter_needed = forms.BooleanField(label=_("Send the invitation SMS"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class RecallImportForm(BootstrapFormMixin, forms.Form):
    code = forms.CharField(label=_("Recall code"), max_length=50)
    title = forms.CharField(label=_("Title"), max_length=200)
    started_on = forms.DateField(label=_("Starts on"), **_DATE)
    store = forms.ChoiceField(label=_("Store"))
    file = forms.FileField(label=_("VIN list (XLSX or CSV, a column “VIN”)"))

    def __init__(self, *args, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [(str(s.pk), s.name) for s in stores]
        self._style()
