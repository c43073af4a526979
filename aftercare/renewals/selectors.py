"""Scoped reads of renewal cases, contacts, gifts and settings (every one filtered to the stores the user may
see, and empty for roles without `renewal.work`)."""

from django.db.models import QuerySet

from aftercare.org.permissions import Perm, has_perm
from aftercare.org.scoping import get_scoped_or_404, visible_store_ids

from .models import ClaimAssist, RenewalCase, RenewalContact, RenewalGift, RenewalSettings


def _store_ids(user, store_ids=None) -> frozenset[int]:
    if not has_perm(user, Perm.RENEWAL_WORK):
        return frozenset()
    visible = visible_store_ids(user)
    return visible if store_ids is None else visible & frozenset(store_ids)


def renewal_case_list(*, user, store_ids=None) -> QuerySet[RenewalCase]:
    """The renewal cases of the stores in scope, with customer, vehicle and holder."""
    return RenewalCase.objects.filter(store_id__in=_store_ids(user, store_ids)).select_related(
        "store", "customer", "vehicle", "holder", "policy"
    )


def renewal_case_get(*, user, pk) -> RenewalCase:
    """One case in scope; another store's id is a 404."""
    return get_scoped_or_404(renewal_case_list(user=user).select_related("renewed_policy"), pk=pk)


def renewal_contact_list(*, user, store_ids=None) -> QuerySet[RenewalContact]:
    return RenewalContact.objects.filter(store_id__in=_store_ids(user, store_ids)).select_related(
        "task", "gift", "handler"
    )


def renewal_gift_list(*, user, store_ids=None) -> QuerySet[RenewalGift]:
    return RenewalGift.objects.filter(store_id__in=_store_ids(user, store_ids)).select_related("store")


def claim_assist_list(*, user, store_ids=None) -> QuerySet[ClaimAssist]:
    return ClaimAssist.objects.filter(store_id__in=_store_ids(user, store_ids)).select_related(
        "store", "customer", "vehicle", "policy", "repair_order"
    )


def renewal_settings_get(*, store_id: int) -> RenewalSettings:
    """The store's renewal settings (unsaved defaults when it has no row). Not scoped: for a store in scope."""
    return RenewalSettings.objects.filter(store_id=store_id).first() or RenewalSettings(store_id=store_id)


def may_see_premiums(user) -> bool:
    return has_perm(user, Perm.RENEWAL_PREMIUM)
