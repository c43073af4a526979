"""Scoped reads of the care app: every selector takes the acting user and reads only the stores they may see."""

# ---- classes: class counts, flows, churn rate, churn reasons, win-back list (docs/care.md, "Classes and churn") ----
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.http import Http404

from aftercare.customers.choices import LossReason
from aftercare.customers.models import RepairOrder
from aftercare.followups.choices import TaskStatus
from aftercare.org.calendar import month_add
from aftercare.org.kpis import rate
from aftercare.org.permissions import Perm, has_any_perm
from aftercare.org.scoping import get_scoped_or_404, visible_store_ids

from .choices import CampaignState, CustomerClass, RecallVehicleState, TargetState
from .models import (
    Campaign,
    CampaignTarget,
    CareProfile,
    ChurnModel,
    ChurnReason,
    ChurnScore,
    ClassChange,
    ClassFlowMonth,
    Recall,
    RecallVehicle,
    churn_risk_of,  # a customer's churn risk as an expression: every reader's one name (also for others)
)
from .visits import counted

# Classes of the churn rate's base at a month's start.
BASE_CLASSES = (CustomerClass.LOYAL, CustomerClass.REGULAR, CustomerClass.NEW)
CLASS_ORDER = (CustomerClass.NEW, CustomerClass.LOYAL, CustomerClass.REGULAR, CustomerClass.LOST)
NONE = "none"  # the "from" of a customer not yet classified at the month's start


MANAGERS = (Perm.CARE_MANAGE,)  # customer classes, their flows, churn risk and the reminder rules: care.manage only


def care_store_ids(user, store_ids=None, perms: tuple[str, ...] = (Perm.CARE_WORK, Perm.CARE_MANAGE)
                   ) -> frozenset[int]:
    """The stores of care rows the user may read: visible ones (within `store_ids` when given), none without one of
    `perms` (default: care.work or care.manage)."""
    if not has_any_perm(user, *perms):
        return frozenset()
    visible = visible_store_ids(user)
    return visible if store_ids is None else visible & frozenset(store_ids)


def _class_on(before: dt.date):
    """The class of the profile's customer at 00:00 of `before`: its latest change dated before that day."""
    return Subquery(
        ClassChange.objects.filter(customer_id=OuterRef("customer_id"), on_date__lt=before)
        .order_by("-on_date", "-id").values("to_class")[:1]
    )


def class_month_profiles(*, store_ids, month: dt.date) -> QuerySet[CareProfile]:
    """Profiles of the stores annotated `c0` (class at the month's start, None: not yet classified) and `c1` (class
    at the month's end), only those classified by the month's end."""
    first = month.replace(day=1)
    return (
        CareProfile.objects.filter(store_id__in=list(store_ids))
        .annotate(c0=_class_on(first), c1=_class_on(month_add(first, 1)))
        .filter(c1__isnull=False)
    )


# Each change holds from its day until the next change's (`LEAD`); the month boundaries (00:00 of each month's first
# day, `b_0 … b_n`) it covers are `kmin … kmax` (computed by comparisons, no join). The intervals covering at least
# one boundary follow each other boundary by boundary, so the one before (`LAG`) holds the class at `b_{kmin - 1}`.
_FLOWS_SQL = """
WITH ch AS (
    SELECT c.store_id, c.customer_id, c.to_class, c.on_date, c.id,
        LEAD(c.on_date) OVER (PARTITION BY c.customer_id ORDER BY c.on_date, c.id) AS next_on
    FROM {changes} c WHERE c.store_id IN ({stores}) AND c.on_date < %s
), iv AS (
    SELECT ch.store_id, ch.customer_id, ch.to_class, ch.on_date, ch.id,
        CASE {kmin} ELSE {n_plus_1} END AS kmin,
        CASE WHEN ch.next_on IS NULL THEN {n} {kmax} ELSE -1 END AS kmax
    FROM ch
), cov AS (
    SELECT iv.store_id, iv.kmin, iv.kmax, iv.to_class,
        LAG(iv.to_class) OVER (PARTITION BY iv.customer_id ORDER BY iv.on_date, iv.id) AS prev
    FROM iv WHERE iv.kmin <= iv.kmax
)
SELECT cov.store_id, cov.kmin, cov.kmax, cov.prev, cov.to_class, COUNT(*)
FROM cov GROUP BY cov.store_id, cov.kmin, cov.kmax, cov.prev, cov.to_class
"""


def _flow_cell() -> dict:
    return {"flows": defaultdict(int), "start": defaultdict(int), "end": defaultdict(int)}


def _flow_totals(cell: dict) -> dict:
    base = sum(cell["start"][c] for c in BASE_CLASSES)
    churned = sum(cell["flows"][(c, CustomerClass.LOST)] for c in BASE_CLASSES)
    end_base = sum(cell["end"][c] for c in BASE_CLASSES)
    cell.update(base=base, churned=churned, churn_rate=rate(churned, base),
                loyal=cell["end"][CustomerClass.LOYAL], end_base=end_base,
                loyal_share=rate(cell["end"][CustomerClass.LOYAL], end_base))
    return cell


def class_flows_by_store_months_history(*, store_ids, first: dt.date, count: int) -> list[dict[int, dict]]:
    """As `class_flows_by_store_months`, read from the class history itself in one grouped query (its former way,
    a sort of every change of the stores: 10 s at 3 M changes): the definition the month summary is checked against
    (tests, bench).

    The class of a customer at 00:00 of a month's first day is the `to_class` of their latest change dated before
    it (see `_FLOWS_SQL`). Only customers classified by a month's end count in that month; from is `NONE` for one
    classified during it."""
    ids = sorted(store_ids)
    first = first.replace(day=1)
    days = [month_add(first, k) for k in range(count + 1)]
    out: list[dict[int, dict]] = [{sid: _flow_cell() for sid in ids} for _ in range(count)]
    if ids and count > 0:
        adapt = connection.ops.adapt_datefield_value
        n = len(days) - 1
        sql = _FLOWS_SQL.format(
            changes=ClassChange._meta.db_table, stores=", ".join(["%s"] * len(ids)), n=n, n_plus_1=n + 1,
            kmin=" ".join(f"WHEN ch.on_date < %s THEN {k}" for k in range(n + 1)),
            kmax=" ".join(f"WHEN ch.next_on >= %s THEN {k}" for k in range(n, -1, -1)),
        )
        params = [*ids, adapt(days[-1]), *(adapt(d) for d in days), *(adapt(d) for d in reversed(days))]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        for store_id, kmin, kmax, c0, c1, num in rows:
            # boundary k ends month k - 1: unchanged through the months whose both ends the interval covers;
            # from the class before (none: first classified) in the month it starts
            for k in range(max(kmin, 0) + 1, kmax + 1):
                cell = out[k - 1][store_id]
                cell["flows"][(c1, c1)] += num
                cell["start"][c1] += num
                cell["end"][c1] += num
            if kmin >= 1:
                cell = out[kmin - 1][store_id]
                cell["flows"][(c0 or NONE, c1)] += num
                if c0:
                    cell["start"][c0] += num
                cell["end"][c1] += num
    for month in out:
        for cell in month.values():
            _flow_totals(cell)
    return out


# The summary rows of the months `[first, end)` and, per store, of its latest summarized month up to `first` (whose
# end a month without rows carries: no class changed since).
_FLOW_MONTHS_SQL = """
SELECT f.store_id, f.month, f.from_class, f.to_class, f.customers FROM {fm} f
WHERE f.store_id IN ({stores}) AND f.month < %s AND f.month >= COALESCE(
    (SELECT MAX(p.month) FROM {fm} p WHERE p.store_id = f.store_id AND p.month <= %s), %s)
"""


def class_flows_by_store_months(*, store_ids, first: dt.date, count: int) -> list[dict[int, dict]]:
    """For each of the `count` months from `first`, per store: {"flows": {(from, to): n}, "start": {class: n},
    "end": {class: n}, "churned", "base", "churn_rate", "loyal", "end_base", "loyal_share"} — in one query over the
    month summary the daily classification writes (`ClassFlowMonth`, a few rows a store and month), whatever the
    customers.

    The class of a customer at 00:00 of a month's first day is the `to_class` of their latest change dated before
    it. Only customers classified by a month's end count in that month; from is `NONE` for one classified during
    it. A month after a store's last summarized one carries its end (no change since); one before its first has
    nobody. The same figures as `class_flows_by_store_months_history` (tested)."""
    ids = sorted(store_ids)
    first = first.replace(day=1)
    out: list[dict[int, dict]] = [{sid: _flow_cell() for sid in ids} for _ in range(count)]
    if ids and count > 0:
        adapt = connection.ops.adapt_datefield_value
        sql = _FLOW_MONTHS_SQL.format(fm=ClassFlowMonth._meta.db_table, stores=", ".join(["%s"] * len(ids)))
        with connection.cursor() as cursor:
            cursor.execute(sql, [*ids, adapt(month_add(first, count)), adapt(first), adapt(first)])
            rows = cursor.fetchall()
        by_store: dict[int, dict] = defaultdict(lambda: defaultdict(list))
        for store_id, month, c0, c1, num in rows:
            if not isinstance(month, dt.date):
                month = dt.date.fromisoformat(str(month)[:10])
            by_store[store_id][month].append((c0, c1, num))
        for store_id, months in by_store.items():
            carried: dict[str, int] = {}  # the end of the latest summarized month so far
            seed = [m for m in months if m < first]
            if seed:
                carried = _ends(months[max(seed)])
            for k in range(count):
                cell = out[k][store_id]
                got = months.get(month_add(first, k))
                if got is not None:
                    carried = _ends(got)
                    for c0, c1, num in got:
                        cell["flows"][(c0 or NONE, c1)] += num
                        if c0:
                            cell["start"][c0] += num
                        cell["end"][c1] += num
                else:
                    for c, num in carried.items():
                        cell["flows"][(c, c)] += num
                        cell["start"][c] += num
                        cell["end"][c] += num
    for month in out:
        for cell in month.values():
            _flow_totals(cell)
    return out


def _ends(rows) -> dict[str, int]:
    ends: dict[str, int] = defaultdict(int)
    for _c0, c1, num in rows:
        ends[c1] += num
    return ends


def class_flows_by_store(*, store_ids, month: dt.date) -> dict[int, dict]:
    """Per store, for `month` (see `class_flows_by_store_months`): one query."""
    return class_flows_by_store_months(store_ids=store_ids, first=month, count=1)[0]


def class_flows_months(*, user, first: dt.date, count: int, store_ids=None) -> list[dict]:
    """The `count` months from `first`, each the stores in scope summed: flows {(from, to): n}, start and end
    counts, churned, base, churn rate and loyal share (one query for all the months)."""
    ids = care_store_ids(user, store_ids, perms=MANAGERS)
    out = []
    for k, per_store in enumerate(class_flows_by_store_months(store_ids=ids, first=first, count=count)):
        total = _flow_cell()
        for cell in per_store.values():
            for key in ("flows", "start", "end"):
                for c, n in cell[key].items():
                    total[key][c] += n
        _flow_totals(total)
        out.append({
            "month": month_add(first.replace(day=1), k),
            "flows": dict(total["flows"]),
            "start": {c: total["start"][c] for c in CLASS_ORDER},
            "end": {c: total["end"][c] for c in CLASS_ORDER},
            "base": total["base"],
            "churned": total["churned"],
            "churn_rate": total["churn_rate"],
            "loyal_share": total["loyal_share"],
        })
    return out


def class_flows(*, user, month: dt.date, store_ids=None) -> dict:
    """The stores in scope summed, for `month`: flows {(from, to): n}, start and end counts, churned, base, churn
    rate and loyal share (one query)."""
    return class_flows_months(user=user, first=month, count=1, store_ids=store_ids)[0]


# One customer a row: the changes before the month's end, latest first (`ROW_NUMBER`, and `LAG` the day of the change
# after it, one window); the first holds the class at the month's end, the first dated before the month's start the
# class at its start (none: no such row).
_FLOW_CUSTOMERS_SQL = """
SELECT h.customer_id FROM (
    SELECT c.customer_id, c.to_class, c.on_date,
        ROW_NUMBER() OVER (PARTITION BY c.customer_id ORDER BY c.on_date DESC, c.id DESC) AS r,
        LAG(c.on_date) OVER (PARTITION BY c.customer_id ORDER BY c.on_date DESC, c.id DESC) AS later_on
    FROM {changes} c WHERE c.store_id IN ({stores}) AND c.on_date < %s
) h
WHERE h.r = 1 OR (h.on_date < %s AND h.later_on >= %s)
GROUP BY h.customer_id
HAVING {c1} AND {c0}
"""

# A flow's "from" or "to" beside one class: the churn rate's base (loyal, regular or new), any class ("", only
# classified customers count at a month's end), or for "from" not yet classified (`NONE`)
BASE = "base"


def _classes_of(value: str) -> tuple[str, ...] | None:
    """The classes a flow's end names (`BASE`, one class), None for any."""
    return None if value == "" else tuple(BASE_CLASSES) if value == BASE else (value,)


def class_flow_customers(*, user, month: dt.date, from_class: str, to_class: str, store_ids=None) -> QuerySet:
    """The profiles behind one cell of the flows matrix (from `NONE`: classified during the month) or a sum of cells
    (`BASE`: loyal, regular or new; "": any class): the customers' classes at the month's start and end read in one
    pass over the class history (`_FLOW_CUSTOMERS_SQL`), the profiles joined once — the same customers as
    `class_month_profiles` filtered on `c0`, `c1`. The churn rate's rows: from `BASE` to lost (numerator), from
    `BASE` to any (denominator); the loyal share's: from any to loyal, from any to `BASE`."""
    ids = sorted(care_store_ids(user, store_ids, perms=MANAGERS))
    if not ids:
        return CareProfile.objects.none()
    first = month.replace(day=1)
    adapt = connection.ops.adapt_datefield_value
    start = "MAX(CASE WHEN h.on_date < %s THEN h.to_class END)"
    end = "MAX(CASE WHEN h.r = 1 THEN h.to_class END)"
    params: list = [*ids, adapt(month_add(first, 1)), adapt(first), adapt(first)]
    to_classes, from_classes = _classes_of(to_class), _classes_of(from_class)
    c1 = "1 = 1" if to_classes is None else f"{end} IN ({', '.join(['%s'] * len(to_classes))})"
    params += list(to_classes or ())
    if from_class == NONE:
        c0 = f"{start} IS NULL"
        params.append(adapt(first))
    elif from_classes is None:
        c0 = "1 = 1"
    else:
        c0 = f"{start} IN ({', '.join(['%s'] * len(from_classes))})"
        params += [adapt(first), *from_classes]
    sql = _FLOW_CUSTOMERS_SQL.format(changes=ClassChange._meta.db_table, stores=", ".join(["%s"] * len(ids)),
                                     c0=c0, c1=c1)
    return (CareProfile.objects.filter(store_id__in=ids, customer_id__in=RawSQL(sql, params))
            .select_related("customer", "store").order_by("-spend_12m", "customer_id"))


def class_counts(*, user, store_ids=None) -> dict[str, int]:
    """Customers of each class today (the profiles' current class)."""
    ids = care_store_ids(user, store_ids, perms=MANAGERS)
    rows = (CareProfile.objects.filter(store_id__in=ids, classified_on__isnull=False)
            .values("customer_class").annotate(n=Count("id")).order_by())
    got = {r["customer_class"]: r["n"] for r in rows}
    return {c: got.get(c, 0) for c in CLASS_ORDER}


def churn_reason_shares(*, user, since: dt.date, until: dt.date, store_ids=None) -> list[dict]:
    """Churn reasons recorded in `[since, until)`: each reason with its count and share (%), largest first (each
    customer once: their latest reason of the period)."""
    ids = care_store_ids(user, store_ids, perms=MANAGERS)
    period = ChurnReason.objects.filter(store_id__in=ids, recorded_on__gte=since, recorded_on__lt=until)
    latest = period.filter(customer_id=OuterRef("customer_id")).order_by("-recorded_on", "-id").values("id")[:1]
    rows = (period.filter(id=Subquery(latest)).values("reason").annotate(n=Count("id")).order_by("-n", "reason"))
    total = sum(r["n"] for r in rows)
    labels = dict(LossReason.choices)
    return [{"reason": r["reason"], "label": labels.get(r["reason"], r["reason"]), "n": r["n"],
             "share": rate(r["n"], total)} for r in rows]


def _latest_reason(field: str):
    return Subquery(ChurnReason.objects.filter(customer_id=OuterRef("customer_id"))
                    .order_by("-recorded_on", "-id").values(field)[:1])


def winback_list(*, user, store_ids=None) -> QuerySet[CareProfile]:
    """Lost customers of the stores in scope, the largest spend of 12 months first, with their latest churn
    reason (`reason`, `reason_note`)."""
    ids = care_store_ids(user, store_ids, perms=MANAGERS)
    return (
        CareProfile.objects.filter(store_id__in=ids, customer_class=CustomerClass.LOST, customer__is_active=True)
        .select_related("customer", "store")
        .annotate(reason=_latest_reason("reason"), reason_note=_latest_reason("note"))
        .order_by("-spend_12m", "-last_visit_at", "customer_id")
    )


def customer_class_get(*, user, customer) -> dict | None:
    """A customer's class (None: not yet classified), with its class history (latest first) and latest churn
    reason; None also when the user may not see classes (`care.work` or `care.manage`) or the customer's store."""
    if not has_any_perm(user, Perm.CARE_WORK, Perm.CARE_MANAGE):
        return None
    if customer.store_id not in visible_store_ids(user):
        raise Http404
    prof = CareProfile.objects.filter(customer_id=customer.pk, classified_on__isnull=False).first()
    history = list(ClassChange.objects.filter(customer_id=customer.pk).order_by("-on_date", "-id")[:12])
    reason = ChurnReason.objects.filter(customer_id=customer.pk).order_by("-recorded_on", "-id").first()
    return {"profile": prof, "history": history, "reason": reason}


def newly_lost_count(*, user, store_ids, since: dt.date) -> int:
    """Customers of the stores who became lost since `since` (a class change to lost on or after it)."""
    ids = care_store_ids(user, store_ids, perms=MANAGERS)
    return (ClassChange.objects.filter(store_id__in=ids, to_class=CustomerClass.LOST, on_date__gte=since)
            .exclude(Q(from_class="") | Q(from_class=CustomerClass.LOST)).values("customer_id").distinct().count())


# ---- churn: scoped reads of the churn-risk score ----


def churn_risk_list(*, user, store_ids=None):
    """The scores of the stores in scope, highest risk first, with customer, store and the customer's last counted
    visit (`last_visit_at`, from the care profile)."""
    ids = care_store_ids(user, store_ids, perms=MANAGERS)
    return (ChurnScore.objects.filter(store_id__in=ids).select_related("customer", "store")
            .annotate(last_visit_at=F("customer__care_profile__last_visit_at")).order_by("-risk", "customer_id"))


def churn_risk_distribution(*, user, store_ids=None) -> list[int]:
    """How many scored customers fall in each 10 % band of risk (0–10 %, …, 90–100 %), in one query."""
    ids = care_store_ids(user, store_ids, perms=MANAGERS)
    qs = ChurnScore.objects.filter(store_id__in=ids)
    counts = qs.aggregate(**{
        f"b{i}": Count("pk", filter=Q(risk__gte=i / 10) & (Q(risk__lt=(i + 1) / 10) if i < 9 else Q()),
                       output_field=IntegerField())
        for i in range(10)
    })
    return [counts[f"b{i}"] or 0 for i in range(10)]


def churn_score_for(*, customer):
    """The churn-risk score of a customer the caller already may see (the 360 page's customer), with the
    customer's last counted visit (`last_visit_at`, from the care profile), or None."""
    return (ChurnScore.objects.filter(customer_id=customer.pk, store_id=customer.store_id)
            .annotate(last_visit_at=F("customer__care_profile__last_visit_at")).first())


def customer_last_visit_at(*, customer):
    """The last counted visit of a customer the caller already may see (from the care profile), or None."""
    return (CareProfile.objects.filter(customer_id=customer.pk, store_id=customer.store_id)
            .values_list("last_visit_at", flat=True).first())


def churn_model_latest():
    """The newest trained churn-risk model row (group-wide), or None."""
    return ChurnModel.objects.defer("model").order_by("-trained_at", "-id").first()


# ---- end churn ----


# ---- remind: reminders (issue 18, "Reminders"; docs/care.md) ----
import datetime as _dt  # noqa: E402

from django.db.models import QuerySet  # noqa: E402

from aftercare.org.permissions import Perm  # noqa: E402

from .choices import ReminderState  # noqa: E402
from .models import Reminder, ReminderRule  # noqa: E402

# reminders that reached the customer (a call task made, an SMS sent): what the success rate counts
CONTACTED_STATES = (ReminderState.CALL, ReminderState.SMS_SENT)


def _overdue_q(today: _dt.date) -> Q:
    """Overdue reminders: due date passed, within the came window, the call still open or the SMS unsent."""
    from aftercare.followups.choices import ACTIVE_STATUSES

    return Q(due_on__lt=today, came_until__gte=today) & (
        Q(task__status__in=ACTIVE_STATUSES) | Q(state=ReminderState.SMS_PENDING))


def reminder_list(*, user, store_ids=None, due: str = "", kind: str = "", today: _dt.date | None = None
                  ) -> QuerySet[Reminder]:
    """The reminders of the stores in scope with customer, vehicle and task, highest churn risk first (unscored
    customers last), then by due date. `due`: "today" (due today), "overdue" (`_overdue_q`), "" (all)."""
    from aftercare.org.calendar import business_date

    today = today or business_date()
    qs = Reminder.objects.filter(store_id__in=care_store_ids(user, store_ids)).select_related(
        "customer", "vehicle", "task")
    if due == "today":
        qs = qs.filter(due_on=today)
    elif due == "overdue":
        qs = qs.filter(_overdue_q(today))
    if kind:
        qs = qs.filter(kind=kind)
    return qs.annotate(churn_risk=churn_risk_of()).order_by(
        F("churn_risk").desc(nulls_last=True), "due_on", "pk")


def reminder_counts(*, user, store_ids=None, today: _dt.date) -> dict[str, int]:
    """Reminders due today and overdue (as `reminder_list` filters them), in one query."""
    return Reminder.objects.filter(store_id__in=care_store_ids(user, store_ids)).aggregate(
        today=Count("pk", filter=Q(due_on=today)), overdue=Count("pk", filter=_overdue_q(today)))


def reminder_rule_list(*, user, store_id: int) -> list[ReminderRule]:
    """The store's reminder rules (defaults seeded first), for a user who may see the store."""
    from .services.remind import reminder_rules_map

    if store_id not in care_store_ids(user, perms=MANAGERS):
        return []
    return sorted(reminder_rules_map([store_id])[store_id].values(), key=lambda r: list(_kind_order()).index(r.kind))


def _kind_order():
    from .choices import ReminderKind

    return ReminderKind.values


def reminder_rule_get(*, user, rule_id: int) -> ReminderRule | None:
    return ReminderRule.objects.filter(pk=rule_id, store_id__in=care_store_ids(user, perms=MANAGERS)
                                       ).select_related("store").first()


def reminder_outcomes(*, store_ids, since: _dt.date, until: _dt.date) -> list[tuple[int, int, bool]]:
    """(reminder id, store id, worked) of the reminders made in `[since, until)` that reached the customer: worked
    when a counted repair order (care/visits.py) of the vehicle — of the customer, for a birthday — was settled from
    the day the reminder was made to the end of its came window, or a booking of the vehicle was made in that window
    (customers/registry.py). Three queries whatever the size; the success rate and its drill-down read it."""
    from aftercare.customers.models import RepairOrder
    from aftercare.customers.registry import bookings_made_at
    from aftercare.org.calendar import business_date, business_day_start

    from .visits import counted

    data = list(Reminder.objects.filter(store_id__in=list(store_ids), made_on__gte=since, made_on__lt=until,
                                        state__in=CONTACTED_STATES)
                .values_list("pk", "store_id", "customer_id", "vehicle_id", "made_on", "came_until"))
    if not data:
        return []
    lo = business_day_start(min(r[4] for r in data))
    hi = business_day_start(max(r[5] for r in data) + _dt.timedelta(days=1))
    vehicles = {r[3] for r in data if r[3] is not None}
    customers = {r[2] for r in data if r[3] is None}
    visits: dict[tuple[str, int], list[_dt.date]] = {}
    orders = counted(RepairOrder.objects.filter(settled_at__gte=lo, settled_at__lt=hi)).filter(
        Q(vehicle_id__in=vehicles) | Q(customer_id__in=customers))
    for vid, cid, at in orders.values_list("vehicle_id", "customer_id", "settled_at"):
        day = business_date(at)
        visits.setdefault(("v", vid), []).append(day)
        visits.setdefault(("c", cid), []).append(day)
    booked = bookings_made_at(vehicles, lo, hi)
    out = []
    for pk, store_id, customer_id, vehicle_id, made_on, came_until in data:
        days = visits.get(("v", vehicle_id) if vehicle_id else ("c", customer_id), [])
        days = days + [business_date(at) for at in booked.get(vehicle_id, ())] if vehicle_id else days
        out.append((pk, store_id, any(made_on <= d <= came_until for d in days)))
    return out


def reminder_success_counts(*, store_ids, since: _dt.date, until: _dt.date) -> dict[int, dict[str, int]]:
    """Per store, the reminders made in `[since, until)` that reached the customer (`contacted`) and of those the
    ones that worked (`worked`; `reminder_outcomes`)."""
    out: dict[int, dict[str, int]] = {}
    for _pk, store_id, worked in reminder_outcomes(store_ids=store_ids, since=since, until=until):
        row = out.setdefault(store_id, {"contacted": 0, "worked": 0})
        row["contacted"] += 1
        row["worked"] += worked
    return out


def reminder_success_rows(*, user, store_ids=None, since: _dt.date, until: _dt.date, worked: bool | None):
    """The reminders behind a success-rate figure (the measures pages' drill-down), of the stores in scope: those
    made in `[since, until)` that reached the customer (`worked` None), and of those the ones that worked or not."""
    ids = care_store_ids(user, store_ids)
    rows = Reminder.objects.filter(store_id__in=ids, made_on__gte=since, made_on__lt=until,
                                   state__in=CONTACTED_STATES)
    if worked is not None:
        outcomes = reminder_outcomes(store_ids=ids, since=since, until=until)
        rows = rows.filter(pk__in=[pk for pk, _sid, ok in outcomes if ok == worked])
    return rows.select_related("customer", "vehicle", "store").order_by("made_on", "id")
# ---- end remind ----


# ---- channels: the delivery log and the message templates ----
import datetime as dt  # noqa: E402

from django.db.models import QuerySet  # noqa: E402

from aftercare.core.text import clean_text  # noqa: E402
from aftercare.followups.choices import MESSAGE_CHANNELS  # noqa: E402
from aftercare.followups.models import LetterLog, MessageTemplate  # noqa: E402
from aftercare.org.calendar import business_day_start  # noqa: E402
from aftercare.org.models import Store  # noqa: E402
from aftercare.org.permissions import Perm  # noqa: E402


def message_log_search(
    *, user, store_ids=None, q: str = "", phone_tail: str = "", status: str = "", channel: str = "",
    purpose: str = "", since: dt.date | None = None, until: dt.date | None = None, customer_id: int | None = None,
) -> QuerySet[LetterLog]:
    """The delivery log: every SMS, e-mail and WeChat message of the stores in scope (the letter log's rows sent
    through a channel), newest first; recorded in `[since, until)`; `q` a customer's name or number."""
    qs = LetterLog.objects.filter(store_id__in=care_store_ids(user, store_ids), channel__in=MESSAGE_CHANNELS)
    q = clean_text(q or "").strip()
    if q:
        qs = qs.filter(Q(customer__name__icontains=q) | Q(customer__number__iexact=q))
    digits = "".join(ch for ch in phone_tail or "" if ch.isdigit())
    if digits:
        qs = qs.filter(customer__mobile__endswith=digits[-11:])
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    if purpose:
        qs = qs.filter(purpose=purpose)
    if since:
        qs = qs.filter(created_at__gte=business_day_start(since))
    if until:
        qs = qs.filter(created_at__lt=business_day_start(until))
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    return qs.select_related("store", "customer").order_by("-created_at", "-id")


def message_template_list(*, user) -> QuerySet[MessageTemplate]:
    """The templates of the user's group: the group's and those of the stores the user sees."""
    ids = care_store_ids(user)
    groups = Store.objects.filter(pk__in=ids).values("group_id")
    return (
        MessageTemplate.objects.filter(group_id__in=groups)
        .filter(Q(store__isnull=True) | Q(store_id__in=ids))
        .select_related("store")
        .order_by("code", "channel", "store_id", "id")
    )


def message_template_get(*, user, pk: int) -> MessageTemplate:
    """One template in scope; another group's or another store's is a 404."""
    template = message_template_list(user=user).filter(pk=pk).first()
    if template is None:
        raise Http404
    return template
# ---- end channels ----


# ---- campaigns: campaigns, their results and recalls ----
# the figures of a campaign's results, each a drill-down to its rows (`campaign_target_rows`)
CAMPAIGN_MEASURES = ("targeted", "reached", "invited", "declined", "unreachable", "came")


def campaign_list(*, user, store_ids=None):
    """The campaigns owned by the stores in scope, newest event first, with their number of targets."""
    return (Campaign.objects.filter(store_id__in=care_store_ids(user, store_ids))
            .select_related("store").annotate(targeted=Count("targets")).order_by("-event_start", "-id"))


def campaigns_running(*, user, store_ids=None, today: dt.date):
    """The launched campaigns of the stores in scope whose event is not over, the soonest event first."""
    return (Campaign.objects.filter(store_id__in=care_store_ids(user, store_ids), state=CampaignState.LAUNCHED,
                                    event_end__gte=today).order_by("event_start", "id"))


def campaign_get(*, user, pk) -> Campaign:
    """One campaign in scope; another store's id is a 404."""
    return get_scoped_or_404(Campaign.objects.filter(store_id__in=care_store_ids(user))
                              .select_related("store", "launched_by", "created_by"), pk=pk)


def _came_orders(campaign: Campaign):
    """Counted repair orders of the target's customer in the campaign's window (Shanghai days, end inclusive)."""
    return counted(RepairOrder.objects.filter(
        customer_id=OuterRef("customer_id"),
        settled_at__gte=business_day_start(campaign.event_start),
        settled_at__lt=business_day_start(campaign.event_end + dt.timedelta(days=1)),
    ))


def campaign_targets(*, user, campaign: Campaign):
    """The campaign's targets in scope, each with `came` (a counted repair order in the window), `revenue` (their
    amounts) and `unreachable` (the state, or the call task ended unreachable)."""
    money = DecimalField(max_digits=14, decimal_places=2)
    revenue = _came_orders(campaign).order_by().values("customer_id").annotate(t=Sum("amount")).values("t")
    return (CampaignTarget.objects.filter(campaign=campaign, store_id__in=care_store_ids(user))
            .annotate(came=Exists(_came_orders(campaign)),
                      revenue=Coalesce(Subquery(revenue, output_field=money), Value(Decimal(0)),
                                        output_field=money)))


def _measure_q(measure: str) -> Q:
    return {
        "targeted": Q(),
        "reached": Q(reached=True),
        "invited": Q(state=TargetState.INVITED),
        "declined": Q(state=TargetState.DECLINED),
        "unreachable": Q(state=TargetState.UNREACHABLE) | Q(reached=False, task__status=TaskStatus.UNREACHABLE),
        "came": Q(came=True),
    }[measure]


def campaign_results(*, user, campaign: Campaign) -> dict:
    """targeted, reached (an answered call recorded), invited (accepted), declined, unreachable, came (a counted
    repair order in the window) and revenue (the amounts of those orders); one query."""
    qs = campaign_targets(user=user, campaign=campaign)
    sums = qs.aggregate(**{f"n_{m}": Count("pk", filter=_measure_q(m)) for m in CAMPAIGN_MEASURES},
                        n_revenue=Sum("revenue", filter=Q(came=True)))
    out = {k[2:]: v for k, v in sums.items()}
    out["revenue"] = out["revenue"] or Decimal(0)
    for m in ("reached", "invited", "came"):
        out[f"{m}_rate"] = (out[m] / out["targeted"]) if out["targeted"] else None
    return out


def campaign_results_by_specialist(*, user, campaign: Campaign) -> list[dict]:
    """Per specialist who recorded outcomes: `specialist` (a name), reached, invited, declined, came, revenue;
    one query."""
    qs = campaign_targets(user=user, campaign=campaign).filter(outcome_by__isnull=False)
    rows = (qs.values("outcome_by_id", "outcome_by__username", "outcome_by__staff__display_name")
            .annotate(n_reached=Count("pk", filter=Q(reached=True)),
                      n_invited=Count("pk", filter=_measure_q("invited")),
                      n_declined=Count("pk", filter=_measure_q("declined")),
                      n_came=Count("pk", filter=Q(came=True)),
                      n_revenue=Sum("revenue", filter=Q(came=True)))
            .order_by("outcome_by__staff__display_name", "outcome_by_id"))
    return [{"user_id": r["outcome_by_id"], "username": r["outcome_by__username"],
             "specialist": r["outcome_by__staff__display_name"] or r["outcome_by__username"],
             "reached": r["n_reached"], "invited": r["n_invited"], "declined": r["n_declined"], "came": r["n_came"],
             "revenue": r["n_revenue"] or Decimal(0)} for r in rows]


def campaigns_starting(*, user, store_ids, since: dt.date, until: dt.date):
    """The launched campaigns of the stores in scope whose event starts in `[since, until)`: the ones the campaign
    measures count in that period."""
    return Campaign.objects.filter(store_id__in=care_store_ids(user, store_ids), event_start__gte=since,
                                   event_start__lt=until, state="launched")


def campaign_measure_targets(*, user, store_ids, since: dt.date, until: dt.date, measure: str):
    """The targets behind a campaign measure's figure (the measures pages' drill-down): of the campaigns starting in
    the period (`campaigns_starting`), the stores' targets counted as `measure` (targeted, reached, came) by each
    campaign's own window (`campaign_targets`); one query a campaign, then the rows."""
    ids = care_store_ids(user, store_ids)
    pks: list[int] = []
    for campaign in campaigns_starting(user=user, store_ids=ids, since=since, until=until):
        rows = campaign_targets(user=user, campaign=campaign).filter(store_id__in=ids).filter(_measure_q(measure))
        pks += rows.values_list("pk", flat=True)
    return (CampaignTarget.objects.filter(pk__in=pks).select_related("campaign", "customer", "vehicle", "store")
            .order_by("campaign__event_start", "campaign_id", "pk"))


def campaign_target_rows(*, user, campaign: Campaign, measure: str = "targeted"):
    """The targets behind one figure of the results, loyal first (the wave), then highest churn risk first (unscored
    customers last), with customer, vehicle and task."""
    if measure not in CAMPAIGN_MEASURES:
        measure = "targeted"
    return (campaign_targets(user=user, campaign=campaign).filter(_measure_q(measure))
            .select_related("customer", "vehicle", "task", "outcome_by", "outcome_by__staff")
            .annotate(churn_risk=churn_risk_of())
            .order_by("wave", F("churn_risk").desc(nulls_last=True), "pk"))


def campaign_target_for_task(*, user, task):
    """The campaign target a call task is about (the call screen's campaign card), or None."""
    return (CampaignTarget.objects.filter(task=task, store_id__in=care_store_ids(user))
            .select_related("campaign", "customer").first())


def campaign_target_get(*, user, pk) -> CampaignTarget:
    return get_scoped_or_404(CampaignTarget.objects.filter(store_id__in=care_store_ids(user))
                              .select_related("campaign", "customer", "task"), pk=pk)


def recall_list(*, user, store_ids=None):
    """The recalls of the stores in scope with their vehicles done, unreachable and open (one query)."""
    return (Recall.objects.filter(store_id__in=care_store_ids(user, store_ids)).select_related("store")
            .annotate(total=Count("vehicles"),
                      done=Count("vehicles", filter=Q(vehicles__state=RecallVehicleState.DONE)),
                      unreachable=Count("vehicles", filter=Q(vehicles__state=RecallVehicleState.UNREACHABLE)))
            .order_by("-started_on", "-id"))


def recall_get(*, user, pk) -> Recall:
    return get_scoped_or_404(recall_list(user=user), pk=pk)


def recall_vehicles(*, user, recall: Recall):
    return (RecallVehicle.objects.filter(recall=recall, store_id__in=care_store_ids(user))
            .select_related("vehicle", "customer", "task").order_by("row_number", "pk"))


def recall_vehicle_for_task(*, user, task):
    """The recall vehicle a call task is about (the call screen's recall card), or None."""
    return (RecallVehicle.objects.filter(task=task, store_id__in=care_store_ids(user))
            .select_related("recall", "vehicle").first())


def recall_vehicle_get(*, user, pk) -> RecallVehicle:
    return get_scoped_or_404(RecallVehicle.objects.filter(store_id__in=care_store_ids(user))
                             .select_related("recall"), pk=pk)
