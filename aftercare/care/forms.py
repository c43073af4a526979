"""Forms of the care app (Bootstrap classes and cleaned text from `aftercare.core.forms`)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin
from aftercare.customers.choices import LossReason

from .choices import ReminderAction, ReminderKind  # remind

# ---- classes: class settings, churn reason, month filter ----


class ClassSettingsForm(BootstrapFormMixin, forms.Form):
    lost_after_months = forms.IntegerField(label=_("Lost after (months without a counted visit)"), min_value=3,
                                           max_value=24)
    once_a_year_max_visits = forms.IntegerField(label=_("Lost with at most this many visits in 12 months"),
                                                min_value=0, max_value=3,
                                                help_text=_("For customers known for 12 months or more; 0 turns the "
                                                            "rule off"))
    lost_when_only_inspections = forms.BooleanField(label=_("Lost when only inspections"), required=False)
    reminded_min = forms.IntegerField(label=_("Lost after this many care reminders without a visit"), min_value=0,
                                      max_value=20, help_text=_("0 turns the rule off"))
    loyal_min_visits = forms.IntegerField(label=_("Loyal from this many visits in 12 months"), min_value=2,
                                          max_value=12)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ChurnReasonForm(BootstrapFormMixin, forms.Form):
    reason = forms.ChoiceField(label=_("Why the customer left"), choices=[("", "—"), *LossReason.choices])
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ClassMonthForm(BootstrapFormMixin, forms.Form):
    small = True
    month = forms.DateField(label=_("Month"), required=False, input_formats=["%Y-%m"],
                            widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


# ---- end classes ----


# ---- remind: a reminder rule, the reminder list's filters (issue 18, "Reminders") ----
class ReminderRuleForm(BootstrapFormMixin, forms.Form):
    is_active = forms.BooleanField(label=_("Active"), required=False)
    lead_days = forms.IntegerField(label=_("Lead days"), min_value=0, max_value=90)
    action = forms.ChoiceField(label=_("Action"), choices=ReminderAction.choices)
    came_days = forms.IntegerField(label=_("Came window (days)"), min_value=1, max_value=365)
    months = forms.IntegerField(label=_("Interval (months)"), min_value=1, max_value=60, required=False)
    km = forms.IntegerField(label=_("Interval (km)"), min_value=500, max_value=100_000, required=False)


class ReminderFilterForm(BootstrapFormMixin, forms.Form):
    due = forms.ChoiceField(label=_("Due"), required=False, choices=[
        ("", _("All")), ("today", _("Due today")), ("overdue", _("Overdue"))])
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All kinds")), *ReminderKind.choices])
# ---- end remind ----
