"""Forms of the care app (Bootstrap classes and cleaned text from `aftercare/core/forms.py`)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin

# ---- campaigns: the campaign builder with its segment, the call's outcome, the recall import ----
from .choices import CampaignChannel, CampaignPurpose, CustomerClass, DeclineReason

_DATE = {"widget": forms.DateInput(attrs={"type": "date"})}


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

    SEGMENT_FIELDS = ("classes", "model", "vehicle_age_min", "vehicle_age_max", "last_visit_after",
                      "last_visit_before", "mileage_min", "mileage_max", "spend_min", "churn_risk_min")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def segment(self) -> dict:
        return {k: self.cleaned_data.get(k) for k in self.SEGMENT_FIELDS}


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

    def campaign_fields(self) -> dict:
        d = self.cleaned_data
        return {"name": d["name"], "description": d["description"], "purpose": d["purpose"],
                "event_start": d["event_start"], "event_end": d["event_end"], "segment": self.segment(),
                "channels": d["channels"], "calls_days_before": d["calls_days_before"],
                "second_wave_days": d["second_wave_days"], "sms_text": d["sms_text"]}


class CampaignOutcomeForm(BootstrapFormMixin, forms.Form):
    outcome = forms.ChoiceField(label=_("What the call achieved"), widget=forms.RadioSelect, choices=[
        ("invited", _("Accepted the invitation")), ("declined", _("Declined")), ("reached", _("Reached, undecided")),
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
