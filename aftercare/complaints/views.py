"""Feedback pages (list and detail). Thin: parse, check the permission, call one selector, render."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from aftercare.core.scoping import current_store_ids
from aftercare.followups.selectors import day_range
from aftercare.org.permissions import Perm, require_perm

from . import selectors
from .forms import FeedbackSearchForm

PAGE_SIZE = 25


@login_required
def feedback_list(request):
    """Complaints, grievances and suggestions of the stores in scope; an HTMX request gets the table only."""
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    form = FeedbackSearchForm(request.GET)
    store_ids = current_store_ids(request.user, request)
    since, until = day_range(form.value("since"), form.value("until"))
    qs = selectors.feedback_list(
        user=request.user,
        store_ids=store_ids,
        q=form.value("q") or "",
        kind=form.value("kind") or "",
        status=form.value("status") or "",
        category=form.value("category") or "",
        since=since,
        until=until,
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "multi_store": len(store_ids) > 1}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "complaints/_feedback_results.html", context)
    return render(request, "complaints/feedback_list.html", context)


@login_required
def feedback_detail(request, pk: int):
    require_perm(request.user, Perm.FEEDBACK_VIEW)
    feedback = selectors.feedback_get(user=request.user, pk=pk)
    return render(request, "complaints/feedback_detail.html", {"feedback": feedback})


# ---- measures page — owned by the measures helper; keep below this line -----------------------------------------
