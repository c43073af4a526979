"""Reports' pages. Thin: forms in, services write, selectors read (docs/reports.md)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftercare.core.forms import apply_errors, bound_data
from aftercare.org.calendar import business_date
from aftercare.org.permissions import has_perm
from aftercare.org.scoping import STORE_ACTIONS_MANAGE, current_store_ids, may_report_action_done, own_store_ids
from aftercare.org.selectors import store_staff_choices

from . import selectors
from .choices import ActionStatus
from .forms import ActionFilterForm, ActionForm, ActionNoteForm
from .services import actions as action_services

# ---- action register ----


def _owners(user, request):
    stores = sorted(current_store_ids(user, request) & own_store_ids(user))
    return store_staff_choices(store_id=stores[0]) if stores else None, (stores[0] if stores else None)


@login_required
def action_list(request):
    """The action register: a manager's whole store, anyone else the actions they own; a manager adds actions."""
    user = request.user
    may_manage = has_perm(user, STORE_ACTIONS_MANAGE)
    today = business_date()
    filters = ActionFilterForm(request.GET or {"status": "active"})
    data = filters.cleaned_data if filters.is_valid() else {"status": "active", "mine": False, "overdue": False}
    rows = selectors.action_list(
        user=user,
        store_ids=current_store_ids(user, request),
        status=data.get("status") or "",
        mine=bool(data.get("mine")),
        overdue_on=today if data.get("overdue") else None,
    )
    form = None
    status = 200
    if may_manage:
        owners, store_id = _owners(user, request)
        if owners is not None:
            form = ActionForm(**bound_data(request), owners=owners, auto_id="action_%s")
            if request.method == "POST":
                if form.is_valid():
                    try:
                        action_services.action_create(actor=user, store_id=store_id, **form.cleaned_data)
                    except ValidationError as exc:
                        apply_errors(form, exc)
                    else:
                        messages.success(request, _("Action added to the register."))
                        return redirect("reports:actions")
                status = 400
    return render(
        request,
        "reports/actions/list.html",
        {"rows": rows[:500], "filters": filters, "form": form, "may_manage": may_manage, "today": today},
        status=status,
    )


def _detail(request, action, *, bound: tuple[str, ActionNoteForm] | None = None, status: int = 200):
    forms = {name: ActionNoteForm(auto_id=f"{name}_%s") for name in ("done", "verify", "cancel")}
    if bound:
        forms[bound[0]] = bound[1]
    user = request.user
    may_manage = has_perm(user, STORE_ACTIONS_MANAGE)
    context = {
        "action": action,
        "forms": forms,
        "may_done": action.status == ActionStatus.OPEN and may_report_action_done(
            user, owner_id=action.owner_id, store_id=action.store_id),
        "may_verify": action.status == ActionStatus.DONE and may_manage,
        "may_cancel": action.status in (ActionStatus.OPEN, ActionStatus.DONE) and may_manage,
        "today": business_date(),
    }
    if bound and not context[{"done": "may_done", "verify": "may_verify", "cancel": "may_cancel"}[bound[0]]]:
        # the step's panel is not drawn (the action moved on since the page was loaded): say why at the top
        context["step_errors"] = [e for errors in bound[1].errors.values() for e in errors]
    return render(request, "reports/actions/detail.html", context, status=status)


@login_required
def action_detail(request, pk: int):
    return _detail(request, selectors.action_get(user=request.user, pk=pk))


STEPS = {
    "done": lambda r, a, note: action_services.action_complete(actor=r.user, action_id=a.pk, note=note),
    "effective": lambda r, a, note: action_services.action_verify(actor=r.user, action_id=a.pk, effective=True,
                                                                  note=note),
    "not_effective": lambda r, a, note: action_services.action_verify(actor=r.user, action_id=a.pk, effective=False,
                                                                      note=note),
    "cancel": lambda r, a, note: action_services.action_cancel(actor=r.user, action_id=a.pk, note=note),
}


@login_required
@require_POST
def action_step(request, pk: int, step: str):
    """Mark done (owner), verify effective / not effective or cancel (manager); errors show next to the note."""
    action = selectors.action_get(user=request.user, pk=pk)
    if step not in STEPS:
        return _detail(request, action, status=404)
    panel = {"effective": "verify", "not_effective": "verify"}.get(step, step)
    form = ActionNoteForm(request.POST, auto_id=f"{panel}_%s")
    if form.is_valid():
        try:
            STEPS[step](request, action, form.cleaned_data["note"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Action updated."))
            return redirect("reports:action_detail", pk=action.pk)
    return _detail(request, action, bound=(panel, form), status=400)


# ---- end action register ----
