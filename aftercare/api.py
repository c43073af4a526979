"""The integration API under /api/ (django-ninja). Each app adds its router in `<app>/api.py`."""

import logging

from django.core import signals
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
    ValidationError,
)
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError

from aftercare.core.api import ApiKeyAuth, ErrorOut, SessionAuth
from aftercare.core.parsers import CleanTextParser

api = NinjaAPI(
    title="aftercare API",
    version="1",
    description="Scoped read access to customer files and DMS import for integrations. "
    "Authenticate with `Authorization: Bearer <token>` (tokens are made in the admin or with "
    "`manage.py api_token_create`). Every read is limited to the stores the token's user may see; another "
    "store's id answers 404. Lists are paginated (`page`, `page_size` ≤ 200). Phones are masked; roles allowed "
    "to see them use `POST /api/customers/{id}/reveal-phone` (audited). Date ranges are half-open "
    "(`*_from` inclusive, `*_to` exclusive) in Asia/Shanghai days. Errors answer `{\"detail\": …, \"errors\": "
    "{field: [messages]}}`: 401 without a valid token or session (whatever the method), 403 for a role without the "
    "permission (or a browser session's failed CSRF check), 404 for anything outside the caller's stores, 413 over "
    "the request size limits, 422 for invalid input naming the field (a malformed body included), 429 when limited.",
    auth=[ApiKeyAuth(), SessionAuth()],
    urls_namespace="api",
    parser=CleanTextParser(),  # every string of a body or query passes clean_text
)


@api.exception_handler(Http404)
def on_404(request, exc):
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(PermissionDenied)
def on_403(request, exc):
    return api.create_response(request, {"detail": "Permission denied."}, status=403)


@api.exception_handler(NinjaValidationError)
def on_bad_request(request, exc):
    """Malformed parameters or body: 422 naming each field, in the same shape as every other error."""
    errors: dict[str, list[str]] = {}
    for err in exc.errors:
        field = ".".join(str(part) for part in err.get("loc", ())) or "__all__"
        errors.setdefault(field, []).append(str(err.get("msg", "invalid")))
    return api.create_response(request, {"detail": "Invalid input.", "errors": errors}, status=422)


@api.exception_handler(HttpError)
def on_http_error(request, exc):
    """ninja answers an unparsable body with 400; it is bad input like any other, so 422 (declared)."""
    if exc.status_code == 400:
        return api.create_response(request, {"detail": "Invalid input.", "errors": {"body": [str(exc)]}}, status=422)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


@api.exception_handler(ValidationError)
def on_invalid(request, exc):
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(request, {"detail": "Invalid input.", "errors": errors}, status=422)


@api.exception_handler(MultiPartParserError)
def on_malformed_multipart(request, exc):
    """A multipart body Django cannot parse (no or bad boundary, broken headers): bad input, 422 like a bad JSON
    body. The parser's own message is not echoed."""
    errors = {"body": ["Malformed multipart/form-data body."]}
    return api.create_response(request, {"detail": "Invalid input.", "errors": errors}, status=422)


@api.exception_handler(SuspiciousOperation)
def on_suspicious(request, exc):
    """Django's request limits (DATA_UPLOAD_MAX_MEMORY_SIZE, _NUMBER_FIELDS, _NUMBER_FILES) answer 413; any other
    suspicious request (e.g. an unsafe file name) 400. Django logs these on the `django.security` logger."""
    logging.getLogger(f"django.security.{exc.__class__.__name__}").error(str(exc))
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return api.create_response(request, {"detail": "Request too large."}, status=413)
    return api.create_response(request, {"detail": "Bad request."}, status=400)


@api.exception_handler(Exception)
def on_server_error(request, exc):
    """Anything unexpected: logged like Django logs a 500 (and re-raised by the test client), answered with the
    error schema. Never a traceback, a message or a server path, whatever DEBUG says."""
    signals.got_request_exception.send(sender=None, request=request)
    logging.getLogger("django.request").error(
        "Internal Server Error: %s", request.path, exc_info=exc, extra={"status_code": 500, "request": request}
    )
    return api.create_response(request, {"detail": "Server error."}, status=500)


from aftercare.appointments.api import router as appointments_router  # noqa: E402
from aftercare.care.api import router as care_router  # noqa: E402
from aftercare.complaints.api import notifications_router  # noqa: E402
from aftercare.complaints.api import router as complaints_router  # noqa: E402
from aftercare.customers.api import router as customers_router  # noqa: E402
from aftercare.dms.api import router as dms_router  # noqa: E402
from aftercare.followups.api import router as followups_router  # noqa: E402
from aftercare.org.api import kpis_router, start_router  # noqa: E402
from aftercare.quality.api import router as quality_router  # noqa: E402
from aftercare.quality.api_evaluations import router as quality_evaluations_router  # noqa: E402
from aftercare.quality.api_scorecard import router as quality_scorecard_router  # noqa: E402
from aftercare.renewals.api import router as renewals_router  # noqa: E402
from aftercare.reports.api import router as reports_router  # noqa: E402

api.add_router("/", customers_router)
api.add_router("/imports", dms_router)
api.add_router("/followups", followups_router)
api.add_router("/complaints", complaints_router)
api.add_router("/notifications", notifications_router)
api.add_router("/start", start_router)
api.add_router("/kpis", kpis_router)
api.add_router("/renewals", renewals_router)
api.add_router("/appointments", appointments_router)
api.add_router("/care", care_router)
api.add_router("/quality", quality_router)
api.add_router("/reports", reports_router)
api.add_router("/quality", quality_scorecard_router)
api.add_router("/quality", quality_evaluations_router)

__all__ = ["api", "ErrorOut"]
