"""Forms of dealer evaluation: start a visit, score its items, add a photo, record a corrective action, report it
done, verify it, and draft a new form version (its items one per line)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin, PhotoField, date_input


class VisitStartForm(BootstrapFormMixin, forms.Form):
    store = forms.TypedChoiceField(label=_("Store"), coerce=int)
    visited_on = forms.DateField(label=_("Visit date"), widget=date_input())
    form = forms.TypedChoiceField(label=_("Evaluation form"), coerce=int)

    def __init__(self, *args, stores=(), evaluation_forms=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [(s.pk, f"{s.code} {s.name}") for s in stores]
        self.fields["form"].choices = [(f.pk, f"{f.code} v{f.version} {f.name}") for f in evaluation_forms]
        self._style()


class VisitScoresForm(BootstrapFormMixin, forms.Form):
    """One score (0 … the item's maximum) and one note per item of the visit's form: `score_<item id>`."""

    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                              max_length=5000)

    def __init__(self, *args, items=(), scores=None, **kwargs):
        super().__init__(*args, **kwargs)
        scores = scores or {}
        self.items = list(items)
        for item in self.items:
            given = scores.get(item.pk)
            self.fields[f"score_{item.pk}"] = forms.IntegerField(
                label=f"{item.position}. {item.text}", min_value=0, max_value=item.max_score, required=False,
                initial=given.score if given else None,
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": item.max_score}))
            self.fields[f"note_{item.pk}"] = forms.CharField(
                label=_("Note"), required=False, max_length=500, initial=given.note if given else "")
        self._style()

    def scores(self) -> dict[int, tuple[int, str]]:
        """`{item id: (score, note)}` of the items given a score (`store_visit_scores_set`)."""
        data = self.cleaned_data
        return {item.pk: (data[f"score_{item.pk}"], data.get(f"note_{item.pk}") or "")
                for item in self.items if data.get(f"score_{item.pk}") is not None}

    def rows(self):
        """(item, score field, note field) for the template."""
        return [(item, self[f"score_{item.pk}"], self[f"note_{item.pk}"]) for item in self.items]


class VisitPhotoForm(BootstrapFormMixin, forms.Form):
    image = PhotoField(label=_("Photo"))
    caption = forms.CharField(label=_("Caption"), required=False, max_length=200)
    item = forms.TypedChoiceField(label=_("Item"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", _("The whole visit"))] + [(i.pk, f"{i.position}. {i.text}") for i in items]
        self._style()


class ActionForm(BootstrapFormMixin, forms.Form):
    item = forms.TypedChoiceField(label=_("Item"), coerce=int, required=False, empty_value=None)
    finding = forms.CharField(label=_("Finding"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)
    action = forms.CharField(label=_("Corrective action"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)
    owner = forms.TypedChoiceField(label=_("Owner"), coerce=int)
    due_on = forms.DateField(label=_("Due date"), widget=date_input())

    def __init__(self, *args, items=(), owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", _("The whole visit"))] + [(i.pk, f"{i.position}. {i.text}") for i in items]
        self.fields["owner"].choices = [(u.pk, f"{u.staff.display_name} · {u.staff.get_role_display()}")
                                        for u in owners]
        self._style()


class ActionDoneForm(BootstrapFormMixin, forms.Form):
    note = forms.CharField(label=_("What was done"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ActionVerifyForm(BootstrapFormMixin, forms.Form):
    accepted = forms.TypedChoiceField(
        label=_("Result"), choices=[("yes", _("Verified")), ("no", _("Reopen"))], coerce=lambda v: v == "yes",
        widget=forms.RadioSelect)
    note = forms.CharField(label=_("Verification note"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                           max_length=5000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class EvaluationFormForm(BootstrapFormMixin, forms.Form):
    """A new version of a form: its items one per line, `section | item (Chinese) | item (English) | maximum`."""

    code = forms.CharField(label=_("Code"), max_length=20)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200)
    name_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
    items = forms.CharField(
        label=_("Items"), widget=forms.Textarea(attrs={"rows": 8}), max_length=50_000,
        help_text=_("One item per line: section | item (Chinese) | item (English) | maximum score."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()

    def clean_items(self):
        rows, problems = [], []
        lines = [line for line in self.cleaned_data["items"].splitlines() if line.strip()]
        for number, line in enumerate(lines, start=1):
            parts = [p.strip() for p in line.split("|")]
            if len(parts) != 4:
                problems.append(_("Line %(n)s: give four parts separated by |.") % {"n": number})
                continue
            section, text_zh, text_en, maximum = parts
            if not maximum.isdigit() or int(maximum) < 1:
                problems.append(
                    _("Line %(n)s: the maximum score must be a whole number of at least 1.") % {"n": number})
                continue
            rows.append({"section_zh": section, "section_en": "", "text_zh": text_zh, "text_en": text_en,
                         "max_score": int(maximum)})
        if problems:
            raise ValidationError(problems)
        if not rows:
            raise ValidationError(_("A form needs at least one item."))
        return rows
