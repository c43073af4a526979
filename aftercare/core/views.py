from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .scoping import SESSION_STORE_KEY, visible_store_ids


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
