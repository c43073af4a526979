from django.utils.functional import SimpleLazyObject

from aftercare.core.selectors import notification_unread_count


def inbox(request):
    """The unread badge of the in-app inbox (the store switcher's context is org's: `org.context_processors`)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # lazy: one COUNT query, only when a template shows the badge
    return {"unread_notifications": SimpleLazyObject(lambda: notification_unread_count(user=user))}
