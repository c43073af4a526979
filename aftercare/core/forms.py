"""Form helpers shared by every app: clean submitted text, Bootstrap classes, a service's errors on the form."""

import mimetypes
import posixpath

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .text import clean_text

MAX_PHOTO_BYTES = 10 * 1024 * 1024


class PhotoField(forms.ImageField):
    """An uploaded photo: a file Pillow reads as an image (Django's `ImageField` check), at most 10 MB. Shared by
    every photo upload (evaluation visits, parts-quality reports), on the pages and, through a form, the API."""

    default_error_messages = {"too_large": gettext_lazy("A photo may be at most 10 MB.")}

    def __init__(self, *, max_bytes: int = MAX_PHOTO_BYTES, **kwargs):
        self.max_bytes = max_bytes
        kwargs.setdefault("label", gettext_lazy("Photo"))
        super().__init__(**kwargs)

    def to_python(self, data):
        # the size first: a file over the limit is refused before Pillow reads it
        if data not in self.empty_values and getattr(data, "size", 0) > self.max_bytes:
            raise ValidationError(self.error_messages["too_large"], code="too_large")
        photo = super().to_python(data)
        # the stored name ends as the image Pillow found (a PNG named x.html is stored, and downloads, as x.png)
        extension = mimetypes.guess_extension(getattr(photo, "content_type", None) or "")
        if photo is not None and extension:
            stem = posixpath.splitext(posixpath.basename(photo.name or ""))[0] or "photo"
            photo.name = stem + extension
        return photo


def date_input() -> forms.DateInput:
    """The browser's date picker; its value always ISO (a localized date such as 2026/12/07 shows as empty)."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def month_input() -> forms.DateInput:
    """The browser's month picker, its value YYYY-MM."""
    return forms.DateInput(attrs={"type": "month"}, format="%Y-%m")


def bound_data(request) -> dict:
    """`data` and `files` for a form on a POST, an empty POST included; nothing on a GET. (`request.POST or None`
    leaves an empty POST unbound, so the page came back with no error named.)"""
    return {"data": request.POST, "files": request.FILES} if request.method == "POST" else {}


class CleanTextFormMixin:
    """A bound form's submitted text passes `clean_text` (no C0 controls but tab and newline; CR LF as LF) before
    any field sees it, so `max_length`, `clean_<field>` and whatever the form's data is stored as get clean text,
    whether or not the write ends in a model's `full_clean`. Files are not touched."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound:
            self.data = clean_form_data(self.data)


def clean_form_data(data):
    """A copy of submitted form data (a QueryDict, MultiValueDict or dict) with every str value cleaned."""
    if isinstance(data, MultiValueDict):  # a QueryDict too: every value of every key
        cleaned = QueryDict(mutable=True, encoding=data.encoding) if isinstance(data, QueryDict) else MultiValueDict()
        for key, values in data.lists():
            cleaned.setlist(key, [clean_text(v) for v in values])
        return cleaned
    return {
        key: [clean_text(v) for v in value] if isinstance(value, list | tuple) else clean_text(value)
        for key, value in data.items()
    }


class BootstrapFormMixin(CleanTextFormMixin):
    """Bootstrap 5 classes on every widget (and the submitted text cleaned, see `CleanTextFormMixin`).

    `_style()` (called at the end of the form's `__init__`, after it added its own fields; calling it again adds
    nothing twice) gives checkboxes `form-check-input`, selects `form-select`, every other input `form-control`;
    radio and checkbox lists keep their own markup. `small = True` adds the `-sm` sizes (the compact search
    forms). A field with an error gets `is-invalid`, however the error came (the field's own validation, the
    form's `clean`, or a service's ValidationError through `apply_errors`).
    """

    small = False

    def _style(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
                continue
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select form-select-sm" if self.small else "form-select"
            else:
                css = "form-control form-control-sm" if self.small else "form-control"
            _add_classes(widget, css)

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                _add_classes(self.fields[name].widget, "is-invalid")


def _add_classes(widget: forms.Widget, css: str) -> None:
    """Append the classes of `css` that the widget's `class` attribute does not have yet."""
    have = widget.attrs.get("class", "").split()
    widget.attrs["class"] = " ".join(have + [c for c in css.split() if c not in have])


def apply_errors(form: forms.BaseForm, exc: ValidationError, rename: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError on the form: each field's messages on that field where the form has it
    (`rename` maps a service's argument name to the form's field name), the rest, and an error without field
    names, on the form (`non_field_errors`)."""
    rename = rename or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.message_dict.items():
        name = rename.get(field, field)
        form.add_error(name if name in form.fields else None, errors)


class MonthRangeFormMixin:
    """A list filter's `month` … `until` (the month after the last, not included, as the measures pages link a
    quarter or a year): `until` must come after `month`."""

    def clean(self):
        data = super().clean()
        month, until = data.get("month"), data.get("until")
        if month and until and until <= month:
            self.add_error("until", _("Give a month after the first month."))
        return data
