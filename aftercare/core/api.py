"""API building blocks: authentication and the shared error schema."""

from django.utils import timezone
from ninja import Schema
from ninja.security import APIKeyCookie, HttpBearer

from .models import ApiToken


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None


# Declare on every route: `response={200: X, **ERRORS}`
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request, token):
        token_row = (
            ApiToken.objects.select_related("user", "user__staff")
            .filter(key_hash=ApiToken.hash_key(token), revoked=False, user__is_active=True)
            .first()
        )
        if token_row is None:
            return None
        ApiToken.objects.filter(pk=token_row.pk).update(last_used_at=timezone.now())
        request.user = token_row.user
        return token_row.user


class SessionAuth(APIKeyCookie):
    """The logged-in browser session (CSRF-checked for unsafe methods)."""

    param_name = "sessionid"

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None
