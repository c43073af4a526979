"""Scoped reads of renewal cases, contacts, gifts and settings (every one filtered to the stores the user may
see, and empty for roles without `renewal.work`)."""

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from aftercare.followups.choices import ACTIVE_STATUSES
from aftercare.org.calendar import business_date
from aftercare.org.permissions import Perm, has_perm
from aftercare.org.scoping import get_scoped_or_404, visible_store_ids

from .choices import CaseState, ClaimAssistState
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


# ---- the API's, the start page's, the customer 360's and the call screen's reads (api part) -------------------

RENEWAL_DUE_CHOICES = ("today", "overdue")


def renewal_contact_due_q(due: str, now: dt.datetime, prefix: str = "") -> Q:
    """Contacts in progress (their follow-up task open or claimed) by when they are due: `overdue` once the call's
    deadline passed; `today` when the contact is due by today (Asia/Shanghai) and its deadline is still ahead.
    `prefix` reaches the contact from another model (e.g. "contacts__")."""
    p = prefix
    active = Q(**{f"{p}task__status__in": ACTIVE_STATUSES})
    if due == "overdue":
        return active & Q(**{f"{p}task__due_at__lte": now})
    if due == "today":
        return active & Q(**{f"{p}due_on__lte": business_date(now), f"{p}task__due_at__gt": now})
    raise ValueError(f"due must be one of {RENEWAL_DUE_CHOICES}")


def renewal_case_narrow(
    qs: QuerySet[RenewalCase], *, due: str = "", unclaimed: bool = False, mine=None, claims: str = "", now=None
) -> QuerySet[RenewalCase]:
    """The list's filters beyond month / segment / state / holder, as the start-page cards link them: open cases
    whose contact is due `today` or `overdue`, `unclaimed` ones, those free for or held by `mine` (a user), and
    (`claims="open"`) cases with open claim assistance. A case has at most one contact in progress: no repeats."""
    if due:
        contacts = RenewalContact.objects.filter(renewal_contact_due_q(due, now or timezone.now()))
        qs = qs.filter(state=CaseState.OPEN, pk__in=contacts.values("case_id"))
    if unclaimed:
        qs = qs.filter(holder__isnull=True)
    if mine is not None:
        qs = qs.filter(Q(holder__isnull=True) | Q(holder=mine))
    if claims == "open":
        qs = qs.filter(pk__in=ClaimAssist.objects.filter(state=ClaimAssistState.OPEN).values("case_id"))
    return qs


def renewal_start_counts(*, user, store_ids, now: dt.datetime, claims: bool = True) -> dict[str, int]:
    """The start-page numbers: in one aggregate query, open cases (held by `user` or nobody's) whose contact is
    due today / overdue, and the same for nobody's cases (managers' card); with `claims`, in a second one, the
    cases with open claim assistance."""
    ids = _store_ids(user, store_ids)
    contacts = RenewalContact.objects.filter(store_id__in=ids, case__state=CaseState.OPEN).order_by()
    free = Q(case__holder__isnull=True)
    mine = free | Q(case__holder=user)
    today, overdue = renewal_contact_due_q("today", now), renewal_contact_due_q("overdue", now)
    n = contacts.aggregate(
        today=Count("case_id", filter=today & mine, distinct=True),
        overdue=Count("case_id", filter=overdue & mine, distinct=True),
        unclaimed_today=Count("case_id", filter=today & free, distinct=True),
        unclaimed_overdue=Count("case_id", filter=overdue & free, distinct=True),
    )
    if claims:
        n["claims"] = (
            ClaimAssist.objects.filter(store_id__in=ids, state=ClaimAssistState.OPEN, case__isnull=False)
            .order_by()
            .aggregate(n=Count("case_id", distinct=True))["n"]
        )
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
