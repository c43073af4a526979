"""Forms of the customer UI. They parse input only; services validate and write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin, date_input
from aftercare.org.models import PHONE_REVEALS_PER_HOUR_MAX, Store

from .choices import BackgroundCategory, CustomerSource
from .models import Customer, Vehicle

_ANY = [("", _("Any"))]



class CustomerSearchForm(BootstrapFormMixin, forms.Form):
    CONSENT_CHOICES = [
        ("calls_yes", _("Accepts service calls")),
        ("calls_no", _("Refuses service calls")),
        ("marketing_yes", _("Accepts marketing")),
        ("marketing_no", _("Refuses marketing")),
    ]
    YES_NO = [("yes", _("Yes")), ("no", _("No"))]

    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": _("Name, mobile, plate, VIN or customer number"), "type": "search",
                   "autocomplete": "off"}
        ),
    )
    source = forms.ChoiceField(label=_("Source"), required=False, choices=_ANY + CustomerSource.choices)
    background = forms.ChoiceField(label=_("Background"), required=False, choices=_ANY + BackgroundCategory.choices)
    consent = forms.ChoiceField(label=_("Consent"), required=False, choices=_ANY + CONSENT_CHOICES)
    has_vehicle = forms.ChoiceField(label=_("Has a vehicle"), required=False, choices=_ANY + YES_NO)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        out: dict = {"source": data.get("source", ""), "background": data.get("background", "")}
        consent = data.get("consent", "")
        if consent:
            what, answer = consent.split("_")
            key = "consent_service_calls" if what == "calls" else "consent_marketing"
            out[key] = answer == "yes"
        if data.get("has_vehicle"):
            out["has_vehicle"] = data["has_vehicle"] == "yes"
        return out

    def query(self) -> str:
        return self.cleaned_data.get("q", "") if self.is_bound and self.is_valid() else ""


class _ServiceValidatedModelForm(BootstrapFormMixin, forms.ModelForm):
    """A ModelForm for parsing only: model validation and saving are the service's job."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def _post_clean(self):  # the service runs full_clean() on normalised values
        pass


class CustomerForm(_ServiceValidatedModelForm):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())

    class Meta:
        model = Customer
        fields = [
            "name",
            "mobile",
            "mobile2",
            "contact_person",
            "contact_phone",
            "address",
            "region",
            "birthday",
            "background",
            "source",
            "consent_service_calls",
            "consent_marketing",
        ]
        widgets = {"birthday": date_input()}
        help_texts = {"mobile": _("Chinese mobile, e.g. 138 1234 5678")}
        labels = {"name": _("Name")}

    def __init__(self, *args, user_store_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["store"]
        else:
            stores = Store.objects.filter(id__in=user_store_ids).order_by("code")
            self.fields["store"].queryset = stores
            if len(user_store_ids) == 1:
                self.fields["store"].initial = next(iter(user_store_ids))
        self.order_fields(["store"])

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("store", None)
        return data


class VehicleForm(_ServiceValidatedModelForm):
    owner_since = forms.DateField(
        label=_("Owner since"),
        required=False,
        widget=date_input(),
        help_text=_("Defaults to the delivery date, else today."),
    )

    class Meta:
        model = Vehicle
        fields = [
            "vin",
            "plate",
            "brand",
            "model",
            "delivery_date",
            "warranty_end",
            "maintenance_interval_km",
            "maintenance_interval_months",
            "next_maintenance_due",
        ]
        widgets = {"delivery_date": date_input(), "warranty_end": date_input(), "next_maintenance_due": date_input()}

    def service_fields(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k not in {"vin", "owner_since"}}
        return {k: v for k, v in data.items() if v not in (None, "")}


class OwnershipTransferForm(BootstrapFormMixin, forms.Form):
    new_owner = forms.CharField(
        label=_("New owner's customer number"),
        max_length=30,
        help_text=_("The new owner must already have a customer file in one of your stores."),
    )
    on = forms.DateField(label=_("Transfer date"), widget=date_input())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class RevealLimitForm(BootstrapFormMixin, forms.Form):
    """A store's phone-reveal limit (`Store.phone_reveals_per_hour`), on the customer settings page."""

    phone_reveals_per_hour = forms.IntegerField(
        label=_("Phone reveals per user per hour"),
        min_value=1,
        max_value=PHONE_REVEALS_PER_HOUR_MAX,
        help_text=_("How many customers' phone numbers one user may reveal in an hour; beyond that they are refused."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
