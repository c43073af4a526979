from .scoping import SESSION_STORE_KEY, visible_store_ids


def scope(request):
    """The store switcher's stores and choice, and the user's staff record."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .models import Store

    ids = visible_store_ids(user)
    return {
        "scope_stores": Store.objects.filter(id__in=ids).order_by("code") if ids else [],
        "current_store_id": request.session.get(SESSION_STORE_KEY),
        "staff": getattr(user, "staff", None),
    }
