from django.utils.functional import SimpleLazyObject

from aftercare.core.scoping import SESSION_STORE_KEY, visible_store_ids
from aftercare.core.selectors import notification_unread_count


def scope(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from aftercare.org.models import Store

    ids = visible_store_ids(user)
    return {
        "scope_stores": Store.objects.filter(id__in=ids).order_by("code") if ids else [],
        "current_store_id": request.session.get(SESSION_STORE_KEY),
        "staff": getattr(user, "staff", None),
        # lazy: one COUNT query, only when a template shows the badge
        "unread_notifications": SimpleLazyObject(lambda: notification_unread_count(user=user)),
    }
