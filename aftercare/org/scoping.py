"""Store scoping: the security model. Every selector goes through `visible_store_ids`.

`get_scoped_or_404` (core's, which knows no store) is offered here too, beside the functions that scope the
queryset it is given.
"""

from django.http import Http404

from aftercare.core.shortcuts import get_scoped_or_404

from .choices import SharedResource
from .permissions import Perm, has_perm

SESSION_STORE_KEY = "current_store_id"

__all__ = [
    "SESSION_STORE_KEY",
    "current_store_ids",
    "get_scoped_or_404",
    "narrowed_store_ids",
    "own_store_ids",
    "settings_store",
    "settings_stores",
    "store_for_write",
    "visible_store_ids",
]


def visible_store_ids(user, resource: str | None = None) -> frozenset[int]:
    """Stores whose rows `user` may read; with `resource`, plus stores sharing it with them."""
    from .models import Store, StoreSharing

    if user is None or not user.is_authenticated:
        return frozenset()
    cache = user.__dict__.setdefault("_scope_cache", {})
    if resource in cache:
        return cache[resource]
    staff = getattr(user, "staff", None)
    if staff is None:
        ids: frozenset[int] = frozenset()
    elif has_perm(user, Perm.ALL_GROUP_STORES):
        ids = frozenset(Store.objects.filter(group_id=staff.group_id).values_list("id", flat=True))
    else:
        if None not in cache:  # the user's own stores: read once, the base of every resource's scope
            cache[None] = frozenset(staff.stores.values_list("id", flat=True))
        own = set(cache[None])
        if resource in SharedResource.values:
            own |= set(
                StoreSharing.objects.filter(to_store_id__in=own, resource=resource).values_list(
                    "from_store_id", flat=True
                )
            )
        ids = frozenset(own)
    cache[resource] = ids
    return ids


def own_store_ids(user) -> frozenset[int]:
    """Stores `user` works in (writes are allowed only here)."""
    return visible_store_ids(user, None)


def current_store_ids(user, request=None, resource: str | None = None) -> frozenset[int]:
    """Visible stores, narrowed to the store chosen in the store switcher if any."""
    ids = visible_store_ids(user, resource)
    if request is not None:
        chosen = request.session.get(SESSION_STORE_KEY)
        if chosen in ids:
            return frozenset({chosen})
    return ids


def narrowed_store_ids(user, store_id: int | None, resource: str | None = None, request=None) -> frozenset[int]:
    """Visible stores (narrowed by the store switcher when a page passes its `request`), or only `store_id` when one
    is asked for (an API's or a page's `store` filter); a store outside them answers 404, like any other store's
    row."""
    ids = current_store_ids(user, request, resource)
    if store_id is None:
        return ids
    if store_id not in ids:
        raise Http404
    return frozenset({store_id})


def store_for_write(user, store_id: int):
    """The store `user` may write to, or 404 (never reveal another store exists)."""
    from .models import Store

    if store_id not in own_store_ids(user):
        raise Http404
    return Store.objects.get(pk=store_id)


def settings_store(request):
    """The store whose settings a page shows or saves: the `store` asked for (query or form; one of the user's own
    stores, else 404), else the first of the user's own stores in the store switcher's scope, else their first own
    store (404 without any). The page checks its permission first."""
    user = request.user
    raw = request.POST.get("store") or request.GET.get("store") or ""
    if raw.isdigit():
        return store_for_write(user, int(raw))
    own = sorted(own_store_ids(user) & current_store_ids(user, request)) or sorted(own_store_ids(user))
    if not own:
        raise Http404
    return store_for_write(user, own[0])


def settings_stores(user):
    """The stores a settings page offers in its store picker (`_settings_store_picker.html`): the user's own, by
    code."""
    from .models import Store

    return Store.objects.filter(pk__in=own_store_ids(user)).order_by("code")


# Who manages a store's actions (the reports app's rectification register, the carmaker's corrective actions after
# a dealer evaluation): the managers who own the store's KPIs.
STORE_ACTIONS_MANAGE = Perm.KPI_SET_TARGET


def may_report_action_done(user, *, owner_id: int | None, store_id: int) -> bool:
    """An action of one of the user's own stores is reported done by its owner or by a manager of the store's
    actions (`STORE_ACTIONS_MANAGE`)."""
    return store_id in own_store_ids(user) and (owner_id == user.pk or has_perm(user, STORE_ACTIONS_MANAGE))
