"""The reminder pages (issue 18, "Reminders"; docs/care.md): the list of reminders (due today, overdue, by kind)
and the store's reminder rules. Thin: selectors read, `services.remind` writes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from aftercare.core.forms import apply_errors
from aftercare.org.calendar import business_date
from aftercare.org.drill import drill_list_page
from aftercare.org.permissions import Perm, has_perm, require_any_perm, require_perm
from aftercare.org.scoping import current_store_ids, own_store_ids, settings_store, settings_stores

from .. import selectors
from ..forms import ReminderFilterForm, ReminderRuleForm, ReminderSuccessRowsForm
from ..services.remind import reminder_rule_update

LIST_LIMIT = 200


@login_required
def reminder_list(request):
    """Reminders of the user's stores: due today, overdue (call still open or SMS unsent), or all; by kind."""
    require_any_perm(request.user, Perm.CARE_WORK, Perm.CARE_MANAGE)
    form = ReminderFilterForm(request.GET or None)
    due = kind = ""
    if form.is_bound and form.is_valid():
        due, kind = form.cleaned_data["due"], form.cleaned_data["kind"]
    today = business_date()
    qs = selectors.reminder_list(user=request.user, store_ids=current_store_ids(request.user, request), due=due,
                                 kind=kind, today=today)
    rows = list(qs[:LIST_LIMIT + 1])
    return render(request, "care/remind/list.html", {
        "form": form, "rows": rows[:LIST_LIMIT], "more": len(rows) > LIST_LIMIT, "today": today,
        "may_manage": has_perm(request.user, Perm.CARE_MANAGE),
    })


@login_required
@require_GET
def reminder_success_rows(request):
    """The reminders behind a figure of the reminder success rate (the measures pages' drill-down): made in the
    months, of one store (or the stores in scope), `counted` = contacted (denominator), worked (numerator) or
    not_worked; a bad filter answers 400 with the field's error, another store's id 404."""
    require_any_perm(request.user, Perm.CARE_WORK, Perm.CARE_MANAGE)
    worked = {"contacted": None, "worked": True, "not_worked": False}

    def rows(data, store_ids, since, until):
        return selectors.reminder_success_rows(user=request.user, store_ids=store_ids, since=since, until=until,
                                               worked=worked[data["counted"]])

    return drill_list_page(request, ReminderSuccessRowsForm, rows, "care/remind/success_rows.html")


@login_required
def reminder_settings(request):
    """The store's reminder rules, one row per kind, each with its edit link; insurance expiry is the renewals'."""
    require_perm(request.user, Perm.CARE_MANAGE)
    store = settings_store(request)
    rules = selectors.reminder_rule_list(user=request.user, store_id=store.pk)
    stores = settings_stores(request.user)
    return render(request, "care/remind/settings.html", {"store": store, "stores": stores, "rules": rules})


@login_required
def reminder_rule_edit(request, rule_id: int):
    """Edit one reminder rule of an own store (another store's rule answers 404)."""
    require_perm(request.user, Perm.CARE_MANAGE)
    rule = selectors.reminder_rule_get(user=request.user, rule_id=rule_id)
    if rule is None or rule.store_id not in own_store_ids(request.user):
        raise Http404
    initial = {k: getattr(rule, k) for k in ("is_active", "lead_days", "action", "came_days", "months", "km")}
    form = ReminderRuleForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                reminder_rule_update(actor=request.user, rule=rule, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Reminder rule “%(kind)s” saved.") % {"kind": rule.get_kind_display()})
                return redirect(reverse("care:reminder_settings") + f"?store={rule.store_id}")
        status = 400
    return render(request, "care/remind/rule_edit.html", {"rule": rule, "form": form}, status=status)
