"""Error pages: friendly, in the UI's style and language, for the screens; JSON `{"detail": …}` under /api/.

Wired in `aftercare/urls.py` (handler400/403/404/500) and `settings.CSRF_FAILURE_VIEW`. The 400 and 500 pages
render without the request context (no database, no session, no context processors): whatever broke the request
must not break its error page.
"""

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext_lazy as _

API_PREFIX = "/api/"

API_DETAIL = {
    400: "Bad request.",
    403: "Permission denied.",
    404: "Not found.",
    500: "Server error.",
}


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def _api(status: int, detail: str | None = None) -> JsonResponse:
    return JsonResponse({"detail": detail or API_DETAIL[status]}, status=status)


def _page(request, status: int, title, message) -> HttpResponse:
    return render(request, "errors/page.html", {"status": status, "title": title, "message": message}, status=status)


def _static_page(status: int, title, message) -> HttpResponse:
    """No RequestContext: context processors (the database, the session) are not run."""
    html = loader.get_template("errors/standalone.html").render({"status": status, "title": title, "message": message})
    return HttpResponse(html, status=status)


def bad_request(request, exception=None):
    if _is_api(request):
        return _api(400)
    return _static_page(
        400,
        _("Bad request"),
        _("The request could not be understood. Go back, reload the page and try again."),
    )


def permission_denied(request, exception=None):
    if _is_api(request):
        return _api(403)
    return _page(
        request,
        403,
        _("No permission"),
        _("Your role may not open this page or do this. If your work needs it, ask your CS manager or the group "
          "admin."),
    )


def page_not_found(request, exception=None):
    if _is_api(request):
        return _api(404)
    return _page(
        request,
        404,
        _("Page not found"),
        _("This page does not exist, or it belongs to a store you do not work for. Check the address or start again "
          "from the home page."),
    )


def server_error(request):
    if _is_api(request):
        return _api(500)
    return _static_page(
        500,
        _("Something went wrong"),
        _("The server could not complete this request. The error has been logged; please try again in a moment, "
          "and tell your administrator if it happens again."),
    )


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: most often a form left open across a log-in or log-out, or cookies switched off."""
    if _is_api(request):
        return _api(403, "CSRF check failed.")
    return _page(
        request,
        403,
        _("The form has expired"),
        _("For your security this form could not be sent: the page was open too long, or you logged in or out in "
          "another tab, or your browser blocks cookies. Reload the page and send it again."),
    )
