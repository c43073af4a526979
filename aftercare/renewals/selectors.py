"""Scoped reads of renewal cases, contacts, gifts and settings (every one filtered to the stores the user may
see, and empty for roles without `renewal.work`)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import Exists, Max, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext

from aftercare.followups.choices import ACTIVE_STATUSES as _ACTIVE_TASK
from aftercare.org.calendar import business_date, business_day_start, month_add
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

# ---- the list page and the case page (renewals/views.py) --------------------------------------------------------

CASE_DUE_CHOICES = ("today",)
HOLDER_ME, HOLDER_NONE = "me", "none"


def renewal_case_due_q(*, user, today: dt.date) -> Q:
    """Open cases the user must call today: a contact in progress due by today whose call-back (if any) falls
    before tomorrow 00:00 Shanghai, on a case nobody holds or the user holds. Without `renewal.manage` the
    cases others hold are left out; a manager sees every due case."""
    tomorrow = business_day_start(today + dt.timedelta(days=1))
    due = RenewalContact.objects.filter(
        case_id=OuterRef("pk"), task__status__in=_ACTIVE_TASK, due_on__lte=today
    ).filter(Q(task__next_call_at__isnull=True) | Q(task__next_call_at__lt=tomorrow))
    q = Q(state=CaseState.OPEN) & Q(Exists(due))
    if not has_perm(user, Perm.RENEWAL_MANAGE):
        q &= Q(holder__isnull=True) | Q(holder=user)
    return q


def renewal_case_narrow(
    qs: QuerySet[RenewalCase],
    *,
    user,
    month: dt.date | None = None,
    segment: str = "",
    state: str = "",
    holder: str | int | None = None,
    store_id: int | None = None,
    due: str = "",
    today: dt.date | None = None,
) -> QuerySet[RenewalCase]:
    """The list's filters (the same parameters as the follow-up sheet's export): month of expiry, segment,
    state, holder (`me`, `none` for unclaimed, or a user's id), one store, and `due="today"`
    (`renewal_case_due_q`). In calling order: the segment's priority, then the expiry."""
    if month is not None:
        first = month.replace(day=1)
        qs = qs.filter(expiry_date__gte=first, expiry_date__lt=month_add(first, 1))
    if segment:
        qs = qs.filter(segment=segment)
    if state:
        qs = qs.filter(state=state)
    if holder == HOLDER_ME:
        qs = qs.filter(holder=user)
    elif holder == HOLDER_NONE:
        qs = qs.filter(holder__isnull=True)
    elif holder:
        qs = qs.filter(holder_id=holder)
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    if due == "today":
        qs = qs.filter(renewal_case_due_q(user=user, today=today or business_date()))
    return qs.order_by("priority", "expiry_date", "pk")


def renewal_case_rows(qs: QuerySet[RenewalCase]) -> QuerySet[RenewalCase]:
    """A page of the list with what each row shows (the holder's name, the contacts in order): one query for the
    cases and one for their contacts, however many rows."""
    contacts = RenewalContact.objects.order_by("number")
    return qs.select_related("holder__staff", "renewed_policy").prefetch_related(
        Prefetch("contacts", queryset=contacts)
    )


def renewal_worker_list(*, user, store_ids=None) -> QuerySet:
    """The active users who work renewals in the stores in scope (the holder filter, a manager's Assign to)."""
    from django.contrib.auth import get_user_model

    from aftercare.org.permissions import ROLE_PERMISSIONS

    roles = [role for role, perms in ROLE_PERMISSIONS.items() if Perm.RENEWAL_WORK in perms]
    return (
        get_user_model()
        .objects.filter(staff__stores__in=_store_ids(user, store_ids), staff__role__in=roles, is_active=True)
        .select_related("staff")
        .distinct()
        .order_by("staff__display_name", "username")
    )


def renewal_contact_columns(*, store_ids) -> int:
    """How many contact columns the list shows: the seed's four, or more when a store in scope allows more."""
    most = RenewalSettings.objects.filter(store_id__in=list(store_ids)).aggregate(n=Max("max_contacts"))["n"]
    return max(4, most or 0)
