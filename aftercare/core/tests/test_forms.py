"""The one Bootstrap form mixin and the one way a service's ValidationError reaches a form (`core/forms.py`)."""

from django import forms
from django.core.exceptions import ValidationError

from aftercare.core.forms import BootstrapFormMixin, apply_errors


class _Form(BootstrapFormMixin, forms.Form):
    name = forms.CharField(max_length=5)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"class": "w-6rem"}))
    kind = forms.ChoiceField(choices=[("a", "A"), ("b", "B")])
    agreed = forms.BooleanField(required=False)
    tags = forms.MultipleChoiceField(choices=[("x", "X")], required=False, widget=forms.CheckboxSelectMultiple)
    radio = forms.RadioSelect(attrs={"class": "btn-check"})
    score = forms.ChoiceField(choices=[("1", "1")], required=False, widget=radio)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["added"] = forms.DateField(required=False)  # a field the form adds itself, then styles
        self._style()


class _SmallForm(_Form):
    small = True


def _classes(form, name) -> list[str]:
    return form.fields[name].widget.attrs.get("class", "").split()


def test_it_gives_every_widget_its_bootstrap_class():
    form = _Form()
    assert _classes(form, "name") == ["form-control"]
    assert _classes(form, "note") == ["w-6rem", "form-control"]  # the widget's own class is kept
    assert _classes(form, "kind") == ["form-select"]
    assert _classes(form, "agreed") == ["form-check-input"]
    assert _classes(form, "added") == ["form-control"]
    assert _classes(form, "tags") == []  # checkbox and radio lists keep their own markup
    assert _classes(form, "score") == ["btn-check"]


def test_it_gives_the_compact_sizes_to_a_small_form():
    form = _SmallForm()
    assert _classes(form, "name") == ["form-control", "form-control-sm"]
    assert _classes(form, "kind") == ["form-select", "form-select-sm"]
    assert _classes(form, "agreed") == ["form-check-input"]


def test_it_adds_no_class_twice_when_styled_again():
    form = _Form()
    form._style()
    assert _classes(form, "name") == ["form-control"]
    assert _classes(form, "note") == ["w-6rem", "form-control"]


def test_it_marks_invalid_fields_and_only_them():
    form = _Form(data={"name": "too long", "kind": "zzz"})
    assert not form.is_valid()
    assert "is-invalid" in _classes(form, "name")
    assert "is-invalid" in _classes(form, "kind")
    assert "is-invalid" not in _classes(form, "note")
    form.add_error("name", "again")
    assert _classes(form, "name").count("is-invalid") == 1
    assert 'class="form-control is-invalid"' in str(form["name"])


def test_it_cleans_the_submitted_text():
    form = _Form(data={"name": "a\x00b", "kind": "a"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == "ab"


def test_it_puts_a_services_field_errors_on_those_fields():
    form = _Form(data={"name": "ok", "kind": "a"})
    assert form.is_valid()
    apply_errors(form, ValidationError({"name": ["Taken."], "customer": ["Unknown customer."], "kind": "Bad."}),
                 rename={"customer": "note"})
    assert form.errors["name"] == ["Taken."]
    assert form.errors["note"] == ["Unknown customer."]  # renamed to the form's field
    assert form.errors["kind"] == ["Bad."]
    assert "is-invalid" in _classes(form, "name") and "is-invalid" in _classes(form, "note")
    assert form.non_field_errors() == []


def test_it_puts_a_services_error_for_an_unknown_field_on_the_form():
    form = _Form(data={"name": "ok", "kind": "a"})
    form.is_valid()
    apply_errors(form, ValidationError({"vin": ["Wrong check digit."]}))
    assert form.non_field_errors() == ["Wrong check digit."]


def test_it_puts_a_services_error_without_field_names_on_the_form():
    form = _Form(data={"name": "ok", "kind": "a"})
    form.is_valid()
    apply_errors(form, ValidationError("Nothing to change."))
    assert form.non_field_errors() == ["Nothing to change."]
    assert not any("is-invalid" in _classes(form, name) for name in form.fields)


def test_every_form_of_every_app_uses_the_one_mixin():
    from aftercare.complaints import forms as complaint_forms
    from aftercare.customers import forms as customer_forms
    from aftercare.dms import forms as dms_forms
    from aftercare.followups import forms as followup_forms

    found = []
    for module in (complaint_forms, customer_forms, dms_forms, followup_forms):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, forms.BaseForm) and value.__module__ == module.__name__:
                found.append(value)
                assert issubclass(value, BootstrapFormMixin), value
    assert len(found) > 20


def test_it_renders_a_date_picker_value_in_iso_in_chinese():
    """A localized value (2026年12月7日) in `<input type=date>` shows as empty: the picker widgets always use ISO."""
    import datetime as dt

    from django.utils import translation

    from aftercare.core.forms import date_input, month_input

    class _Dates(forms.Form):
        day = forms.DateField(widget=date_input())
        month = forms.DateField(widget=month_input(), input_formats=["%Y-%m"])

    with translation.override("zh-hans"):
        html = str(_Dates(initial={"day": dt.date(2026, 12, 7), "month": dt.date(2026, 12, 1)}))
    assert 'type="date" name="day" value="2026-12-07"' in html
    assert 'type="month" name="month" value="2026-12"' in html


def test_it_leaves_no_date_picker_without_an_iso_format():
    """Every form of every app: a `type=date|month` widget has its format (`core.forms.date_input` / `month_input`)."""
    import importlib
    import inspect
    import pkgutil

    import aftercare

    bad = []
    for mod in pkgutil.walk_packages(aftercare.__path__, "aftercare."):
        if ".tests" in mod.name or ".migrations" in mod.name or not mod.name.rsplit(".", 1)[-1].startswith("forms"):
            continue
        module = importlib.import_module(mod.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, forms.BaseForm) or cls.__module__ != module.__name__:
                continue
            for field_name, field in cls.base_fields.items():
                kind = getattr(field.widget, "input_type", None)
                if kind in ("date", "month") and field.widget.format not in ("%Y-%m-%d", "%Y-%m"):
                    bad.append(f"{mod.name}.{name}.{field_name}")
    assert bad == []
