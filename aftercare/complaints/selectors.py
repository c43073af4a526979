"""Scoped reads for feedback: lists, the designee's inbox, the CS manager's board, history and documents."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from aftercare.customers.choices import RepairKind
from aftercare.customers.models import RepairOrder
from aftercare.customers.validators import clean_text
from aftercare.org.calendar import business_date, business_day_start, business_tz, month_add, month_start
from aftercare.org.models import Department, Store
from aftercare.org.permissions import ROLE_PERMISSIONS, Perm, has_perm, role_of
from aftercare.org.scoping import get_scoped_or_404, own_store_ids, visible_store_ids

from . import choices
from . import models as cmodels
from .choices import (
    CATEGORY_DEPARTMENT,
    DEFAULT_DEADLINE_WORKING_DAYS,
    DEFAULT_ESCALATION_TIERS,
    OPEN_STATUSES,
    SUPERVISOR_LEVEL_ROLES,
    FeedbackKind,
    FeedbackStatus,
)
from .models import (
    ComplaintSettings,
    DeadlinePolicy,
    DepartmentDesignee,
    EscalationTier,
    Feedback,
    FeedbackAttachment,
    FeedbackEvent,
)

BOARD_ROWS_PER_STAGE = 50


def _scope(user, store_ids=None) -> frozenset[int]:
    if not has_perm(user, Perm.FEEDBACK_VIEW):
        return frozenset()
    visible = visible_store_ids(user)
    return visible if store_ids is None else visible & frozenset(store_ids)


def overdue_q(now: dt.datetime) -> Q:
    """Forms with the department whose clock runs and whose deadline has passed (half-open: `now >= deadline`)."""
    return Q(status=FeedbackStatus.ROUTED, paused_at__isnull=True, deadline_at__lte=now)


def due_soon_q(now: dt.datetime) -> Q:
    """Forms past their warning instant but not yet overdue."""
    return Q(status=FeedbackStatus.ROUTED, paused_at__isnull=True, warn_at__lte=now, deadline_at__gt=now)


def _with_related(qs: QuerySet[Feedback]) -> QuerySet[Feedback]:
    return qs.select_related("store", "customer", "vehicle", "department", "created_by__staff", "assignee__staff")


def feedback_list(
    *,
    user,
    store_ids=None,
    kind: str = "",
    status: str = "",
    stage: str = "",
    category: str = "",
    severity: str = "",
    department_id: int | None = None,
    assignee=None,
    overdue: bool = False,
    q: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[Feedback]:
    """Feedback of the stores in scope, newest first; `[since, until)` on the time it was recorded.

    `stage` is an alias of `status` ("open" = every stage before archive); `overdue` keeps forms with the
    department past their deadline.
    """
    ids = _scope(user, store_ids)
    if not ids:
        return Feedback.objects.none()
    qs = Feedback.objects.filter(store_id__in=ids)
    if kind:
        qs = qs.filter(kind=kind)
    status = status or stage
    if status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    if severity:
        qs = qs.filter(severity=severity)
    if department_id:
        qs = qs.filter(department_id=department_id)
    if assignee is not None:
        qs = qs.filter(assignee=assignee)
    if overdue:
        qs = qs.filter(overdue_q(now or timezone.now()))
    q = clean_text(q or "").strip()
    if q:
        digits = "".join(ch for ch in q if ch.isdigit())
        cond = Q(customer__name__icontains=q) | Q(customer__number__iexact=q) | Q(text__icontains=q)
        if len(digits) >= 4:
            cond |= Q(customer__mobile__endswith=digits)
        qs = qs.filter(cond)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    return _with_related(qs).order_by("-created_at", "-id")


def feedback_get(*, user, pk) -> Feedback:
    """One feedback record in scope, or 404."""
    return get_scoped_or_404(
        feedback_list(user=user).select_related(
            "followup_task",
            "answer_sheet",
            "call_log",
            "verification_task",
            "returned_by__staff",
            "verified_by__staff",
            "archived_by__staff",
        ),
        pk=pk,
    )


def feedback_for_verification_task(*, user, task) -> Feedback | None:
    """The form whose verification call is `task` (the task was already fetched scoped)."""
    return feedback_list(user=user).filter(verification_task=task).first()


def feedback_event_list(*, user, feedback: Feedback) -> QuerySet[FeedbackEvent]:
    """The form's history, oldest first."""
    return (
        FeedbackEvent.objects.filter(store_id__in=_scope(user), feedback=feedback)
        .select_related("actor__staff")
        .order_by("created_at", "id")
    )


def feedback_attachment_list(*, user, feedback: Feedback) -> QuerySet[FeedbackAttachment]:
    """The form's handling documents, oldest first."""
    return (
        FeedbackAttachment.objects.filter(store_id__in=_scope(user), feedback=feedback)
        .select_related("uploaded_by__staff")
        .order_by("created_at", "id")
    )


def feedback_attachment_get(*, user, pk) -> FeedbackAttachment:
    """A handling document of a form in scope, or 404."""
    return get_scoped_or_404(FeedbackAttachment.objects.filter(store_id__in=_scope(user)), pk=pk)


def _ordered_by_urgency(qs: QuerySet[Feedback], now: dt.datetime) -> QuerySet[Feedback]:
    return qs.annotate(
        urgency=Case(
            When(overdue_q(now), then=Value(0)),
            When(due_soon_q(now), then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    ).order_by("urgency", "deadline_at", "id")


def _escalated_to_role_q(user, store_ids: frozenset[int]) -> Q | None:
    """Forms of `store_ids` escalated to a tier whose role is the user's role (store tiers, else the defaults)."""
    role = role_of(user)
    if role is None or not store_ids:
        return None
    tiers: dict[int, list[tuple[int, str]]] = {}
    for store_id, level, tier_role in EscalationTier.objects.filter(store_id__in=store_ids).values_list(
        "store_id", "level", "role"
    ):
        tiers.setdefault(store_id, []).append((level, tier_role))
    cond = None
    for store_id in store_ids:
        rows = tiers.get(store_id) or [(level, r) for level, r, _days in DEFAULT_ESCALATION_TIERS]
        levels = [level for level, r in rows if r == role]
        if levels:
            c = Q(store_id=store_id, escalation_level__gte=min(levels))
            cond = c if cond is None else cond | c
    return cond


def feedback_inbox(*, user, now: dt.datetime | None = None) -> QuerySet[Feedback]:
    """Open forms with a department that `user` must act on, overdue first, then by deadline.

    The assignee's forms; for supervisor-level roles also the forms of their stores escalated to a tier of
    their role; supervisors also see every complaint (kind `complaint`) of their stores.
    """
    now = now or timezone.now()
    if not has_perm(user, Perm.FEEDBACK_VIEW):
        return Feedback.objects.none()
    own = own_store_ids(user)
    cond = Q(assignee=user)
    if role_of(user) in SUPERVISOR_LEVEL_ROLES:
        escalated = _escalated_to_role_q(user, own)
        if escalated is not None:
            cond |= escalated
        if role_of(user) == "supervisor":
            cond |= Q(store_id__in=own, kind=FeedbackKind.COMPLAINT)
    qs = Feedback.objects.filter(store_id__in=own, status=FeedbackStatus.ROUTED).filter(cond)
    return _ordered_by_urgency(_with_related(qs), now)


BOARD_STAGES = (
    (FeedbackStatus.NEW, "to_route"),
    (FeedbackStatus.ROUTED, "with_department"),
    (FeedbackStatus.HANDLED, "awaiting_verification"),
    (FeedbackStatus.VERIFIED, "awaiting_archive"),
)


def feedback_board(*, user, store_ids=None, now: dt.datetime | None = None) -> dict:
    """Open forms grouped by stage (most urgent first, at most BOARD_ROWS_PER_STAGE each) with counts.

    {"stages": [{"status", "key", "label", "count", "overdue", "due_soon", "rows"}], "total", "overdue", "due_soon"}
    """
    now = now or timezone.now()
    ids = _scope(user, store_ids)
    base = Feedback.objects.filter(store_id__in=ids, status__in=OPEN_STATUSES)
    counts = {
        row["status"]: row
        for row in base.values("status").annotate(
            n=Count("id"), overdue=Count("id", filter=overdue_q(now)), due_soon=Count("id", filter=due_soon_q(now))
        )
    }
    stages = []
    for status, key in BOARD_STAGES:
        c = counts.get(status, {})
        rows = (
            list(_ordered_by_urgency(_with_related(base.filter(status=status)), now)[:BOARD_ROWS_PER_STAGE])
            if c.get("n")
            else []
        )
        stages.append(
            {
                "status": status,
                "key": key,
                "label": FeedbackStatus(status).label,
                "count": c.get("n", 0),
                "overdue": c.get("overdue", 0),
                "due_soon": c.get("due_soon", 0),
                "rows": rows,
            }
        )
    return {
        "stages": stages,
        "total": sum(s["count"] for s in stages),
        "overdue": sum(s["overdue"] for s in stages),
        "due_soon": sum(s["due_soon"] for s in stages),
    }


def department_list(*, user, store_ids=None) -> QuerySet[Department]:
    """Departments of the stores in scope (for choosing the responsible department)."""
    visible = visible_store_ids(user)
    ids = visible if store_ids is None else visible & frozenset(store_ids)
    return Department.objects.filter(store_id__in=ids).select_related("store").order_by("store_id", "kind")


def feedback_handler_choices(*, user, store_ids) -> QuerySet:
    """Active staff of the stores in scope who may handle forms (perm feedback.handle), for routing and designees."""
    roles = [role for role, perms in ROLE_PERMISSIONS.items() if Perm.FEEDBACK_HANDLE in perms]
    ids = visible_store_ids(user) & frozenset(store_ids)
    return (
        get_user_model()
        .objects.filter(staff__stores__in=ids, staff__role__in=roles, is_active=True)
        .select_related("staff__department")
        .distinct()
        .order_by("staff__display_name", "username")
    )


def department_designee_map(*, user, store_id: int) -> dict[int, int]:
    """{department id: designee user id} of one store in scope."""
    if store_id not in _scope(user):
        return {}
    return dict(DepartmentDesignee.objects.filter(store_id=store_id).values_list("department_id", "user_id"))


def deadline_policy_map(*, user, store_id: int) -> dict[tuple[str, str], int]:
    """{(kind, severity): working days} configured for one store in scope (missing = the default)."""
    if store_id not in _scope(user):
        return {}
    return {
        (kind, severity): days
        for kind, severity, days in DeadlinePolicy.objects.filter(store_id=store_id).values_list(
            "kind", "severity", "working_days"
        )
    }


# ---- store settings, read by the workflow services (unscoped: the caller already holds the store) ------------


def complaint_settings_get(*, store_id: int) -> ComplaintSettings:
    """The store's complaint settings (unsaved defaults when the store has no row)."""
    return ComplaintSettings.objects.filter(store_id=store_id).first() or ComplaintSettings(store_id=store_id)


def feedback_deadline_days(*, store_id: int, kind: str, severity: str) -> int:
    """Working days to handle a form of `kind` × `severity` in the store (default 3)."""
    days = (
        DeadlinePolicy.objects.filter(store_id=store_id, kind=kind, severity=severity)
        .values_list("working_days", flat=True)
        .first()
    )
    return days or DEFAULT_DEADLINE_WORKING_DAYS


def escalation_tier_list(*, store_id: int) -> list[tuple[int, str, int]]:
    """The store's escalation tiers as (level, role, working days after the deadline), level order.

    The defaults (supervisor at the deadline, store manager one working day later) apply while the store has none.
    """
    rows = list(
        EscalationTier.objects.filter(store_id=store_id)
        .order_by("level")
        .values_list("level", "role", "working_days_after")
    )
    return rows or [tuple(t) for t in DEFAULT_ESCALATION_TIERS]


def feedback_default_department(*, store_id: int, category: str) -> Department | None:
    """The store's department that handles `category` (None when the store has no such department)."""
    kind = CATEGORY_DEPARTMENT.get(category)
    if kind is None:
        return None
    return Department.objects.filter(store_id=store_id, kind=kind).first()


# ---- measures (complaint KPIs, first-time fix) ---------------------------------------------------------------

# Definitions: docs/kpis.md "Complaints and first-time fix".


# Repair-order kinds that count for first-time fix: repairs. Maintenance (incl. the free first one), car wash,
# internal orders and insurance jobs (a new accident, not a comeback) neither make nor are repeat repairs.
FIRST_TIME_FIX_KINDS = (
    RepairKind.MECHANICAL.value,
    RepairKind.BODY.value,
    RepairKind.PAINT.value,
    RepairKind.WARRANTY_CLAIM.value,
)
# The measures in page order and their targets in % (docs/kpis.md, "Complaints and first-time fix").
MEASURES = ("timeliness", "verification", "supervisor", "first_call", "first_time_fix")
MEASURE_TARGETS = {
    "timeliness": Decimal(100),
    "verification": Decimal(100),
    "supervisor": Decimal(100),
    "first_call": Decimal(100),
    "first_time_fix": Decimal(98),
}
MEASURE_TREND_MONTHS = 6
_ZERO_COUNTS = dict.fromkeys(
    ("t_num", "t_den", "t_pending", "f_num", "f_den", "f_pending", "v_num", "v_den", "v_pending", "s_num", "s_den",
     "r_den", "r_repeated", "r_no_fault"),
    0,
)


def _measure(numerator: int, denominator: int, name: str, pending: int = 0, provisional: bool = False) -> dict:
    rate = None
    if denominator:
        rate = (Decimal(numerator) * 100 / denominator).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    target = MEASURE_TARGETS[name]
    return {
        "numerator": numerator,
        "denominator": denominator,
        "rate": rate,
        "target": target,
        "below_target": rate is not None and rate < target,
        "pending": pending,
        "provisional": provisional or pending > 0,
    }


# The complaint form measures (`complaint_measures_range`) and the form list of their rows
# (`complaint_measure_rows`) count with the one definition here: key → the form's month field and the filters of
# the denominator and the numerator (the numerator's within the denominator's).
MEASURE_ROW_KEYS = ("timeliness", "verification", "supervisor", "first_call")


def complaint_measure_filters(now: dt.datetime) -> dict[str, tuple[str, models.Q, models.Q]]:
    """{measure key: (month field, denominator Q, numerator Q)} of the four form measures at `now`: timeliness and
    first call by the month the form was recorded, verification and supervisor handling by its first return."""
    FS = choices.FeedbackStatus
    Q = models.Q
    not_returned = Q(first_returned_at__isnull=True)
    in_progress = not_returned & (Q(deadline_at__gt=now) | Q(paused_at__isnull=False))
    due = Q(deadline_at__isnull=False) & ~Q(status=FS.CLOSED) & ~in_progress
    first_call_done = _first_call_q() & ~_first_call_open_q(now)
    taken_over = models.Exists(
        cmodels.FeedbackEvent.objects.filter(feedback=models.OuterRef("pk"), action=choices.FeedbackAction.TAKEN_OVER)
    )
    complaint = Q(kind=choices.FeedbackKind.COMPLAINT)
    return {
        "timeliness": ("created_at", due, due & Q(first_returned_in_time=True)),
        "first_call": (
            "created_at",
            first_call_done,
            first_call_done & (Q(first_returned_in_time=True) | Q(status=FS.ARCHIVED)),
        ),
        "verification": ("first_returned_at", Q(), ~Q(verification_result="")),
        "supervisor": (
            "first_returned_at",
            complaint,
            complaint & (Q(returned_by_role__in=choices.SUPERVISOR_LEVEL_ROLES) | Q(taken_over)),
        ),
    }


def _first_call_q() -> models.Q:
    """A complaint or grievance recorded by a follow-up call, not closed as no complaint."""
    return (
        models.Q(source=choices.FeedbackSource.FOLLOWUP_CALL)
        & models.Q(kind__in=[choices.FeedbackKind.COMPLAINT, choices.FeedbackKind.GRIEVANCE])
        & ~models.Q(status=choices.FeedbackStatus.CLOSED)
    )


def _first_call_open_q(now: dt.datetime) -> models.Q:
    """A first-call complaint or grievance still in progress (neither in nor out of the measure yet)."""
    Q = models.Q
    return (
        _first_call_q()
        & Q(first_returned_at__isnull=True)
        & ~Q(status=choices.FeedbackStatus.ARCHIVED)
        & Q(deadline_at__isnull=False)
        & (Q(deadline_at__gt=now) | Q(paused_at__isnull=False))
    )


def complaint_measure_rows(
    *, user, store_ids=None, key: str, numerator: bool, since: dt.date, until: dt.date, now: dt.datetime | None = None
) -> QuerySet:
    """The forms a complaint measure (`key` of `MEASURE_ROW_KEYS`) counts in its denominator, or with `numerator`
    in its numerator, over the Shanghai days `[since, until)` of the stores in scope (the measures pages'
    drill-down): the filters of `complaint_measure_filters`, which `complaint_measures_range` counts with."""
    if key not in MEASURE_ROW_KEYS:
        raise ValueError(f"unknown complaint measure {key!r}")
    ids = _scope(user, store_ids)
    field, denominator, numerator_q = complaint_measure_filters(now or timezone.now())[key]
    period = {f"{field}__gte": business_day_start(since), f"{field}__lt": business_day_start(until)}
    return (
        cmodels.Feedback.objects.filter(store_id__in=ids, **period)
        .filter(numerator_q if numerator else denominator)
        .select_related("store", "customer")
        .order_by(field, "id")
    )


# the grouped query each measure's counts come from (`_measure_counts`)
_MEASURE_QUERY = {
    "timeliness": "recorded", "first_call": "recorded", "verification": "returned", "supervisor": "returned",
    "first_time_fix": "orders",
}


def _measure_counts(ids: frozenset[int], start: dt.datetime, end: dt.datetime, now: dt.datetime,
                    measures=None) -> dict:
    """Three grouped queries (store × Shanghai month): forms by recording month, forms by first-return month,
    repair orders by settling month; of `measures` (keys of `MEASURES`) only the ones they need (the repair
    orders' query is the costly one). Returns {(store_id, month): {count name: n}}."""
    queries = {_MEASURE_QUERY[m] for m in (MEASURES if measures is None else measures)}
    Feedback = cmodels.Feedback
    Q, Count = models.Q, models.Count
    out: dict = {}

    def add(rows, month_key):
        for r in rows:
            key = (r.pop("store_id"), month_start(r.pop(month_key)))
            out.setdefault(key, {}).update(r)

    f = complaint_measure_filters(now)
    first_call_open = _first_call_open_q(now)
    FS = choices.FeedbackStatus
    in_progress = Q(first_returned_at__isnull=True) & (Q(deadline_at__gt=now) | Q(paused_at__isnull=False))
    recorded = (
        Feedback.objects.filter(store_id__in=ids, created_at__gte=start, created_at__lt=end)
        .annotate(m=TruncMonth("created_at", tzinfo=business_tz()))
        .values("store_id", "m")
        .annotate(
            t_den=Count("id", filter=f["timeliness"][1]),
            t_num=Count("id", filter=f["timeliness"][2]),
            t_pending=Count("id", filter=Q(deadline_at__isnull=False) & ~Q(status=FS.CLOSED) & in_progress),
            f_den=Count("id", filter=f["first_call"][1]),
            f_num=Count("id", filter=f["first_call"][2]),
            f_pending=Count("id", filter=first_call_open),
        )
        .order_by()
    )
    if "recorded" in queries:
        add(recorded, "m")
    returned = (
        Feedback.objects.filter(store_id__in=ids, first_returned_at__gte=start, first_returned_at__lt=end)
        .annotate(m=TruncMonth("first_returned_at", tzinfo=business_tz()))
        .values("store_id", "m")
        .annotate(
            v_den=Count("id"),
            v_num=Count("id", filter=f["verification"][2]),
            v_pending=Count("id", filter=Q(verification_result="", status=FS.HANDLED)),
            s_den=Count("id", filter=f["supervisor"][1]),
            s_num=Count("id", filter=f["supervisor"][2]),
        )
        .order_by()
    )
    if "returned" in queries:
        add(returned, "m")
    # the orders without a fault description are only the measures page's note: the catalogue's first-time fix
    # reads no more than the (store, settled_at) index covers (kind, id) and the repeat repairs
    no_fault = {"r_no_fault": Count("id", filter=Q(fault_description=""))} if measures is None else {}
    orders = (
        _first_time_fix_orders(ids, start, end)
        .annotate(m=TruncMonth("settled_at", tzinfo=business_tz()))
        .values("store_id", "m")
        .annotate(r_den=Count("id"), r_repeated=Count("id", filter=Q(repeated=True)), **no_fault)
        .order_by()
    )
    if "orders" in queries:
        add(orders, "m")
    return out


def _first_time_fix_orders(ids, start: dt.datetime, end: dt.datetime) -> QuerySet:
    """The repair orders first-time fix counts (the counting kinds settled in `[start, end)` in the stores `ids`),
    each with `repeated`: whether a repeat repair of the same fault followed it."""
    repeated = models.Exists(cmodels.RepeatRepair.objects.filter(original=models.OuterRef("pk")))
    return RepairOrder.objects.filter(
        store_id__in=ids, kind__in=FIRST_TIME_FIX_KINDS, settled_at__gte=start, settled_at__lt=end
    ).annotate(repeated=repeated)


# the drill-down's lists of first-time fix: its denominator, its numerator, and the rest of the denominator
FIRST_TIME_FIX_ROWS = ("denominator", "numerator", "repeated")


def first_time_fix_orders(*, user, store_ids=None, counted: str, since: dt.date, until: dt.date) -> QuerySet:
    """The repair orders behind a first-time-fix figure over the Shanghai days `[since, until)` of the stores in
    scope (the measures pages' drill-down), counted as the measure counts them (`_first_time_fix_orders`):
    `denominator` every order of the counting kinds, `numerator` those no repeat repair followed, `repeated` those
    one did, each with its repeat repairs (`repeat_repairs`, the repeat order selected)."""
    if counted not in FIRST_TIME_FIX_ROWS:
        raise ValueError(f"unknown first-time-fix rows {counted!r}")
    rows = _first_time_fix_orders(_scope(user, store_ids), business_day_start(since), business_day_start(until))
    if counted != "denominator":
        rows = rows.filter(repeated=counted == "repeated")
    repeats = cmodels.RepeatRepair.objects.select_related("repeat").order_by("repeat__settled_at", "pk")
    return (rows.select_related("store", "vehicle").prefetch_related(models.Prefetch("repeat_repairs", repeats))
            .order_by("settled_at", "id"))


def complaint_measures_range(
    *, user, store_ids=None, since_month: dt.date, until_month: dt.date, now: dt.datetime | None = None,
    measures=None,
) -> list[dict]:
    """The five complaint / first-time-fix measures per store in scope and month in `[since_month, until_month)`.

    One row per store and month (also when nothing happened: rates None), ordered by store code then month:
    {store, store_id, month, no_fault_description, timeliness: {numerator, denominator, rate, target,
    below_target, pending, provisional}, verification: …, supervisor: …, first_call: …, first_time_fix: …}.
    Five queries whatever the number of rows or months (stores, windows, three grouped counts). `measures`: the
    keys wanted (the catalogue's one measure); the others' counts are not read and show as 0.
    """
    now = now or timezone.now()
    ids = _scope(user, store_ids)
    if not ids:
        return []
    since_month, until_month = month_start(since_month), month_start(until_month)
    months = []
    month = since_month
    while month < until_month:
        months.append(month)
        month = month_add(month, 1)
    stores = list(Store.objects.filter(pk__in=ids).order_by("code", "pk"))
    windows = repeat_repair_window_map(store_ids=ids)
    counts = _measure_counts(ids, business_day_start(since_month), business_day_start(until_month), now, measures)
    out = []
    for store in stores:
        window = windows[store.pk]
        for month in months:
            c = {**_ZERO_COUNTS, **counts.get((store.pk, month), {})}
            # the last order of the month can still be followed by a repeat until the window after it has passed
            window_closes = business_day_start(month_add(month, 1) + dt.timedelta(days=window))
            out.append(
                {
                    "store": store,
                    "store_id": store.pk,
                    "month": month,
                    "no_fault_description": c["r_no_fault"],
                    "timeliness": _measure(c["t_num"], c["t_den"], "timeliness", c["t_pending"]),
                    "verification": _measure(c["v_num"], c["v_den"], "verification", c["v_pending"]),
                    "supervisor": _measure(c["s_num"], c["s_den"], "supervisor"),
                    "first_call": _measure(c["f_num"], c["f_den"], "first_call", c["f_pending"]),
                    "first_time_fix": _measure(
                        c["r_den"] - c["r_repeated"], c["r_den"], "first_time_fix", provisional=now < window_closes
                    ),
                    "window_days": window,
                }
            )
    return out


def complaint_measures(*, user, store_ids=None, month: dt.date, now: dt.datetime | None = None) -> list[dict]:
    """The measures of one Shanghai month, one row per store in scope (see `complaint_measures_range`)."""
    month = month_start(month)
    return complaint_measures_range(
        user=user, store_ids=store_ids, since_month=month, until_month=month_add(month, 1), now=now
    )


def complaint_measures_trend(
    *, user, store_ids=None, month: dt.date, months: int = MEASURE_TREND_MONTHS, now: dt.datetime | None = None
) -> dict:
    """The `months` months up to and including `month`: {"months": [...], "stores": [{store, rows: [row per
    month]}]} (rows as in `complaint_measures_range`; same five queries)."""
    last = month_start(month)
    first = month_add(last, -(months - 1))
    rows = complaint_measures_range(
        user=user, store_ids=store_ids, since_month=first, until_month=month_add(last, 1), now=now
    )
    stores: dict[int, dict] = {}
    for row in rows:
        stores.setdefault(row["store_id"], {"store": row["store"], "rows": []})["rows"].append(row)
    return {"months": [month_add(first, i) for i in range(months)], "stores": list(stores.values())}


# ---- first-time fix (the detection service: `services/first_time_fix.py`) --------------------------------------


def first_time_fix_rate(*, user, store_ids=None, month: dt.date, now: dt.datetime | None = None) -> list[dict]:
    """First-time-fix rate of one month per store: {store_id, numerator, denominator, rate, provisional, …}."""
    return [
        {"store_id": r["store_id"], **r["first_time_fix"]}
        for r in complaint_measures(user=user, store_ids=store_ids, month=month, now=now)
    ]


def repeat_repair_window_map(*, store_ids) -> dict[int, int]:
    """Each store's repeat-repair window in days (ComplaintSettings, default 30), one query for all stores
    (unscoped: for the detection job)."""
    default = ComplaintSettings._meta.get_field("repeat_repair_window_days").default
    found = dict(
        ComplaintSettings.objects.filter(store_id__in=list(store_ids)).values_list(
            "store_id", "repeat_repair_window_days"
        )
    )
    return {sid: found.get(sid, default) for sid in store_ids}


# ---- the start page and the customer 360 (complaints/cards.py, complaints/panels.py) ---------------------------

FEEDBACK_DUE_CHOICES = ("overdue", "today", "soon")


def escalated_q() -> Q:
    """Forms still with the department that the escalation job moved up at least one tier."""
    return Q(status=FeedbackStatus.ROUTED, escalation_level__gt=0)


def feedback_due_q(due: str, now: dt.datetime) -> Q:
    """Forms with the department whose clock runs, by deadline: `overdue` (`overdue_q`); `today`, the deadline is
    ahead but passes before tomorrow 00:00 Shanghai; `soon`, past the due-soon warning with a deadline after today."""
    tomorrow = business_day_start(business_date(now) + dt.timedelta(days=1))
    if due == "overdue":
        return overdue_q(now)
    if due == "today":
        return Q(status=FeedbackStatus.ROUTED, paused_at__isnull=True, deadline_at__gt=now, deadline_at__lte=tomorrow)
    if due == "soon":
        return due_soon_q(now) & Q(deadline_at__gt=tomorrow)
    raise ValueError(f"due must be one of {FEEDBACK_DUE_CHOICES}")


def feedback_narrow(
    qs: QuerySet[Feedback],
    *,
    escalated: bool = False,
    customer_id: int | None = None,
    due: str = "",
    now: dt.datetime | None = None,
) -> QuerySet[Feedback]:
    """Filters of the lists beyond `feedback_list`'s: escalated only, one customer's forms, by deadline."""
    if escalated:
        qs = qs.filter(escalated_q())
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if due:
        qs = qs.filter(feedback_due_q(due, now or timezone.now()))
    return qs


def feedback_inbox_counts(*, user, now: dt.datetime) -> dict[str, int]:
    """The numbers of `feedback_inbox` (the forms the user must act on) in one aggregate query."""
    return feedback_inbox(user=user, now=now).order_by().aggregate(
        total=Count("id"),
        overdue=Count("id", filter=feedback_due_q("overdue", now)),
        today=Count("id", filter=feedback_due_q("today", now)),
        soon=Count("id", filter=feedback_due_q("soon", now)),
    )


def feedback_store_counts(*, user, store_ids=None, now: dt.datetime) -> dict[str, int]:
    """The numbers of `feedback_list` for the CS manager, in one aggregate query: overdue with the department, not
    yet routed (no one assigned), escalated."""
    return (
        feedback_list(user=user, store_ids=store_ids)
        .order_by()
        .aggregate(
            overdue=Count("id", filter=overdue_q(now)),
            to_route=Count("id", filter=Q(status=FeedbackStatus.NEW)),
            escalated=Count("id", filter=escalated_q()),
        )
    )


def customer_feedback(*, user, customer, limit: int) -> list[Feedback]:
    """The customer's forms in scope, newest first, at most `limit`."""
    return list(feedback_list(user=user).filter(customer=customer)[:limit])
