from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftercare.org.permissions import Perm, require_perm

from . import selectors, services, throttle
from .scoping import SESSION_STORE_KEY, get_scoped_or_404, visible_store_ids

INBOX_PAGE_SIZE = 30


@login_required
def home(request):
    return redirect("customers:list")


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


def _inbox_context(request) -> dict:
    unread_only = request.GET.get("unread") == "1"
    rows = selectors.notification_list(user=request.user, unread=unread_only)
    return {
        "page": Paginator(rows, INBOX_PAGE_SIZE).get_page(request.GET.get("page")),
        "unread_only": unread_only,
        "unread_count": selectors.notification_unread_count(user=request.user),
    }


@login_required
def inbox(request):
    """The user's in-app notifications (newest first); an HTMX request gets the list only."""
    context = _inbox_context(request)
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "core/_inbox_list.html", context)
    return render(request, "core/inbox.html", context)


@login_required
@require_POST
def inbox_read(request, pk: int | None = None):
    """Mark one notification (or, without `pk`, all of them) read; HTMX gets the refreshed list."""
    if pk is None:
        services.notification_mark_read(actor=request.user, all=True)
    else:
        notification = get_scoped_or_404(selectors.notification_list(user=request.user), pk=pk)  # others' ids: 404
        services.notification_mark_read(actor=request.user, ids=[notification.pk])
    if request.htmx:
        return render(request, "core/_inbox_list.html", _inbox_context(request))
    return redirect("inbox")


# ---- failed-login lockouts (django-axes; core/throttle.py) -------------------------------------------------------


def login_locked_out(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: a locked account or address gets the login page again, 429, saying why."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    nxt = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = ""
    context = {
        "form": AuthenticationForm(request, initial={"username": username[:150]}),
        "locked_message": throttle.login_lockout_message(),
        "next": nxt,
    }
    return render(request, "core/login.html", context, status=429)


@login_required
def lockout_list(request):
    """Accounts and client addresses locked after repeated failed logins / API tokens, with an Unlock button."""
    require_perm(request.user, Perm.LOGIN_UNLOCK)
    context = selectors.login_lockout_list(user=request.user)
    context.update(
        {
            "per_account": throttle.limit_of(throttle.ACCOUNT),
            "per_address": throttle.limit_of(throttle.ADDRESS),
            "minutes": throttle.lockout_minutes(),
        }
    )
    return render(request, "core/lockouts.html", context)


@login_required
@require_POST
def lockout_clear(request):
    """Unlock one account (`kind=account`) or one address (`kind=address`) shown on the list; anything else: 404."""
    require_perm(request.user, Perm.LOGIN_UNLOCK)
    kind, value = request.POST.get("kind", ""), request.POST.get("value", "")
    locked = selectors.login_lockout_list(user=request.user)
    rows = {"account": locked["accounts"], "address": locked["addresses"]}.get(kind, [])
    if value not in {row["value"] for row in rows}:
        raise Http404
    if kind == "account":
        services.login_lockout_clear(actor=request.user, username=value)
        messages.success(request, _("Account %(name)s unlocked.") % {"name": value})
    else:
        services.login_lockout_clear(actor=request.user, ip_address=value)
        messages.success(request, _("Client address %(address)s unlocked.") % {"address": value})
    return redirect("lockouts")
