"""Forms of the renewal pages. They parse input only; the services (renewals/services/) validate and write."""


from django import forms
from django.utils.translation import gettext_lazy as _

from aftercare.core.forms import BootstrapFormMixin, MonthRangeFormMixin, month_input
from aftercare.customers.choices import LossReason
from aftercare.dms.forms import StoreFileUploadForm
from aftercare.org.forms import MeasuresFilterForm as OrgMeasuresFilterForm

from .choices import CaseState, ContactChannel, ContactResult, Outcome, Segment
from .selectors import HOLDER_ME, HOLDER_NONE

_ANY = [("", _("Any"))]
_NONE = [("", "—")]
_DATETIME_LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": 0}


def user_label(user) -> str:
    staff = getattr(user, "staff", None)
    return (staff.display_name if staff else "") or user.get_username()


# ---- the list ----------------------------------------------------------------------------------------------------


class CaseFilterForm(BootstrapFormMixin, forms.Form):
    small = True
    due = forms.ChoiceField(
        label=_("Show"), required=False,
        choices=[("all", _("All cases")), ("today", _("To call today")), ("overdue", _("Call overdue"))],
        widget=forms.HiddenInput,
    )
    # the start-page cards' narrowing (hidden: kept while the other filters change)
    mine = forms.BooleanField(required=False, widget=forms.HiddenInput)
    unclaimed = forms.BooleanField(required=False, widget=forms.HiddenInput)
    claims = forms.ChoiceField(required=False, choices=[("", ""), ("open", "open")], widget=forms.HiddenInput)
    month = forms.DateField(
        label=_("Expiry month"), required=False, input_formats=["%Y-%m"],
        widget=month_input(),
    )
    # a quarter's or a year's figure (the measures pages): expiry from `month` up to `until`, not included
    until = forms.DateField(
        label=_("Up to month (not included)"), required=False, input_formats=["%Y-%m"],
        widget=month_input(),
    )
    # the measures' numerators: a filed policy's cases (renewal rate, filed), cases with an effective contact
    filed = forms.BooleanField(required=False, widget=forms.HiddenInput)
    contacted = forms.BooleanField(required=False, widget=forms.HiddenInput)
    segment = forms.ChoiceField(label=_("Segment"), required=False, choices=_ANY + Segment.choices)
    state = forms.ChoiceField(label=_("State"), required=False, choices=_ANY + CaseState.choices)
    holder = forms.ChoiceField(label=_("Holder"), required=False)
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, workers=(), stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["holder"].choices = _ANY + [(HOLDER_ME, _("Me")), (HOLDER_NONE, _("Unclaimed"))] + [
            (str(u.pk), user_label(u)) for u in workers
        ]
        if len(stores) > 1:
            self.fields["store"].choices = _ANY + [(s.pk, f"{s.code} {s.name}") for s in stores]
        else:
            del self.fields["store"]
        self._style()

    def value(self, name: str):
        return self.cleaned_data.get(name) if self.is_valid() else None

    def clean_month(self):
        month = self.cleaned_data.get("month")
        if month is not None and not 1900 <= month.year <= 2999:
            raise forms.ValidationError(_("Give a month between 1900 and 2999."))
        return month

    def clean(self):
        data = super().clean()
        month, until = data.get("month"), data.get("until")
        if until is not None and (month is None or until <= month):
            self.add_error("until", _("Give a month after the expiry month."))
        return data

    def filters(self) -> dict:
        """Keyword arguments for `selectors.renewal_case_narrow`: the fields that are valid (a bad one shows its
        error and is left out; the others still filter)."""
        self.is_valid()
        d = self.cleaned_data
        holder = d.get("holder") or ""
        return {
            "month": d.get("month"),
            "until": d.get("until"),
            "filed": bool(d.get("filed")),
            "contacted": bool(d.get("contacted")),
            "segment": d.get("segment") or "",
            "state": d.get("state") or "",
            "holder": int(holder) if holder.isdigit() else holder,
            "store_id": d.get("store"),
            "due": d.get("due") if d.get("due") in ("today", "overdue") else "",
            "mine": bool(d.get("mine")),
            "unclaimed": bool(d.get("unclaimed")),
            "claims": d.get("claims") or "",
        }


# ---- the case page -----------------------------------------------------------------------------------------------


class AssignForm(BootstrapFormMixin, forms.Form):
    small = True
    to_user = forms.TypedChoiceField(label=_("Assign to"), coerce=int, choices=_NONE, empty_value=None)

    def __init__(self, *args, workers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].choices = _NONE + [(u.pk, user_label(u)) for u in workers]
        self._style()


class ContactForm(BootstrapFormMixin, forms.Form):
    result = forms.ChoiceField(label=_("Result"), choices=_NONE + ContactResult.choices)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=ContactChannel.choices, initial=ContactChannel.PHONE, required=False
    )
    call_back_at = forms.DateTimeField(
        label=_("Call back at"), required=False, input_formats=_DATETIME_LOCAL,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Only for “Call back later”."),
    )
    quote_insurer = forms.CharField(label=_("Quoted insurer"), required=False, max_length=100)
    quote_premium = forms.DecimalField(label=_("Quoted premium (¥)"), required=False, **MONEY)
    quote_discount = forms.DecimalField(
        label=_("Discount offered (%)"), required=False, max_digits=5, decimal_places=2, min_value=0, max_value=100
    )
    gift = forms.TypedChoiceField(label=_("Gift or offer"), required=False, coerce=int, empty_value=None)
    next_step = forms.CharField(label=_("Next step"), required=False, max_length=200)
    notes = forms.CharField(label=_("Notes"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, gifts=(), premiums: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.gifts = {g.pk: g for g in gifts}
        self.fields["gift"].choices = _NONE + [
            (g.pk, f"{g.name} (¥{g.cost})" if premiums else g.name) for g in gifts
        ]
        if not premiums:  # quotes are for roles that see premiums (renewal.premium)
            del self.fields["quote_premium"], self.fields["quote_discount"]
        self._style()

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "result": d["result"],
            "channel": d["channel"] or ContactChannel.PHONE,
            "notes": d["notes"],
            "call_back_at": d["call_back_at"],
            "quote_insurer": d["quote_insurer"],
            "quote_premium": d.get("quote_premium"),
            "quote_discount": d.get("quote_discount"),
            "gift": self.gifts.get(d["gift"]),
            "next_step": d["next_step"],
        }


class OutcomeForm(BootstrapFormMixin, forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=_NONE + Outcome.choices)
    insurer = forms.CharField(
        label=_("Insurer"), required=False, max_length=100, help_text=_("Renewed here or elsewhere: which insurer.")
    )
    premium = forms.DecimalField(label=_("Premium (¥)"), required=False, help_text=_("Renewed here."), **MONEY)
    policy_number = forms.CharField(
        label=_("New policy number"), required=False, max_length=50, help_text=_("Renewed here.")
    )
    reason = forms.ChoiceField(
        label=_("Reason"), required=False, choices=_NONE + LossReason.choices,
        help_text=_("Renewed elsewhere or not renewed."),
    )
    reason_text = forms.CharField(label=_("Other reason"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


# ---- settings ----------------------------------------------------------------------------------------------------


class SettingsForm(BootstrapFormMixin, forms.Form):
    list_opens_days = forms.IntegerField(label=_("List opens (days before expiry)"), min_value=30, max_value=180)
    contact_days = forms.CharField(
        label=_("Contacts due (days before expiry)"), max_length=60, help_text=_("Largest first, e.g. 45, 33, 30")
    )
    lapse_chase_days = forms.IntegerField(
        label=_("Lapsed policies chased for (days after expiry)"), min_value=0, max_value=90
    )
    max_contacts = forms.IntegerField(label=_("Contacts per case"), min_value=1, max_value=8)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean_contact_days(self) -> list[int]:
        parts = [p.strip() for p in self.cleaned_data["contact_days"].replace("，", ",").split(",") if p.strip()]
        if not parts or not all(p.isdigit() and len(p) <= 4 for p in parts):
            raise forms.ValidationError(_("Give whole numbers of days separated by commas, e.g. 45, 33, 30."))
        return [int(p) for p in parts]


class GiftForm(BootstrapFormMixin, forms.Form):
    small = True
    name = forms.CharField(label=_("Gift or offer"), max_length=100)
    cost = forms.DecimalField(label=_("Cost (¥)"), max_digits=10, decimal_places=2, min_value=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class GiftUpdateForm(BootstrapFormMixin, forms.Form):
    small = True
    cost = forms.DecimalField(label=_("Cost (¥)"), max_digits=10, decimal_places=2, min_value=0)
    is_active = forms.BooleanField(label=_("Active"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

# ---- the follow-up sheet (sheets): import ----------------------------------------------------------------------

class RenewalSheetImportForm(StoreFileUploadForm):
    """Upload of a store's renewal follow-up sheet (CSV or XLSX, the DMS import's size limit)."""

    file = forms.FileField(label=_("Follow-up sheet (XLSX or CSV)"))


# ---- measures page (renewals/measures) -------------------------------------------------------------------------


class MeasuresFilterForm(OrgMeasuresFilterForm):
    """Year, store and the month of the breakdowns (`org.forms.MeasuresFilterForm`)."""

    month = forms.DateField(label=_("Breakdown month"), required=False, input_formats=["%Y-%m"],
                            widget=month_input())


class PoliciesSoldFilterForm(MonthRangeFormMixin, BootstrapFormMixin, forms.Form):
    """The policies behind a figure of the monthly table: month, kind, store and insurer."""

    small = True
    month = forms.DateField(label=_("Month"), input_formats=["%Y-%m"], widget=month_input())
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    store = forms.IntegerField(label=_("Store"), required=False, min_value=1, max_value=2**63 - 1,
                               widget=forms.HiddenInput)
    insurer = forms.CharField(label=_("Insurer"), required=False, max_length=100)
    until = forms.DateField(label=_("Up to month (not included)"), required=False, input_formats=["%Y-%m"],
                            widget=month_input())

    def __init__(self, *args, **kwargs):
        from aftercare.customers.choices import PolicyKind

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All kinds")), *PolicyKind.choices]
        self._style()
