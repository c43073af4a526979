"""Forms for the complaint pages. They parse input only; the services validate and write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin, date_input
from aftercare.followups.forms import MeasureRowsForm
from aftercare.org.choices import Role

from .choices import (
    FeedbackCategory,
    FeedbackKind,
    FeedbackSeverity,
    FeedbackSource,
    FeedbackStatus,
    PauseReason,
)
from .models import ComplaintSettings

_ANY = [("", _("Any"))]
_NONE = [("", "—")]
ESCALATION_ROLES = ("supervisor", "store_manager", "group_admin", "cs_manager")
MAX_TIERS = 5


def _user_label(user) -> str:
    staff = getattr(user, "staff", None)
    name = (staff.display_name if staff else "") or user.get_username()
    if staff is not None and staff.department_id:
        return f"{name} · {staff.department.name}"
    return name


def _department_choices(departments, multi_store: bool) -> list[tuple]:
    return [(d.pk, f"{d.store.code} {d.name}" if multi_store else d.name) for d in departments]


class FeedbackSearchForm(BootstrapFormMixin, forms.Form):
    small = True
    q = forms.CharField(label=_("Customer or text"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=_ANY + FeedbackKind.choices, required=False)
    status = forms.ChoiceField(
        label=_("Stage"), choices=_ANY + [("open", _("Open (not archived)"))] + FeedbackStatus.choices, required=False
    )
    category = forms.ChoiceField(label=_("Category"), choices=_ANY + FeedbackCategory.choices, required=False)
    severity = forms.ChoiceField(label=_("Severity"), choices=_ANY + FeedbackSeverity.choices, required=False)
    department = forms.TypedChoiceField(
        label=_("Department"), choices=_ANY, required=False, coerce=int, empty_value=None
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    escalated = forms.BooleanField(label=_("Escalated only"), required=False)
    customer = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    since = forms.DateField(label=_("From"), required=False, widget=date_input())
    until = forms.DateField(
        label=_("Before"),
        required=False,
        widget=date_input(),
        help_text=_("Exclusive: the day itself is not included"),
    )

    def __init__(self, *args, departments=(), multi_store: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = _ANY + _department_choices(departments, multi_store)
        self._style()

    def value(self, name: str):
        return self.cleaned_data.get(name) if self.is_valid() else None

    def filters(self) -> dict:
        """Keyword arguments for `selectors.feedback_list` (nothing when the form is invalid)."""
        if not self.is_valid():
            return {}
        d = self.cleaned_data
        return {
            "q": d["q"] or "",
            "kind": d["kind"] or "",
            "status": d["status"] or "",
            "category": d["category"] or "",
            "severity": d["severity"] or "",
            "department_id": d["department"],
            "overdue": bool(d["overdue"]),
        }

    def narrow(self) -> dict:
        """Keyword arguments for `selectors.feedback_narrow` (nothing when the form is invalid)."""
        if not self.is_valid():
            return {}
        return {"escalated": bool(self.cleaned_data["escalated"]), "customer_id": self.cleaned_data["customer"]}

    def audit_detail(self) -> dict:
        return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in self.filters().items() if v}


class FeedbackCreateForm(BootstrapFormMixin, forms.Form):
    customer_number = forms.CharField(
        label=_("Customer number"), max_length=30, help_text=_("Type the number or search by name, mobile or plate.")
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=FeedbackKind.choices, initial=FeedbackKind.COMPLAINT)
    source = forms.ChoiceField(
        label=_("Source"),
        choices=[c for c in FeedbackSource.choices if c[0] != FeedbackSource.FOLLOWUP_CALL],
        initial=FeedbackSource.INBOUND_CALL,
    )
    category = forms.ChoiceField(label=_("Category"), choices=_NONE + FeedbackCategory.choices, required=False)
    severity = forms.ChoiceField(label=_("Severity"), choices=FeedbackSeverity.choices, initial=FeedbackSeverity.NORMAL)
    department = forms.TypedChoiceField(
        label=_("Responsible department"),
        choices=_NONE,
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("Empty: the store's department for the category."),
    )
    vehicle = forms.CharField(label=_("Vehicle (plate or VIN)"), max_length=30, required=False)
    person_concerned = forms.CharField(label=_("Person concerned"), max_length=100, required=False)
    text = forms.CharField(label=_("What the customer said"), widget=forms.Textarea(attrs={"rows": 5}), required=False)

    def __init__(self, *args, departments=(), multi_store: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = _NONE + _department_choices(departments, multi_store)
        self._style()


class RouteForm(BootstrapFormMixin, forms.Form):
    department = forms.TypedChoiceField(
        label=_("Department"), choices=_NONE, required=False, coerce=int, empty_value=None
    )
    assignee = forms.TypedChoiceField(
        label=_("Designee"),
        choices=_NONE,
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("Empty: the department's designee."),
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)

    def __init__(self, *args, departments=(), handlers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = _NONE + _department_choices(departments, False)
        self.fields["assignee"].choices = _NONE + [(u.pk, _user_label(u)) for u in handlers]
        self._style()


class NoteForm(BootstrapFormMixin, forms.Form):
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class PauseForm(NoteForm):
    reason = forms.ChoiceField(label=_("Waiting for"), choices=PauseReason.choices)
    field_order = ["reason", "note"]


class HandlingForm(BootstrapFormMixin, forms.Form):
    actions_taken = forms.CharField(label=_("Actions taken"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    root_cause = forms.CharField(label=_("Root cause"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    result = forms.CharField(label=_("Result"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class AttachmentForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(label=_("Handling document"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class VerifyForm(BootstrapFormMixin, forms.Form):
    satisfied = forms.TypedChoiceField(
        label=_("Customer's answer"),
        choices=[("yes", _("Satisfied")), ("no", _("Not satisfied"))],
        coerce=lambda v: v == "yes",
        error_messages={"required": _("Choose satisfied or not satisfied.")},
    )
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    duration_s = forms.IntegerField(label=_("Call duration (s)"), min_value=0, max_value=36000, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


# ---- settings --------------------------------------------------------------------------------------------------


class ComplaintSettingsForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = ComplaintSettings
        fields = ["warn_hours", "reopen_escalation_count", "repeat_repair_window_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def _post_clean(self):  # the service validates the row (it may not exist yet)
        pass


class DesigneeForm(BootstrapFormMixin, forms.Form):
    """One choice per department of the store: who receives its forms."""

    def __init__(self, *args, departments=(), handlers=(), current: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        current = current or {}
        self.departments = list(departments)
        choices = _NONE + [(u.pk, _user_label(u)) for u in handlers]
        for d in self.departments:
            self.fields[f"dept_{d.pk}"] = forms.TypedChoiceField(
                label=d.name, choices=choices, required=False, coerce=int, empty_value=None, initial=current.get(d.pk)
            )
        self._style()

    def changes(self, current: dict) -> list[tuple]:
        """(department, user id or None) for every department whose designee changed."""
        return [
            (d, self.cleaned_data[f"dept_{d.pk}"])
            for d in self.departments
            if self.cleaned_data[f"dept_{d.pk}"] != current.get(d.pk)
        ]


class DeadlineGridForm(BootstrapFormMixin, forms.Form):
    """Working days per kind × severity; empty = the default."""

    def __init__(self, *args, current: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        current = current or {}
        self.grid = []
        for kind, kind_label in FeedbackKind.choices:
            row = []
            for severity, severity_label in FeedbackSeverity.choices:
                name = f"days_{kind}_{severity}"
                self.fields[name] = forms.IntegerField(
                    label=f"{kind_label} / {severity_label}",
                    required=False,
                    min_value=1,
                    max_value=30,
                    initial=current.get((kind, severity)),
                    widget=forms.NumberInput(attrs={"class": "w-6rem"}),  # no style="": the CSP allows no inline style
                )
                row.append(name)
            self.grid.append((kind_label, row))
        self.severities = [label for _v, label in FeedbackSeverity.choices]
        self._style()

    def grid_fields(self):
        return [(label, [self[name] for name in names]) for label, names in self.grid]

    def changes(self, current: dict) -> list[tuple]:
        out = []
        for kind in FeedbackKind.values:
            for severity in FeedbackSeverity.values:
                value = self.cleaned_data[f"days_{kind}_{severity}"]
                if value != current.get((kind, severity)):
                    out.append((kind, severity, value))
        return out


class EscalationTiersForm(BootstrapFormMixin, forms.Form):
    """Up to MAX_TIERS rows (role, working days after the deadline); empty rows end the list."""

    def __init__(self, *args, current=(), **kwargs):
        super().__init__(*args, **kwargs)
        current = list(current)
        role_choices = _NONE + [(r, label) for r, label in Role.choices if r in ESCALATION_ROLES]
        self.rows = []
        for i in range(1, MAX_TIERS + 1):
            existing = current[i - 1] if i <= len(current) else None
            self.fields[f"role_{i}"] = forms.ChoiceField(
                label=_("Tier %(n)s") % {"n": i},
                choices=role_choices,
                required=False,
                initial=existing[1] if existing else "",
            )
            self.fields[f"days_{i}"] = forms.IntegerField(
                label=_("Working days after the deadline"),
                required=False,
                min_value=0,
                max_value=30,
                initial=existing[2] if existing else None,
            )
            self.rows.append((i, f"role_{i}", f"days_{i}"))
        self._style()

    def row_fields(self):
        return [(i, self[r], self[d]) for i, r, d in self.rows]

    def tiers(self) -> list[tuple[int, str, int]]:
        filled = [(self.cleaned_data[r], self.cleaned_data[d] or 0) for _i, r, d in self.rows if self.cleaned_data[r]]
        return [(level, role, days) for level, (role, days) in enumerate(filled, start=1)]


class FirstTimeFixRowsForm(MeasureRowsForm):
    """The repair orders behind a first-time-fix figure (the measures pages' drill-down): its denominator, its
    numerator, or the orders a repeat repair followed; one store and the months."""

    counted = forms.ChoiceField(
        label=_("Repair orders"),
        choices=[("denominator", _("Counted (denominator)")), ("numerator", _("Not repeated (numerator)")),
                 ("repeated", _("Followed by a repeat repair"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ComplaintMeasureRowsForm(MeasureRowsForm):
    """The forms behind a complaint measure's figure (the measures pages' drill-down): which measure, its numerator
    or its denominator, one store and the months."""

    measure = forms.ChoiceField(
        label=_("Measure"),
        choices=[
            ("timeliness", _("Complaint timeliness")),
            ("verification", _("Verification call rate")),
            ("supervisor", _("Handled by supervisor level")),
            ("first_call", _("First-call dissatisfied handled")),
        ],
    )
    counted = forms.ChoiceField(
        label=_("Forms"), choices=[("denominator", _("Counted (denominator)")), ("numerator", _("Numerator"))]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
