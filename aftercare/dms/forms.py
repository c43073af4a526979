from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin
from aftercare.org.models import Store

from .choices import ImportKind

ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx")


class FileUploadForm(BootstrapFormMixin, forms.Form):
    """A CSV or XLSX file within the DMS import's size limit. As is, for a file whose rows name their dealer (the
    carmaker's warranty claims and parts shipments: no store is chosen); a subclass gives `file` its label."""

    file = forms.FileField(label=_("File (CSV or XLSX)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith(ALLOWED_SUFFIXES):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)}
            )
        return upload


class StoreFileUploadForm(FileUploadForm):
    """A file for one of the user's stores (`user_store_ids`; preselected when there is one): the DMS import and the
    apps' own imports (the renewal sheet …) extend it."""

    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    file = forms.FileField(label=_("DMS export (CSV or XLSX)"))
    field_order = ["store", "file"]

    def __init__(self, *args, user_store_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.filter(pk__in=user_store_ids).order_by("code")
        if len(user_store_ids) == 1:
            self.fields["store"].initial = next(iter(user_store_ids))
        self._style()


class ImportUploadForm(StoreFileUploadForm):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none())
    kind = forms.ChoiceField(label=_("What the file contains"), choices=ImportKind.choices)
    file = forms.FileField(label=_("DMS export (CSV or XLSX)"))
    dry_run = forms.BooleanField(
        label=_("Dry run: check and count only, change nothing"), required=False
    )
