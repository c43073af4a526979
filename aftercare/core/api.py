"""API building blocks: authentication, the shared error schema, pagination and id parameters.

Authentication: `Authorization: Bearer <token>` (an `ApiToken`) or the logged-in browser session.
Only active users with a `Staff` record are accepted; anyone else gets 401.
"""

from typing import Annotated

from django.core.exceptions import ValidationError
from django.utils import timezone
from ninja import Field, Path, Schema
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination
from ninja.security import APIKeyCookie, HttpBearer

from . import throttle
from .models import ApiToken


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None


class ConflictOut(ErrorOut):
    """409: the row was taken or changed meanwhile (a claim lost, a slot booked by someone else)."""


# Declare on every route: `response={200: X, **ERRORS}`
# 400: a suspicious request; 413: over Django's request size / field / file limits (`aftercare/api.py` handlers).
# 429: the client address is locked after repeated failed tokens (`core/throttle.py`), or a rate limit (reveals).
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut, 429: ErrorOut}

# Database ids are 64-bit; larger numbers are rejected with 422 before they reach the database.
MAX_ID = 2**63 - 1
PathId = Annotated[int, Path(..., ge=1, le=MAX_ID)]


def require_valid_form(form) -> None:
    """422 naming each of the bound form's bad fields (`aftercare/api.py` answers a `ValidationError` so)."""
    if not form.is_valid():
        raise ValidationError({name: [str(e) for e in errs] for name, errs in form.errors.items()})


def require_sheet_imported(result) -> None:
    """422 for an all-or-nothing sheet import (`dms.readers.SheetImport`) that refused its file (on `file`) or rows
    (each bad cell on `rows.<row>.<column>`)."""
    if result.file_error:
        raise ValidationError({"file": [result.file_error]})
    if result.errors:
        errors: dict[str, list[str]] = {}
        for e in result.errors:
            errors.setdefault(f"rows.{e.row}.{e.column}", []).append(e.message)
        raise ValidationError(errors)


class Pagination(PageNumberPagination):
    """`?page=N&page_size=M` (default 50, at most 200); answers `{"items": [...], "count": total}`."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000)
        page_size: int = Field(50, ge=1, le=200)

    def __init__(self, **kwargs):
        super().__init__(page_size=50, max_page_size=200, **kwargs)


def _is_staff_member(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active and hasattr(user, "staff")


class ApiKeyAuth(HttpBearer):
    """A failed token counts against the client address (`core/throttle.py`, django-axes); at the limit the address
    is locked and every bearer request from it, even with a valid token, answers 429 until the lock ends."""

    def authenticate(self, request, token):
        probe = throttle.api_probe(request)
        if throttle.api_client_locked(probe):
            raise HttpError(429, throttle.api_lockout_message())
        token_row = None
        if token and "\x00" not in token:
            token_row = (
                ApiToken.objects.select_related("user", "user__staff")
                .filter(key_hash=ApiToken.hash_key(token), revoked=False, user__is_active=True)
                .first()
            )
        if token_row is None or not _is_staff_member(token_row.user):
            if throttle.api_token_failed(probe):
                raise HttpError(429, throttle.api_lockout_message())
            return None
        ApiToken.objects.filter(pk=token_row.pk).update(last_used_at=timezone.now())
        request.user = token_row.user
        return token_row.user


class SessionAuth(APIKeyCookie):
    """The logged-in browser session (CSRF-checked for unsafe methods)."""

    param_name = "sessionid"

    def _get_key(self, request):
        # Without a logged-in staff member there is nothing to protect: answer 401 (as documented), not the CSRF
        # check's 403, and do not read the body (a malformed one would fail the check, not the authentication).
        if not _is_staff_member(getattr(request, "user", None)):
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if _is_staff_member(user):
            return user
        return None
