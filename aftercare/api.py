"""The integration API under /api/ (django-ninja). Each app adds its router in `<app>/api.py`."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import NinjaAPI

from aftercare.core.api import ApiKeyAuth, ErrorOut, SessionAuth

api = NinjaAPI(
    title="aftercare API",
    version="1",
    description="Scoped read access to customer files and DMS import for integrations. "
    "Authenticate with `Authorization: Bearer <token>` (tokens are made in the admin or with "
    "`manage.py api_token_create`).",
    auth=[ApiKeyAuth(), SessionAuth()],
    urls_namespace="api",
)


@api.exception_handler(Http404)
def on_404(request, exc):
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(PermissionDenied)
def on_403(request, exc):
    return api.create_response(request, {"detail": "Permission denied."}, status=403)


@api.exception_handler(ValidationError)
def on_invalid(request, exc):
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(request, {"detail": "Invalid input.", "errors": errors}, status=422)


from aftercare.customers.api import router as customers_router  # noqa: E402
from aftercare.dms.api import router as dms_router  # noqa: E402

api.add_router("/", customers_router)
api.add_router("/imports", dms_router)

__all__ = ["api", "ErrorOut"]
