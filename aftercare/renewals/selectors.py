"""Scoped reads of renewal cases, contacts, gifts and settings (every one filtered to the stores the user may
see, and empty for roles without `renewal.work`)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from aftercare.followups.choices import ACTIVE_STATUSES
from aftercare.org.calendar import business_date, business_day_start, month_add
from aftercare.org.permissions import Perm, has_perm
from aftercare.org.scoping import get_scoped_or_404, visible_store_ids

from .choices import CaseState, ClaimAssistState, Segment
from .models import ClaimAssist, RenewalCase, RenewalContact, RenewalGift, RenewalSettings


def _store_ids(user, store_ids=None) -> frozenset[int]:
    if not has_perm(user, Perm.RENEWAL_WORK):
        return frozenset()
    visible = visible_store_ids(user)
    return visible if store_ids is None else visible & frozenset(store_ids)


def renewal_case_list(*, user, store_ids=None) -> QuerySet[RenewalCase]:
    """The renewal cases of the stores in scope, with customer, vehicle and holder."""
    return RenewalCase.objects.filter(store_id__in=_store_ids(user, store_ids)).select_related(
        "store", "customer", "vehicle", "holder__staff", "policy"
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


def renewal_settings_map(store_ids) -> dict[int, RenewalSettings]:
    """Each store's renewal settings, in one query (unsaved defaults for a store without a row; nothing is
    written). Not scoped: for stores the caller already has in scope, or the services' own stores."""
    found = {s.store_id: s for s in RenewalSettings.objects.filter(store_id__in=list(store_ids))}
    return {sid: found.get(sid) or RenewalSettings(store_id=sid) for sid in store_ids}


def renewal_settings_get(*, store_id: int) -> RenewalSettings:
    """The store's renewal settings (unsaved defaults when it has no row). Not scoped: for a store in scope."""
    return renewal_settings_map([store_id])[store_id]


def may_see_premiums(user) -> bool:
    return has_perm(user, Perm.RENEWAL_PREMIUM)


# ---- the list page's filters (shared by the list page and the follow-up sheet export) ----------------------------

CASE_FILTERS = ("month", "until", "filed", "contacted", "segment", "state", "holder", "store", "due", "mine",
                "unclaimed", "claims")


def renewal_case_filter(*, user, params, store_ids=None) -> QuerySet[RenewalCase]:
    """The cases in scope narrowed by the list page's query parameters (`renewal_case_narrow`), ordered by expiry
    (then priority), for the follow-up sheet's export:

    `month=YYYY-MM` (month of expiry; with `until=YYYY-MM` the months up to it, not included), `filed=1` (a filed
    policy's cases), `contacted=1` (with an effective contact), `segment` and `state` (their codes), `holder`
    (`me`, `none` or a user id), `store` (a store id; one outside the user's scope answers 404, like any other
    store's row), `due` (`today`, `overdue`), `mine=1`, `unclaimed=1`, `claims=open`. Empty parameters do not
    filter. A malformed value raises `ValidationError` naming the parameter. `store_ids` narrows further (the store
    switcher)."""
    def value(name: str) -> str:
        raw = params.get(name)
        return str(raw).strip() if raw is not None else ""

    errors: dict[str, str] = {}
    narrow: dict = {}
    if month := value("month"):
        try:
            year, number = (int(part) for part in month.split("-"))
            narrow["month"] = dt.date(year, number, 1)
            month_add(narrow["month"], 1)  # December 9999 has no next month
        except ValueError:
            errors["month"] = gettext("Give the month as YYYY-MM, e.g. 2026-12.")
    if until := value("until"):
        try:
            year, number = (int(part) for part in until.split("-"))
            narrow["until"] = dt.date(year, number, 1)
        except ValueError:
            errors["until"] = gettext("Give the month as YYYY-MM, e.g. 2026-12.")
        else:
            if "month" not in narrow or narrow["until"] <= narrow["month"]:
                errors["until"] = gettext("Give a month after the expiry month.")
    narrow["filed"] = value("filed") == "1"
    narrow["contacted"] = value("contacted") == "1"
    if segment := value("segment"):
        if segment in Segment.values:
            narrow["segment"] = segment
        else:
            errors["segment"] = gettext("Unknown segment.")
    if state := value("state"):
        if state in CaseState.values:
            narrow["state"] = state
        else:
            errors["state"] = gettext("Unknown state.")
    if holder := value("holder"):
        if holder in (HOLDER_ME, HOLDER_NONE):
            narrow["holder"] = holder
        elif holder.isdigit() and len(holder) < 19:
            narrow["holder"] = int(holder)
        else:
            errors["holder"] = gettext("Give me, none or a user id.")
    if store := value("store"):
        if not (store.isdigit() and len(store) < 19):
            errors["store"] = gettext("Give a store id.")
        elif int(store) not in _store_ids(user, store_ids):
            raise Http404
        else:
            narrow["store_id"] = int(store)
    if due := value("due"):
        if due in CASE_DUE_CHOICES:
            narrow["due"] = due
        elif due != "all":
            errors["due"] = gettext("Give today or overdue.")
    narrow["mine"] = value("mine") == "1"
    narrow["unclaimed"] = value("unclaimed") == "1"
    if (claims := value("claims")) and claims != "open":
        errors["claims"] = gettext("Give open.")
    narrow["claims"] = claims
    if errors:
        raise ValidationError(errors)
    qs = renewal_case_narrow(renewal_case_list(user=user, store_ids=store_ids), user=user, **narrow)
    return qs.order_by("expiry_date", "priority", "pk")


# ---- the list page and the case page (renewals/views.py) --------------------------------------------------------

CASE_DUE_CHOICES = ("today", "overdue")
HOLDER_ME, HOLDER_NONE = "me", "none"


def renewal_case_due_q(*, user, today: dt.date) -> Q:
    """Open cases the user must call today: a contact in progress due by today whose call-back (if any) falls
    before tomorrow 00:00 Shanghai, on a case nobody holds or the user holds. Without `renewal.manage` the
    cases others hold are left out; a manager sees every due case."""
    tomorrow = business_day_start(today + dt.timedelta(days=1))
    due = RenewalContact.objects.filter(
        case_id=OuterRef("pk"), task__status__in=ACTIVE_STATUSES, due_on__lte=today
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
    until: dt.date | None = None,
    filed: bool = False,
    contacted: bool = False,
    segment: str = "",
    state: str = "",
    holder: str | int | None = None,
    store_id: int | None = None,
    due: str = "",
    unclaimed: bool = False,
    mine: bool = False,
    claims: str = "",
    now: dt.datetime | None = None,
) -> QuerySet[RenewalCase]:
    """The one set of list filters, for the list page, the follow-up sheet's export, the API and the start-page
    cards' links: month of expiry (up to `until`, not included), `filed` (not estimated), `contacted` (an
    effective contact made), segment, state, holder (`me`, `none` for unclaimed, or a user's id), one store,
    `due` (`today`: to call today, `renewal_case_due_q`; `overdue`: the contact's call deadline passed),
    `unclaimed`, `mine` (nobody's or the user's) and `claims="open"` (open claim assistance). In calling order:
    the segment's priority, then the expiry."""
    now = now or timezone.now()
    if month is not None:
        first = month.replace(day=1)
        last = until.replace(day=1) if until is not None and until > first else month_add(first, 1)
        qs = qs.filter(expiry_date__gte=first, expiry_date__lt=last)
    if filed:
        qs = qs.filter(expiry_estimated=False)
    if contacted:
        qs = qs.filter(contacts_made__gte=1)
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
        qs = qs.filter(renewal_case_due_q(user=user, today=business_date(now)))
    elif due == "overdue":
        overdue = RenewalContact.objects.filter(renewal_contact_overdue_q(now))
        qs = qs.filter(state=CaseState.OPEN, pk__in=overdue.values("case_id"))
    if unclaimed:
        qs = qs.filter(holder__isnull=True)
    if mine:
        qs = qs.filter(Q(holder__isnull=True) | Q(holder=user))
    if claims == "open":
        qs = qs.filter(pk__in=ClaimAssist.objects.filter(state=ClaimAssistState.OPEN).values("case_id"))
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

# ---- the API's, the start page's, the customer 360's and the call screen's reads (api part) -------------------



def renewal_contact_overdue_q(now: dt.datetime) -> Q:
    """Contacts in progress (their follow-up task open or claimed) whose call's deadline has passed."""
    return Q(task__status__in=ACTIVE_STATUSES, task__due_at__lte=now)


def renewal_start_counts(*, user, store_ids, now: dt.datetime, claims: bool = True) -> dict[str, int]:
    """The start-page numbers, each the count of the list its card links to (`renewal_case_narrow`): in one
    aggregate query, open cases to call today and with an overdue call — nobody's or the user's, and nobody's
    (the managers' card); with `claims`, in a second one, the cases with open claim assistance."""
    ids = _store_ids(user, store_ids)
    cases = RenewalCase.objects.filter(store_id__in=ids, state=CaseState.OPEN).order_by()
    today = renewal_case_due_q(user=user, today=business_date(now))
    overdue = Q(pk__in=RenewalContact.objects.filter(renewal_contact_overdue_q(now)).values("case_id"))
    free = Q(holder__isnull=True)
    mine = free | Q(holder=user)
    n = cases.aggregate(
        today=Count("pk", filter=today & mine),
        overdue=Count("pk", filter=overdue & mine),
        unclaimed_today=Count("pk", filter=today & free),
        unclaimed_overdue=Count("pk", filter=overdue & free),
    )
    if claims:
        n["claims"] = cases.filter(
            pk__in=ClaimAssist.objects.filter(store_id__in=ids, state=ClaimAssistState.OPEN).values("case_id")
        ).count()
    return n


def renewal_customer_cases(*, user, customer, limit: int) -> list[RenewalCase]:
    """The customer's renewal cases in scope, latest expiry first, at most `limit`."""
    return list(renewal_case_list(user=user).filter(customer=customer).order_by("-expiry_date", "-id")[:limit])


def claim_assist_customer_open(*, user, customer, limit: int) -> list[ClaimAssist]:
    """The customer's open claim assistance in scope, latest report first, at most `limit`."""
    rows = claim_assist_list(user=user).filter(customer=customer, state=ClaimAssistState.OPEN)
    return list(rows.order_by("-reported_on", "-id")[:limit])


def claim_assist_get(*, user, pk) -> ClaimAssist:
    """One claim-assist item in scope; another store's id is a 404."""
    return get_scoped_or_404(claim_assist_list(user=user).select_related("case", "opened_by"), pk=pk)


def renewal_case_for_task(*, user, task) -> RenewalCase | None:
    """The renewal case a follow-up task (a renewal contact) is about, in scope, with its contacts (`contact_rows`,
    by number); None for other tasks."""
    contact = (
        renewal_contact_list(user=user).filter(task_id=task.pk)
        .select_related("case__vehicle", "case__store", "case__holder").first()
    )
    if contact is None:
        return None
    case = contact.case
    case.contact_rows = list(renewal_contact_list(user=user).filter(case_id=case.pk).order_by("number"))
    return case
