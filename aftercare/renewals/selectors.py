"""Scoped reads of renewal cases, contacts, gifts and settings (every one filtered to the stores the user may
see, and empty for roles without `renewal.work`)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext

from aftercare.org.calendar import month_add
from aftercare.org.permissions import Perm, has_perm
from aftercare.org.scoping import get_scoped_or_404, visible_store_ids

from .choices import CaseState, Segment
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


# ---- the list page's filters (shared by the list page and the follow-up sheet export) ----------------------------

CASE_FILTERS = ("month", "segment", "state", "holder", "store")


def renewal_case_filter(*, user, params, store_ids=None) -> QuerySet[RenewalCase]:
    """The cases in scope narrowed by the list page's query parameters, ordered by expiry (then priority):

    `month=YYYY-MM` (month of expiry), `segment` and `state` (their codes), `holder` (`me`, `none` or a user
    id), `store` (a store id; one outside the user's scope answers 404, like any other store's row). Empty
    parameters do not filter. A malformed value raises `ValidationError` naming the parameter. `store_ids`
    narrows further (the store switcher)."""
    def value(name: str) -> str:
        raw = params.get(name)
        return str(raw).strip() if raw is not None else ""

    qs = renewal_case_list(user=user, store_ids=store_ids)
    errors: dict[str, str] = {}
    if month := value("month"):
        try:
            year, number = (int(part) for part in month.split("-"))
            first = dt.date(year, number, 1)
            after = month_add(first, 1)
        except ValueError:
            errors["month"] = gettext("Give the month as YYYY-MM, e.g. 2026-12.")
        else:
            qs = qs.filter(expiry_date__gte=first, expiry_date__lt=after)
    if segment := value("segment"):
        if segment in Segment.values:
            qs = qs.filter(segment=segment)
        else:
            errors["segment"] = gettext("Unknown segment.")
    if state := value("state"):
        if state in CaseState.values:
            qs = qs.filter(state=state)
        else:
            errors["state"] = gettext("Unknown state.")
    if holder := value("holder"):
        if holder == "me":
            qs = qs.filter(holder_id=user.pk)
        elif holder == "none":
            qs = qs.filter(holder__isnull=True)
        elif holder.isdigit() and len(holder) < 19:
            qs = qs.filter(holder_id=int(holder))
        else:
            errors["holder"] = gettext("Give me, none or a user id.")
    if store := value("store"):
        if not (store.isdigit() and len(store) < 19):
            errors["store"] = gettext("Give a store id.")
        elif int(store) not in _store_ids(user, store_ids):
            raise Http404
        else:
            qs = qs.filter(store_id=int(store))
    if errors:
        raise ValidationError(errors)
    return qs.order_by("expiry_date", "priority", "pk")
