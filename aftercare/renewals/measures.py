"""Scoped reads of the renewal measures (seed 000 p9–13): the monthly table of policies sold and renewal rates, its
breakdowns by segment, specialist and insurer, and the reasons for loss (战败分析).

Set-based: every figure comes from a handful of `GROUP BY` queries whatever the number of stores, months or cases
(`renewal_monthly_table`: two; `renewal_breakdowns`: five). Definitions: docs/kpis.md ("Insurance renewals",
"Renewal segments"). Premium amounts are None for users without `renewal.premium`.

- Policies sold (the seed's 单数 / 金额 rows): `customers.InsurancePolicy` of the store by the month of its start
  date — kind `new_car` (new-car policies) and kind `renewal` (renewals sold here).
- Cases: `RenewalCase` by the month of its expiry date, every segment, estimated expiries included; the state is
  what happened (an imported renewal makes a case renewed here whatever the specialist recorded).
"""

import datetime as dt
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth

from aftercare.customers.choices import PolicyKind
from aftercare.customers.models import InsurancePolicy
from aftercare.org.calendar import month_add
from aftercare.org.kpis import rate
from aftercare.org.models import Staff

from .choices import CaseState
from .models import RenewalCase
from .selectors import _store_ids, may_see_premiums

# Figures of one store-month (or a sum of them); policies by start month, cases by expiry month.
POLICY_FIELDS = ("new_car_count", "new_car_premium", "renewal_count", "renewal_premium")
CASE_FIELDS = (
    "expiring", "renewed_here", "renewed_elsewhere", "not_renewed", "lapsed", "open", "effective",
    "expiring_filed", "renewed_filed",
)
FIELDS = POLICY_FIELDS + CASE_FIELDS
PREMIUM_FIELDS = ("new_car_premium", "renewal_premium")
LOST_STATES = (CaseState.RENEWED_ELSEWHERE, CaseState.NOT_RENEWED)


def empty_figures() -> dict:
    return {name: (Decimal(0) if name in PREMIUM_FIELDS else 0) for name in FIELDS}


def add_figures(into: dict, other: dict) -> dict:
    for name in FIELDS:
        into[name] += other[name]
    return into


def with_rates(figures: dict, *, premiums: bool) -> dict:
    """The figures with their rates; premium amounts None unless `premiums`."""
    out = dict(figures)
    out["renewal_rate"] = rate(figures["renewed_here"], figures["expiring"])
    out["renewal_rate_filed"] = rate(figures["renewed_filed"], figures["expiring_filed"])
    out["effective_contact_rate"] = rate(figures["effective"], figures["expiring"])
    if not premiums:
        for name in PREMIUM_FIELDS:
            out[name] = None
    return out


def _month(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _case_counts():
    state = {s: Count("id", filter=Q(state=s)) for s in CaseState.values}
    return {
        "expiring": Count("id"),
        "renewed_here": state[CaseState.RENEWED_HERE],
        "renewed_elsewhere": state[CaseState.RENEWED_ELSEWHERE],
        "not_renewed": state[CaseState.NOT_RENEWED],
        "lapsed": state[CaseState.LAPSED],
        "open": state[CaseState.OPEN],
        "effective": Count("id", filter=Q(contacts_made__gte=1)),
        "expiring_filed": Count("id", filter=Q(expiry_estimated=False)),
        "renewed_filed": Count("id", filter=Q(expiry_estimated=False, state=CaseState.RENEWED_HERE)),
    }


def renewal_policy_sales(*, user, store_ids=None, since: dt.date, until: dt.date) -> list[dict]:
    """`[{store_id, month, kind, count, premium}]`: the stores' new-car and renewal policies by start month in
    `[since, until)` (one query; premium None without `renewal.premium`)."""
    ids = _store_ids(user, store_ids)
    rows = (
        InsurancePolicy.objects.filter(store_id__in=ids, start_date__gte=since, start_date__lt=until)
        .annotate(month=TruncMonth("start_date"))
        .values("store_id", "month", "kind")
        .annotate(count=Count("id"), premium=Sum("premium"))
        .order_by()
    )
    premiums = may_see_premiums(user)
    return [
        {**r, "month": _month(r["month"]), "premium": (r["premium"] or Decimal(0)) if premiums else None}
        for r in rows
    ]


def renewal_case_counts(*, user, store_ids=None, since: dt.date, until: dt.date) -> list[dict]:
    """`[{store_id, month, segment, expiring, renewed_here, …}]`: the stores' cases by expiry month in
    `[since, until)` and segment, counted by state (one query)."""
    ids = _store_ids(user, store_ids)
    rows = (
        RenewalCase.objects.filter(store_id__in=ids, expiry_date__gte=since, expiry_date__lt=until)
        .annotate(month=TruncMonth("expiry_date"))
        .values("store_id", "month", "segment")
        .annotate(**_case_counts())
        .order_by()
    )
    return [{**r, "month": _month(r["month"])} for r in rows]


def year_months(year: int) -> list[dt.date]:
    return [dt.date(year, m, 1) for m in range(1, 13)]


def renewal_monthly_table(*, user, store_ids=None, year: int) -> dict:
    """The seed's monthly table of `year` for the stores in scope (two queries):

    `{"months": [12 firsts], "stores": {store id: {month: figures}}, "segments": {(store id, segment): {month:
    figures}}, "total": {month: figures}}` — figures as `FIELDS` (premiums Decimal, or None without
    `renewal.premium`), without rates (`with_rates` adds them to any sum)."""
    since, until = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    months = year_months(year)
    stores: dict[int, dict] = {}
    segments: dict[tuple[int, str], dict] = {}
    total = {m: empty_figures() for m in months}

    def cell(table, key, month):
        return table.setdefault(key, {m: empty_figures() for m in months})[month]

    for r in renewal_policy_sales(user=user, store_ids=store_ids, since=since, until=until):
        if r["kind"] not in PolicyKind.values:
            continue
        prefix = "new_car" if r["kind"] == PolicyKind.NEW_CAR else "renewal"
        for target in (cell(stores, r["store_id"], r["month"]), total[r["month"]]):
            target[f"{prefix}_count"] += r["count"]
            target[f"{prefix}_premium"] += r["premium"] or 0
    for r in renewal_case_counts(user=user, store_ids=store_ids, since=since, until=until):
        for target in (cell(stores, r["store_id"], r["month"]), cell(segments, (r["store_id"], r["segment"]),
                                                                      r["month"]), total[r["month"]]):
            for name in CASE_FIELDS:
                target[name] += r[name]
    return {"months": months, "stores": stores, "segments": segments, "total": total,
            "premiums": may_see_premiums(user)}


def _names(user_ids) -> dict[int, str]:
    found = {}
    for staff in Staff.objects.filter(user_id__in=[u for u in user_ids if u]).select_related("user"):
        found[staff.user_id] = staff.display_name or staff.user.get_username()
    return found


def renewal_breakdowns(*, user, store_ids=None, month: dt.date) -> dict:
    """The month's breakdowns for the stores in scope (five queries):

    - `specialists`: per specialist (the case's holder, as the list's `holder` filter; None: nobody holds it)
      the cases expiring in the month, with an effective contact, renewed here, elsewhere, not renewed, and the
      premium recorded on those renewed here;
    - `insurers`: new-car and renewal policies sold in the month per insurer (count, premium);
    - `lost_to`: cases renewed elsewhere per insurer named in the outcome;
    - `reasons`: the cases renewed elsewhere or not renewed per reason code, with their share of those.
    """
    ids = _store_ids(user, store_ids)
    until = month_add(month, 1)
    premiums = may_see_premiums(user)
    cases = RenewalCase.objects.filter(store_id__in=ids, expiry_date__gte=month, expiry_date__lt=until)
    specialists = list(
        cases.annotate(specialist=F("holder_id"))
        .values("specialist")
        .annotate(**_case_counts(), premium=Sum("outcome_premium", filter=Q(state=CaseState.RENEWED_HERE)))
        .order_by()
    )
    names = _names(r["specialist"] for r in specialists)
    for r in specialists:
        r["name"] = names.get(r["specialist"], "") if r["specialist"] else ""
        r["renewal_rate"] = rate(r["renewed_here"], r["expiring"])
        r["effective_contact_rate"] = rate(r["effective"], r["expiring"])
        r["premium"] = (r["premium"] or Decimal(0)) if premiums else None
    specialists.sort(key=lambda r: (r["specialist"] is None, -r["expiring"], r["name"]))

    insurers: dict[str, dict] = {}
    sold = (
        InsurancePolicy.objects.filter(store_id__in=ids, start_date__gte=month, start_date__lt=until)
        .values("insurer", "kind")
        .annotate(count=Count("id"), premium=Sum("premium"))
        .order_by()
    )
    for r in sold:
        row = insurers.setdefault(r["insurer"], {"insurer": r["insurer"], **{f: 0 for f in POLICY_FIELDS}})
        prefix = "new_car" if r["kind"] == PolicyKind.NEW_CAR else "renewal"
        row[f"{prefix}_count"] += r["count"]
        row[f"{prefix}_premium"] += r["premium"] or 0
    insurer_rows = sorted(insurers.values(), key=lambda r: (-(r["new_car_count"] + r["renewal_count"]), r["insurer"]))
    if not premiums:
        for r in insurer_rows:
            r["new_car_premium"] = r["renewal_premium"] = None

    lost_to = list(
        cases.filter(state=CaseState.RENEWED_ELSEWHERE).values("outcome_insurer").annotate(count=Count("id"))
        .order_by("-count", "outcome_insurer")
    )

    reasons: dict[str, dict] = {}
    lost_rows = cases.filter(state__in=LOST_STATES).values("outcome_reason", "state").annotate(count=Count("id"))
    for r in lost_rows.order_by():
        row = reasons.setdefault(r["outcome_reason"], {"reason": r["outcome_reason"], "renewed_elsewhere": 0,
                                                       "not_renewed": 0, "count": 0})
        row[r["state"]] += r["count"]
        row["count"] += r["count"]
    lost = sum(r["count"] for r in reasons.values())
    reason_rows = sorted(reasons.values(), key=lambda r: (-r["count"], r["reason"]))
    for r in reason_rows:
        r["share"] = rate(r["count"], lost)
    return {"month": month, "specialists": specialists, "insurers": insurer_rows, "lost_to": lost_to,
            "reasons": reason_rows, "lost": lost, "premiums": premiums}


def renewal_measure_totals(*, user, store_ids=None, since: dt.date, until: dt.date) -> dict[int, dict]:
    """`{store id: figures}` summed over `[since, until)` (two queries): what the KPI catalogue's compute hooks
    read."""
    out: dict[int, dict] = {}
    for r in renewal_policy_sales(user=user, store_ids=store_ids, since=since, until=until):
        prefix = "new_car" if r["kind"] == PolicyKind.NEW_CAR else "renewal"
        figures = out.setdefault(r["store_id"], empty_figures())
        figures[f"{prefix}_count"] += r["count"]
        figures[f"{prefix}_premium"] += r["premium"] or 0
    for r in renewal_case_counts(user=user, store_ids=store_ids, since=since, until=until):
        figures = out.setdefault(r["store_id"], empty_figures())
        for name in CASE_FIELDS:
            figures[name] += r[name]
    return out


def renewal_policy_sold_list(*, user, store_ids=None, since: dt.date, until: dt.date, kind: str = "",
                             insurer: str = ""):
    """The policies behind a figure of policies sold: the stores' policies starting in `[since, until)`, of one
    kind and insurer if given, earliest first (customer and vehicle joined; premiums are the view's to hide)."""
    qs = InsurancePolicy.objects.filter(store_id__in=_store_ids(user, store_ids), start_date__gte=since,
                                        start_date__lt=until)
    if kind:
        qs = qs.filter(kind=kind)
    if insurer:
        qs = qs.filter(insurer=insurer)
    return qs.select_related("store", "customer", "vehicle").order_by("start_date", "id")
