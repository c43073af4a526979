"""Views that need stores or roles: the start page, the store switcher and the group admin's list of locked log-ins.

(Core, below org, knows neither: its views are the log-in and the inbox.)
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftercare.core import selectors as core_selectors
from aftercare.core import services as core_services
from aftercare.core import throttle

from .permissions import Perm, require_perm
from .scoping import SESSION_STORE_KEY, current_store_ids, visible_store_ids
from .start import start_cards


@login_required
def start(request):
    """The landing page after log-in: the cards the apps registered for the user's role (`org/start.py`), counted
    over the stores in scope (narrowed by the store switcher); every number links to its rows."""
    now = timezone.now()
    store_ids = current_store_ids(request.user, request)
    cards = start_cards(user=request.user, store_ids=store_ids, now=now)
    context = {"cards": cards, "busy": any(data.total for _card, data in cards), "now": now}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "org/_start_cards.html", context)
    return render(request, "org/start.html", context)


@login_required
@require_POST
def store_switch(request):
    """Narrow every list to one visible store (empty value = all stores in scope)."""
    raw = request.POST.get("store", "")
    if raw.isdigit() and int(raw) in visible_store_ids(request.user):
        request.session[SESSION_STORE_KEY] = int(raw)
    else:
        request.session.pop(SESSION_STORE_KEY, None)
    nxt = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/"
    return redirect(nxt)


# ---- failed-login lockouts (django-axes; core/throttle.py) -------------------------------------------------------


@login_required
def lockout_list(request):
    """Accounts and client addresses locked after repeated failed logins / API tokens, with an Unlock button."""
    require_perm(request.user, Perm.LOGIN_UNLOCK)
    context = core_selectors.login_lockout_list(user=request.user)
    context.update(
        {
            "per_account": throttle.limit_of(throttle.ACCOUNT),
            "per_address": throttle.limit_of(throttle.ADDRESS),
            "minutes": throttle.lockout_minutes(),
        }
    )
    return render(request, "org/lockouts.html", context)


@login_required
@require_POST
def lockout_clear(request):
    """Unlock one account (`kind=account`) or one address (`kind=address`) shown on the list; anything else: 404."""
    require_perm(request.user, Perm.LOGIN_UNLOCK)
    kind, value = request.POST.get("kind", ""), request.POST.get("value", "")
    locked = core_selectors.login_lockout_list(user=request.user)
    rows = {"account": locked["accounts"], "address": locked["addresses"]}.get(kind, [])
    if value not in {row["value"] for row in rows}:
        raise Http404
    if kind == "account":
        core_services.login_lockout_clear(actor=request.user, username=value)
        messages.success(request, _("Account %(name)s unlocked.") % {"name": value})
    else:
        core_services.login_lockout_clear(actor=request.user, ip_address=value)
        messages.success(request, _("Client address %(address)s unlocked.") % {"address": value})
    return redirect("lockouts")


# ---- scheduled jobs (core/schedule.py) -------------------------------------------------------------------------


@login_required
def job_list(request):
    """Each scheduled job: its slots, last run, duration, result and next slot; failed or late jobs flagged."""
    from aftercare.core.schedule import job_status_list

    require_perm(request.user, Perm.JOBS_VIEW)
    statuses = job_status_list()
    context = {"statuses": statuses, "flagged": sum(s.flagged for s in statuses)}
    return render(request, "org/jobs.html", context)
