"""Failed-login throttling on django-axes: two limits (per account, per client address), the API's bearer tokens,
and the audit event of a lockout.

axes records every failed login (`AccessAttempt`: username, address, user agent, count, last time) and compares one
count with one limit. Our handler counts the account's and the address's failures separately, each against its own
setting (`LOGIN_FAILURES_PER_ACCOUNT`, `LOGIN_FAILURES_PER_ADDRESS`), over the last `LOGIN_LOCKOUT_MINUTES`.
A failed API token counts against the client address only (there is no account to name).
"""

import datetime as dt

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db.models import Sum
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.translation import ngettext

ACCOUNT, ADDRESS = "username", "ip_address"


def lockout_parameters(request, credentials=None) -> list[str]:
    """AXES_LOCKOUT_PARAMETERS: an account and an address, counted separately (an API token has no account)."""
    return [ACCOUNT, ADDRESS] if get_client_username(request, credentials) else [ADDRESS]


def cool_off(request=None) -> dt.timedelta:
    """AXES_COOLOFF_TIME: failures older than this are forgotten; a lock lasts this long after the last failure."""
    return dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def failure_limit(request=None, credentials=None) -> int:
    """AXES_FAILURE_LIMIT: what `get_failures` answers for "locked" (each parameter has its own limit)."""
    return settings.LOGIN_FAILURES_PER_ACCOUNT


def limit_of(parameter: str) -> int:
    return settings.LOGIN_FAILURES_PER_ACCOUNT if parameter == ACCOUNT else settings.LOGIN_FAILURES_PER_ADDRESS


def lockout_minutes() -> int:
    return settings.LOGIN_LOCKOUT_MINUTES


class LoginThrottleHandler(AxesDatabaseHandler):
    """axes' database handler with a limit per parameter: locked when the account's failures reach the account
    limit or the address's reach the address limit. The counts are left on the request (`throttle_counts`)."""

    def get_failures(self, request, credentials=None) -> int:
        parameters = lockout_parameters(request, credentials)
        counts = {
            parameter: attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for parameter, attempts in zip(parameters, self.get_user_attempts(request, credentials), strict=True)
        }
        request.throttle_counts = counts
        limit = failure_limit(request, credentials)
        if any(n >= limit_of(parameter) for parameter, n in counts.items()):
            return limit
        return min(max(counts.values(), default=0), limit - 1)


def login_lockout_message() -> str:
    minutes = lockout_minutes()
    return ngettext(
        "Too many failed log-in attempts for this account or from this address. Logging in is blocked for "
        "%(minutes)s minute; a group administrator can unlock it sooner.",
        "Too many failed log-in attempts for this account or from this address. Logging in is blocked for "
        "%(minutes)s minutes; a group administrator can unlock it sooner.",
        minutes,
    ) % {"minutes": minutes}


def api_lockout_message() -> str:
    minutes = lockout_minutes()
    return ngettext(
        "Too many failed authentication attempts from this address. Try again in %(minutes)s minute; a group "
        "administrator can unlock it sooner.",
        "Too many failed authentication attempts from this address. Try again in %(minutes)s minutes; a group "
        "administrator can unlock it sooner.",
        minutes,
    ) % {"minutes": minutes}


# ---- the API's bearer tokens -------------------------------------------------------------------------------------

_API_CREDENTIALS = {ACCOUNT: None}  # no account: only the address is counted


def api_probe(request) -> HttpRequest:
    """A bare request carrying the caller's address, agent and path (never its body or query) for axes."""
    probe = HttpRequest()
    probe.method = request.method
    probe.path = probe.path_info = request.path
    probe.META = {
        key: (value.replace("\x00", "") if isinstance(value, str) else value)
        for key, value in request.META.items()
        if key.startswith("HTTP_") or key in {"REMOTE_ADDR", "PATH_INFO"}
    }
    probe.META.pop("HTTP_AUTHORIZATION", None)
    probe.META.pop("HTTP_COOKIE", None)
    probe.via = "api"
    return probe


def api_client_locked(probe) -> bool:
    """Whether the caller's address is locked (then even a valid token is refused)."""
    return settings.AXES_ENABLED and not AxesProxyHandler.is_allowed(probe, _API_CREDENTIALS)


def api_token_failed(probe) -> bool:
    """Count a failed bearer token against the caller's address; True when the address is now locked."""
    user_login_failed.send(sender=__name__, credentials=dict(_API_CREDENTIALS), request=probe)
    return bool(getattr(probe, "axes_locked_out", False))


# ---- audit -------------------------------------------------------------------------------------------------------


@receiver(user_locked_out)
def _audit_lockout(sender, request=None, username=None, ip_address=None, **kwargs):
    """One `lockout` audit event when an account or an address reaches its limit (not for every failure after)."""
    counts = getattr(request, "throttle_counts", None) or {}
    reached = [parameter for parameter, n in counts.items() if n == limit_of(parameter)]
    if not reached:
        return
    from .services import login_lockout_record

    login_lockout_record(
        username=username if ACCOUNT in reached else None,
        ip_address=ip_address,
        address_locked=ADDRESS in reached,
        via=getattr(request, "via", "login"),
    )
