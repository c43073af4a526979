from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import selectors, services, throttle
from .htmx import is_partial, render_partial_or_page
from .shortcuts import get_scoped_or_404

INBOX_PAGE_SIZE = 30


@login_required
def home(request):
    """The landing page after log-in is org's start page (named, not imported: core imports no app above it)."""
    return redirect("start")


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
    return render_partial_or_page(request, "core/inbox.html", "core/_inbox_list.html", context)


@login_required
@require_POST
def inbox_read(request, pk: int | None = None):
    """Mark one notification (or, without `pk`, all of them) read; HTMX gets the refreshed list."""
    if pk is None:
        services.notification_mark_read(actor=request.user, all=True)
    else:
        notification = get_scoped_or_404(selectors.notification_list(user=request.user), pk=pk)  # others' ids: 404
        services.notification_mark_read(actor=request.user, ids=[notification.pk])
    if is_partial(request):
        return render(request, "core/_inbox_list.html", _inbox_context(request))
    return redirect("inbox")


# ---- failed-login lockouts (django-axes; core/throttle.py; the unlock page, which needs a role, is org's) ------


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
