"""Forms of the parts-quality pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin, PhotoField, date_input, month_input
from aftercare.dms.forms import FileUploadForm

from .choices import AlarmStatus, ReportSource, ReportStatus
from .models import PartFamily, SymptomCode

_ANY = [("", _("any"))]
MONTH_WIDGET = month_input()


def _month_field(label, required=False):
    return forms.DateField(label=label, required=required, input_formats=["%Y-%m", "%Y-%m-%d"], widget=MONTH_WIDGET)


def _check_year(value):
    if value is not None and not 1990 <= value.year <= 2999:
        raise forms.ValidationError(_("Give a date between 1990 and 2999."))
    return value


class ReportFilterForm(BootstrapFormMixin, forms.Form):
    small = True
    family = forms.ModelChoiceField(
        label=_("Part family"), required=False, queryset=PartFamily.objects.all(), empty_label=_("any")
    )
    build_month = _month_field(_("Build month"))
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_ANY + ReportStatus.choices)
    source = forms.ChoiceField(label=_("Source"), required=False, choices=_ANY + ReportSource.choices)
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["family"].label_from_instance = str
        if len(stores) > 1:
            self.fields["store"].choices = _ANY + [(s.pk, f"{s.code} {s.name}") for s in stores]
            self._stores = {s.pk: s for s in stores}
        else:
            del self.fields["store"]
            self._stores = {}
        self._style()

    def clean_build_month(self):
        return _check_year(self.cleaned_data.get("build_month"))

    def filters(self) -> dict:
        """Keyword arguments for `selectors.quality_report_narrow` (a bad field shows its error and is left out)."""
        self.is_valid()
        d = self.cleaned_data
        month = d.get("build_month")
        return {
            "family": d.get("family"),
            "build_month": month.replace(day=1) if month else None,
            "store": self._stores.get(d.get("store")),
            "status": d.get("status") or "",
            "source": d.get("source") or "",
        }


class ReportForm(BootstrapFormMixin, forms.Form):
    """Record or complete a report; the service validates the rest (VIN in the store's file, dates, symptom)."""

    store = forms.TypedChoiceField(label=_("Store"), coerce=int)
    source = forms.ChoiceField(
        label=_("Source"),
        choices=[(v, label) for v, label in ReportSource.choices if v != ReportSource.COMPLAINT],
        initial=ReportSource.ENTERED,
    )
    vin = forms.CharField(label=_("VIN"), max_length=17, required=False)
    part_family = forms.ModelChoiceField(
        label=_("Part family"), queryset=PartFamily.objects.filter(active=True), required=False
    )
    part_number = forms.CharField(label=_("Part number"), max_length=50, required=False)
    supplier_batch = forms.CharField(label=_("Supplier batch"), max_length=50, required=False)
    build_month = _month_field(_("Build month"))
    failure_date = forms.DateField(
        label=_("Failure date"), required=False, widget=date_input()
    )
    mileage_km = forms.IntegerField(
        label=_("Mileage at failure (km)"), required=False, min_value=0, max_value=2_000_000
    )
    symptom = forms.ModelChoiceField(
        label=_("Symptom code"),
        required=False,
        queryset=SymptomCode.objects.filter(active=True).select_related("family"),
    )
    symptom_text = forms.CharField(
        label=_("Symptom"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, stores=(), editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [(s.pk, f"{s.code} {s.name}") for s in stores]
        if editing:  # a draft keeps its store and source
            del self.fields["store"]
            del self.fields["source"]
        self.fields["part_family"].label_from_instance = str
        self.fields["symptom"].label_from_instance = str
        self._style()

    def clean_build_month(self):
        return _check_year(self.cleaned_data.get("build_month"))

    def clean_failure_date(self):
        return _check_year(self.cleaned_data.get("failure_date"))

    def values(self) -> dict:
        d = self.cleaned_data
        return {
            name: d.get(name) if d.get(name) is not None else ("" if name in self._TEXT else None)
            for name in (
                "vin",
                "part_family",
                "part_number",
                "supplier_batch",
                "build_month",
                "failure_date",
                "mileage_km",
                "symptom",
                "symptom_text",
            )
        }

    _TEXT = {"vin", "part_number", "supplier_batch", "symptom_text"}


class _CodeFormMixin:
    def clean_code(self):
        return (self.cleaned_data.get("code") or "").strip().upper()


class PartFamilyForm(_CodeFormMixin, BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = PartFamily
        fields = ("code", "name_zh", "name_en", "important", "active", "position")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class SymptomCodeForm(_CodeFormMixin, BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = SymptomCode
        fields = ("code", "name_zh", "name_en", "family", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["family"].label_from_instance = str
        self.fields["family"].empty_label = _("general (every family)")
        self._style()


class AlarmStepForm(BootstrapFormMixin, forms.Form):
    """One step of an alarm's workflow; dismissing needs a reason."""

    to_status = forms.ChoiceField(
        label=_("Next step"), choices=[(s, label) for s, label in AlarmStatus.choices if s != AlarmStatus.NEW]
    )
    note = forms.CharField(
        label=_("Note or reason"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ReportPhotoForm(BootstrapFormMixin, forms.Form):
    """A photo of a report (the page and, for its checks, the API): an image of at most 10 MB and a caption."""

    image = PhotoField(label=_("Photo"))
    caption = forms.CharField(label=_("Caption"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ClaimImportForm(FileUploadForm):
    """The carmaker's warranty-claim file: its rows name their dealer, so no store is chosen."""

    file = forms.FileField(label=_("Warranty-claim file (XLSX or CSV)"))
