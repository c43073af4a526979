"""Reads owned by core: the user's own notifications."""

from django.db.models import QuerySet

from .models import Notification


def notification_list(*, user, unread: bool = False) -> QuerySet[Notification]:
    """The user's own notifications, newest first (`unread=True`: only those not read yet)."""
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    qs = Notification.objects.filter(recipient=user)
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def notification_unread_count(*, user) -> int:
    """How many of the user's notifications are unread (for the navbar badge)."""
    return notification_list(user=user, unread=True).count()


def login_lockout_list(*, user) -> dict[str, list[dict]]:
    """Accounts and client addresses locked now after repeated failed logins / API tokens (django-axes):
    `{"accounts": [...], "addresses": [...]}`, each row `{value, failures, last_attempt, locked_until}`, newest first.

    Accounts of another dealer group's staff are left out; unknown usernames (guesses) and addresses are shown."""
    from axes.models import AccessAttempt
    from django.contrib.auth import get_user_model
    from django.db.models import Max, Sum
    from django.utils import timezone

    from .throttle import ACCOUNT, ADDRESS, cool_off, limit_of

    staff = getattr(user, "staff", None) if user is not None and user.is_authenticated else None
    if staff is None:
        return {"accounts": [], "addresses": []}
    span = cool_off()
    recent = AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - span)
    out = {}
    for key, field in (("accounts", ACCOUNT), ("addresses", ADDRESS)):
        rows = (
            recent.exclude(**{f"{field}__isnull": True})
            .values(field)
            .annotate(failures=Sum("failures_since_start"), last_attempt=Max("attempt_time"))
            .filter(failures__gte=limit_of(field))
            .order_by("-last_attempt")
        )
        out[key] = [
            {
                "value": row[field],
                "failures": row["failures"],
                "last_attempt": row["last_attempt"],
                "locked_until": row["last_attempt"] + span,
            }
            for row in rows
        ]
    if out["accounts"]:
        foreign = set(
            get_user_model()
            .objects.filter(username__in=[row["value"] for row in out["accounts"]], staff__isnull=False)
            .exclude(staff__group_id=staff.group_id)
            .values_list("username", flat=True)
        )
        out["accounts"] = [row for row in out["accounts"] if row["value"] not in foreign]
    return out
