"""The partial-or-page decision of the list pages that HTMX refreshes in place (search, filters, pager)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def is_partial(request: HttpRequest) -> bool:
    """Whether to answer with the page's fragment: an HTMX request, except when htmx restores its history (a back
    button after the page left htmx's cache), which needs the whole page."""
    htmx = getattr(request, "htmx", None)  # django_htmx.middleware.HtmxMiddleware
    return bool(htmx) and not htmx.history_restore_request


def render_partial_or_page(
    request: HttpRequest, page_template: str, partial_template: str, context: dict, **kwargs
) -> HttpResponse:
    """`partial_template` for an HTMX request (see `is_partial`), else `page_template`; `kwargs` go to `render`."""
    return render(request, partial_template if is_partial(request) else page_template, context, **kwargs)
