"""Forms for follow-up screens (rules, settings). The questionnaire form is built from the template."""

from django import forms

from .models import FollowupRule, StoreFollowupSettings


class FollowupRuleForm(forms.ModelForm):
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


class StoreFollowupSettingsForm(forms.ModelForm):
    class Meta:
        model = StoreFollowupSettings
        fields = ["max_attempts", "repair_deadline_unit", "unreachable_counts_as", "refused_counts_as"]
