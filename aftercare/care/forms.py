"""Forms of the care pages (each part in its own block)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin

from .choices import ReminderAction, ReminderKind  # remind


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
