"""Forms for follow-up screens. They parse input only; services validate and write.

The questionnaire form is built from the task's template: one field `q_<question id>` per question.
"""

import datetime as dt

from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin, CleanTextFormMixin, date_input, month_input
from aftercare.customers.choices import RepairKind
from aftercare.org.calendar import month_add
from aftercare.org.choices import Role

from .choices import (
    SCALE_MAX,
    CallDirection,
    CallOutcome,
    CallPurpose,
    FollowupKind,
    LetterChannel,
    LetterKind,
    LetterStatus,
    QuestionnaireKind,
    QuestionType,
)
from .models import FollowupRule, StoreFollowupSettings
from .registry import feedback_options

_ANY = [("", _("Any"))]
_DATETIME_LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]



def _datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


# ---- rules and settings ----------------------------------------------------------------------------------------


class FollowupRuleForm(BootstrapFormMixin, forms.ModelForm):
    allowed_roles = forms.MultipleChoiceField(
        label=_("Who may call"), choices=Role.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    excluded_repair_kinds = forms.MultipleChoiceField(
        label=_("Repair-order kinds that need no call"),
        choices=RepairKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = FollowupRule
        fields = [
            "name",
            "delay_hours",
            "deadline_amount",
            "deadline_unit",
            "template",
            "allowed_roles",
            "excluded_repair_kinds",
            "is_active",
        ]

    def __init__(self, *args, templates=None, **kwargs):
        super().__init__(*args, **kwargs)
        if templates is not None:
            self.fields["template"].queryset = templates
        self._style()

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class StoreFollowupSettingsForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = StoreFollowupSettings
        fields = ["max_attempts", "repair_deadline_unit", "unreachable_counts_as", "refused_counts_as"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


# ---- queue and manager ---------------------------------------------------------------------------------------


class QueueFilterForm(BootstrapFormMixin, forms.Form):
    small = True
    kind = forms.ChoiceField(label=_("Kind"), choices=_ANY + FollowupKind.choices, required=False)
    specialist = forms.TypedChoiceField(label=_("Specialist"), coerce=int, required=False, empty_value=None)
    due = forms.ChoiceField(
        label=_("Deadline"),
        choices=_ANY + [("today", _("Due today")), ("overdue", _("Overdue"))],
        required=False,
    )
    unclaimed = forms.BooleanField(label=_("Unclaimed only"), required=False)

    def __init__(self, *args, specialists=None, **kwargs):
        super().__init__(*args, **kwargs)
        if specialists is None:
            del self.fields["specialist"]
        else:
            self.fields["specialist"].choices = _ANY + [(u.pk, _display(u)) for u in specialists]
        self._style()

    def value(self, name):
        return self.cleaned_data.get(name) if self.is_valid() else None


class RateFilterForm(BootstrapFormMixin, forms.Form):
    small = True
    month = forms.DateField(
        label=_("Month"), required=False, input_formats=["%Y-%m"], widget=month_input()
    )
    by = forms.ChoiceField(
        label=_("Per"),
        required=False,
        choices=[("store", _("Store")), ("kind", _("Kind")), ("specialist", _("Specialist"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class MeasureRowsForm(BootstrapFormMixin, forms.Form):
    """The rows behind a follow-up measure's figure (the measures pages' drill-down): the months from `month` up to
    `until` (not included; one month without it), one store, and which rows: the tasks a return-visit rate counts
    (due / closed in time) or the answer sheets of the satisfaction rate and the SSI / CSI scores."""

    small = True
    month = forms.DateField(label=_("Month"), input_formats=["%Y-%m"],
                            widget=month_input())
    until = forms.DateField(label=_("Up to month (not included)"), required=False, input_formats=["%Y-%m"],
                            widget=month_input())
    store = forms.IntegerField(label=_("Store"), required=False, min_value=1, max_value=2**63 - 1,
                               widget=forms.HiddenInput)

    def _clean_year(self, name: str):
        value = self.cleaned_data.get(name)
        if value is not None and not 1900 <= value.year <= 2999:
            raise forms.ValidationError(_("Give a month between 1900 and 2999."))
        return value

    def clean_month(self):
        return self._clean_year("month")

    def clean_until(self):
        return self._clean_year("until")

    def clean(self):
        data = super().clean()
        month, until = data.get("month"), data.get("until")
        if month and until and until <= month:
            self.add_error("until", _("Give a month after the first month."))
        return data

    def period(self) -> tuple[dt.date, dt.date]:
        """The Shanghai days `[since, until)` of the valid form."""
        first = self.cleaned_data["month"].replace(day=1)
        until = self.cleaned_data.get("until")
        return first, until.replace(day=1) if until else month_add(first, 1)


class ReturnVisitRowsForm(MeasureRowsForm):
    counted = forms.ChoiceField(
        label=_("Tasks"), choices=[("due", _("Due (denominator)")), ("in_time", _("Closed in time (numerator)"))]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class HandoverRowsForm(MeasureRowsForm):
    counted = forms.ChoiceField(
        label=_("Deliveries"),
        choices=[("delivered", _("Delivered (denominator)")), ("errors", _("With a data error (numerator)"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class SurveyRowsForm(MeasureRowsForm):
    counted = forms.ChoiceField(
        label=_("Answer sheets"),
        choices=[("answered", _("Answered (denominator)")), ("satisfied", _("Not dissatisfied (numerator)"))],
        required=False,
    )
    kind = forms.ChoiceField(label=_("Score of"), required=False,
                             choices=_ANY + [(QuestionnaireKind.SSI, "SSI"), (QuestionnaireKind.CSI, "CSI")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class AssignForm(BootstrapFormMixin, forms.Form):
    small = True
    to_user = forms.TypedChoiceField(label=_("Hand to"), coerce=int)

    def __init__(self, *args, specialists=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].choices = [(u.pk, _display(u)) for u in specialists]
        self._style()


def _display(user) -> str:
    staff = getattr(user, "staff", None)
    return (staff.display_name if staff else "") or user.get_username()


# ---- the call screen -----------------------------------------------------------------------------------------


class FeedbackFieldsMixin(CleanTextFormMixin):
    """The 'feedback said on the call' box: kind, category, department, text (all empty = nothing said)."""

    def _add_feedback_fields(self, departments, *, required_kind: bool = False) -> None:
        options = feedback_options()
        kinds = options.kinds() if required_kind else [("", _("None"))] + options.kinds()
        self.fields["feedback_kind"] = forms.ChoiceField(
            label=_("Feedback said on the call"), choices=kinds, required=required_kind
        )
        self.fields["feedback_category"] = forms.ChoiceField(
            label=_("Category"), choices=[("", "—")] + options.categories(), required=False
        )
        self.fields["feedback_department"] = forms.ModelChoiceField(
            label=_("Responsible department"), queryset=departments, required=False, empty_label=_("By category")
        )
        self.fields["feedback_text"] = forms.CharField(
            label=_("What the customer said"),
            required=False,
            max_length=4000,
            widget=forms.Textarea(attrs={"rows": 3}),
        )

    @property
    def feedback_fields(self):
        return [self[n] for n in ("feedback_kind", "feedback_category", "feedback_department", "feedback_text")]

    def _clean_feedback(self, data) -> None:
        if data.get("feedback_kind"):
            if not (data.get("feedback_text") or "").strip():
                self.add_error("feedback_text", _("Write down what the customer said."))

    def feedback(self) -> dict | None:
        """The feedback as service arguments, or None when nothing was said."""
        data = self.cleaned_data
        if not data.get("feedback_kind"):
            return None
        return {
            "kind": data["feedback_kind"],
            "category": data.get("feedback_category") or "",
            "department": data.get("feedback_department"),
            "text": data.get("feedback_text") or "",
        }


class QuestionnaireForm(BootstrapFormMixin, FeedbackFieldsMixin, forms.Form):
    """One field per question of the template; the service checks the answers and reports per question."""

    def __init__(self, *args, template, departments, **kwargs):
        super().__init__(*args, **kwargs)
        english = translation.get_language() == "en"
        self.factors = []
        for factor in template.factors.all():
            names = []
            for q in factor.questions.all():
                name = f"q_{q.pk}"
                label = (q.text_en if english and q.text_en else q.text_zh) or q.code
                self.fields[name] = _question_field(q, label, english)
                names.append(name)
            self.factors.append(((factor.name_en if english and factor.name_en else factor.name_zh), names))
        self.fields["dissatisfied"] = forms.BooleanField(label=_("The customer is dissatisfied"), required=False)
        self.fields["notes"] = forms.CharField(
            label=_("Notes"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
        )
        self._add_feedback_fields(departments)
        self._style()  # the answer buttons (radio) keep their own markup

    def clean(self):
        data = super().clean()
        self._clean_feedback(data)
        return data

    def answers(self) -> dict[str, object]:
        """{question id: raw value} of the answered questions."""
        out = {}
        for name, value in self.cleaned_data.items():
            if name.startswith("q_") and value not in (None, ""):
                out[name[2:]] = value
        return out

    def grouped(self):
        """[(factor name, [bound fields])] for the template."""
        return [(title, [self[name] for name in names]) for title, names in self.factors]


def _question_field(q, label: str, english: bool) -> forms.Field:
    help_text = _("optional") if not q.required else ""
    if q.type in SCALE_MAX:
        top = SCALE_MAX[q.type]
        return forms.ChoiceField(
            label=label,
            required=False,
            choices=[(str(i), str(i)) for i in range(1, top + 1)],
            widget=forms.RadioSelect(attrs={"class": "btn-check"}),
            help_text=help_text,
        )
    if q.type == QuestionType.YES_NO:
        return forms.ChoiceField(
            label=label,
            required=False,
            choices=[("yes", _("Yes")), ("no", _("No"))],
            widget=forms.RadioSelect(attrs={"class": "btn-check"}),
            help_text=help_text,
        )
    if q.type == QuestionType.SINGLE_CHOICE:
        choices = [
            (c["value"], (c.get("label_en") if english and c.get("label_en") else c.get("label_zh")) or c["value"])
            for c in q.choices
        ]
        return forms.ChoiceField(label=label, required=False, choices=[("", "—")] + choices, help_text=help_text)
    return forms.CharField(
        label=label, required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), help_text=help_text
    )


class AttemptForm(BootstrapFormMixin, FeedbackFieldsMixin, forms.Form):
    """An outcome other than a filled questionnaire: no answer, busy, wrong number, refused, call back."""

    outcome = forms.ChoiceField(label=_("Outcome"), choices=CallOutcome.choices)
    call_back_at = forms.DateTimeField(
        label=_("Call back at"), required=False, input_formats=_DATETIME_LOCAL, widget=_datetime_input()
    )
    duration_s = forms.IntegerField(label=_("Duration (s)"), required=False, min_value=0, max_value=86400)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_feedback_fields(departments)
        self._style()

    def clean(self):
        data = super().clean()
        self._clean_feedback(data)
        return data


# ---- call log and letter log ---------------------------------------------------------------------------------


class InboundCallForm(BootstrapFormMixin, FeedbackFieldsMixin, forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=None)
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        choices=[(CallPurpose.CONSULTATION, _("Consultation")), (CallPurpose.COMPLAINT, _("Complaint"))],
    )
    customer_number = forms.CharField(
        label=_("Customer number"), required=False, max_length=30, help_text=_("Leave empty for an unknown caller")
    )
    handler = forms.TypedChoiceField(label=_("Handler"), coerce=int)
    called_at = forms.DateTimeField(label=_("Time"), input_formats=_DATETIME_LOCAL, widget=_datetime_input())
    duration_s = forms.IntegerField(label=_("Duration (s)"), required=False, min_value=0, max_value=86400)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, stores, handlers, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        self.fields["handler"].choices = [(u.pk, _display(u)) for u in handlers]
        self._add_feedback_fields(departments)
        self.fields["feedback_kind"].label = _("Kind of complaint")
        self.fields["feedback_kind"].help_text = _("For a complaint call: recorded as feedback")
        self._style()

    def clean(self):
        data = super().clean()
        if data.get("purpose") == CallPurpose.COMPLAINT:
            if not data.get("customer_number"):
                self.add_error("customer_number", _("Give the customer to record a complaint."))
            if not data.get("feedback_category"):
                self.add_error("feedback_category", _("Choose the category of the complaint."))
            if not data.get("feedback_kind"):
                data["feedback_kind"] = feedback_options().complaint_kind
        else:
            data["feedback_kind"] = ""
        self._clean_feedback({**data, "feedback_text": data.get("feedback_text") or data.get("notes")})
        return data

    def feedback(self) -> dict | None:
        out = super().feedback()
        if out is not None and not out["text"]:
            out["text"] = self.cleaned_data.get("notes") or ""
        return out


class LetterForm(BootstrapFormMixin, forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=None)
    customer_number = forms.CharField(label=_("Customer number"), max_length=30)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(k, label) for k, label in LetterKind.choices if k != LetterKind.UNREACHABLE_NOTICE],
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=LetterChannel.choices, initial=LetterChannel.LETTER)
    handler = forms.TypedChoiceField(label=_("Handler"), coerce=int)
    sent_on = forms.DateField(label=_("Date"), widget=date_input())
    text = forms.CharField(label=_("Text"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, stores, handlers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        self.fields["handler"].choices = [(u.pk, _display(u)) for u in handlers]
        self._style()


class _LogSearchForm(BootstrapFormMixin, forms.Form):
    small = True
    q = forms.CharField(label=_("Customer name, number or phone"), required=False, max_length=100)
    customer = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    since = forms.DateField(label=_("From"), required=False, widget=date_input())
    until = forms.DateField(
        label=_("Before"),
        required=False,
        widget=date_input(),
        help_text=_("Exclusive: the day itself is not included"),
    )
    handler = forms.TypedChoiceField(label=_("Handler"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, handlers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["handler"].choices = _ANY + [(u.pk, _display(u)) for u in handlers]
        self._style()

    def filters(self) -> dict:
        """Selector keyword arguments (invalid input is ignored field by field)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        out = {
            "q": data.get("q") or "",
            "since": data.get("since"),
            "until": data.get("until"),
            "handler_id": data.get("handler"),
        }
        for name in self.extra:
            out[name] = data.get(name) or ""
        return out

    def audit_detail(self) -> dict:
        """The filters as plain strings (for the export's audit event; no personal data values)."""
        f = self.filters()
        return {k: str(v) for k, v in f.items() if v not in (None, "") and k != "q"} | (
            {"q": "given"} if f.get("q") else {}
        )


class CallSearchForm(_LogSearchForm):
    extra = ("outcome", "direction", "purpose")
    outcome = forms.ChoiceField(label=_("Outcome"), choices=_ANY + CallOutcome.choices, required=False)
    direction = forms.ChoiceField(label=_("Direction"), choices=_ANY + CallDirection.choices, required=False)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=_ANY + CallPurpose.choices, required=False)


class LetterSearchForm(_LogSearchForm):
    extra = ("kind", "status")
    kind = forms.ChoiceField(label=_("Kind"), choices=_ANY + LetterKind.choices, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=_ANY + LetterStatus.choices, required=False)
