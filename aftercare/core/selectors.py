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
