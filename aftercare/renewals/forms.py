from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin
from aftercare.org.models import Store

# ---- the follow-up sheet (sheets): import ----------------------------------------------------------------------

SHEET_SUFFIXES = (".xlsx", ".csv", ".txt")


class RenewalSheetImportForm(BootstrapFormMixin, forms.Form):
    """Upload of a store's renewal follow-up sheet (the DMS import's size limit)."""

    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    file = forms.FileField(label=_("Follow-up sheet (XLSX or CSV)"))

    def __init__(self, *args, user_store_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.filter(pk__in=user_store_ids).order_by("code")
        if len(user_store_ids) == 1:
            self.fields["store"].initial = next(iter(user_store_ids))
        self._style()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not (upload.name or "").lower().endswith(SHEET_SUFFIXES):
            raise forms.ValidationError(_("Upload a .xlsx or .csv file."))
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(_("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)})
        return upload
