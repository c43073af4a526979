"""Scoped reads for follow-up calls: the queue, tasks, rules, settings, templates, call and letter logs, the
return-visit rate and specialist workload."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDay, TruncMonth
from django.utils import timezone

from aftercare.customers.models import RepairOrder, SalesDelivery
from aftercare.customers.validators import clean_text
from aftercare.org.calendar import business_date, business_day_start, business_tz, month_range
from aftercare.org.permissions import Perm, has_perm, role_of
from aftercare.org.scoping import get_scoped_or_404, visible_store_ids

from . import ranking
from .choices import (
    ACTIVE_STATUSES,
    REACHED_OUTCOMES,
    RETURN_VISIT_KINDS,
    CallDirection,
    CallOutcome,
    RateTreatment,
    SubjectType,
    TaskStatus,
)
from .models import (
    AnswerSheet,
    CallLog,
    FollowupRule,
    FollowupTask,
    LetterLog,
    QuestionnaireTemplate,
    StoreFollowupSettings,
)


def _store_ids(user, store_ids=None) -> frozenset[int]:
    visible = visible_store_ids(user)
    return visible if store_ids is None else visible & frozenset(store_ids)


def _may_read(user) -> bool:
    return has_perm(user, Perm.FOLLOWUP_CALL) or has_perm(user, Perm.FOLLOWUP_MANAGE)


def followup_task_list(*, user, store_ids=None) -> QuerySet[FollowupTask]:
    """Every follow-up task of the stores in scope (no rows for roles without follow-up permissions)."""
    if not _may_read(user):
        return FollowupTask.objects.none()
    return FollowupTask.objects.filter(store_id__in=_store_ids(user, store_ids))


def followup_task_get(*, user, pk) -> FollowupTask:
    """One task in scope, with its customer, vehicle and rule; another store's id is a 404."""
    return get_scoped_or_404(
        followup_task_list(user=user).select_related("store", "customer", "vehicle", "rule", "template", "claimed_by"),
        pk=pk,
    )


def followup_queue(
    *, user, kind: str | None = None, store_ids=None, specialist_id: int | None = None, now: dt.datetime | None = None
) -> QuerySet[FollowupTask]:
    """Today's work: open and claimed tasks callable before tomorrow (Shanghai) — due today or overdue, or with a
    deadline still ahead — most urgent first: deadline, then the priorities registered in `ranking` (the care app's
    churn risk: highest first, unscored last), then customer value (repair-order spend over 12 months), then id.

    A specialist sees the unclaimed tasks and their own; a manager (`followup.manage`) sees everyone's and can
    narrow to one `specialist_id`. Each row carries `customer_value` and each registered priority's annotation.
    """
    now = now or timezone.now()
    tomorrow = business_day_start(business_date(now) + dt.timedelta(days=1))
    qs = (
        followup_task_list(user=user, store_ids=store_ids)
        .filter(status__in=ACTIVE_STATUSES)
        .filter(Q(next_call_at__isnull=True) | Q(next_call_at__lt=tomorrow))
    )
    if has_perm(user, Perm.FOLLOWUP_MANAGE):
        if specialist_id is not None:
            qs = qs.filter(claimed_by_id=specialist_id)
    else:
        # a specialist's queue holds the calls a rule lets their role make (a renewal specialist: renewal contacts)
        role = role_of(user)
        callable_rules = [
            r.pk
            for r in FollowupRule.objects.filter(store_id__in=_store_ids(user, store_ids)).only("pk", "allowed_roles")
            if not r.allowed_roles or role in r.allowed_roles
        ]
        qs = qs.filter(Q(claimed_by__isnull=True) | Q(claimed_by=user)).filter(rule_id__in=callable_rules)
    if kind:
        qs = qs.filter(kind=kind)
    spend = (
        RepairOrder.objects.filter(customer_id=OuterRef("customer_id"), settled_at__gte=now - dt.timedelta(days=365))
        .order_by()
        .values("customer_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    value = Coalesce(Subquery(spend, output_field=money), Value(Decimal(0)), output_field=money)
    qs = qs.annotate(customer_value=value)
    return (
        ranking.annotate_priorities(qs)
        .select_related("store", "customer", "vehicle", "claimed_by__staff")
        .order_by("due_at", *ranking.priority_ordering(), F("customer_value").desc(), "id")
    )


def store_followup_settings_get(*, store_id: int) -> StoreFollowupSettings:
    """The store's follow-up settings (defaults when the store has no row yet; nothing is written).

    Not scoped: the services read it for a task's or rule's store, the views for a store already in scope.
    """
    found = StoreFollowupSettings.objects.filter(store_id=store_id).first()
    return found or StoreFollowupSettings(store_id=store_id)


def followup_rule_list(*, user, store_ids=None) -> QuerySet[FollowupRule]:
    """The follow-up rules of the stores in scope."""
    if not (_may_read(user) or has_perm(user, Perm.FOLLOWUP_RULES)):
        return FollowupRule.objects.none()
    return (
        FollowupRule.objects.filter(store_id__in=_store_ids(user, store_ids))
        .select_related("store", "template", "source_rule")
        .order_by("store_id", "code")
    )


def questionnaire_template_get(*, user, pk) -> QuestionnaireTemplate:
    """A questionnaire template (group-wide) with factors and questions."""
    if not (_may_read(user) or has_perm(user, Perm.FOLLOWUP_TEMPLATES)):
        return get_scoped_or_404(QuestionnaireTemplate.objects.none(), pk=pk)
    return get_scoped_or_404(QuestionnaireTemplate.objects.prefetch_related("factors__questions"), pk=pk)


def followup_task_skipped_list(*, user, store_ids=None) -> QuerySet[FollowupTask]:
    """Events that made no call because the customer refused service calls (the reason is visible here)."""
    tasks = followup_task_list(user=user, store_ids=store_ids)
    return tasks.filter(status=TaskStatus.NO_CONSENT).select_related("customer")


# ---- measures --------------------------------------------------------------------------------------------------


def return_visit_due_q(*, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> Q:
    """The tasks the return-visit rate looks at (docs/kpis.md): return-visit tasks (`RETURN_VISIT_KINDS`) whose
    deadline falls in `[start, end)` and has passed by `now`, or that are already closed; cancelled tasks and
    customers without consent are left out. Which of them count is `return_visit_counts`."""
    return (
        Q(due_at__gte=start, due_at__lt=end, kind__in=RETURN_VISIT_KINDS)
        & ~Q(status__in=[TaskStatus.CANCELLED, TaskStatus.NO_CONSENT])
        & (Q(due_at__lte=now) | ~Q(status__in=ACTIVE_STATUSES))
    )


def return_visit_counts(status: str, setting: StoreFollowupSettings) -> tuple[bool, bool]:
    """The one rule of the return-visit rate for a task of `return_visit_due_q` in `status` under its store's
    `setting`: (it counts in the denominator, it counts in the numerator when closed before its deadline).
    Completed: both; unreachable or refused: as the store's setting says (excluded: neither; counted as done:
    both; counted as not done: the denominator only); still open after the deadline: the denominator only."""
    if status in (TaskStatus.UNREACHABLE, TaskStatus.REFUSED):
        rule = setting.unreachable_counts_as if status == TaskStatus.UNREACHABLE else setting.refused_counts_as
        return rule != RateTreatment.EXCLUDED, rule == RateTreatment.DONE
    return True, status == TaskStatus.COMPLETED


RETURN_VISIT_PARTS = ("due", "in_time")


def return_visit_counted_q(*, setting: StoreFollowupSettings, part: str) -> Q:
    """The tasks of one store's `return_visit_due_q` that its return-visit rate counts under its `setting` (the
    store's `StoreFollowupSettings`): `part` "due" (the denominator) or "in_time" (the numerator), by
    `return_visit_counts`."""
    if part not in RETURN_VISIT_PARTS:
        raise ValueError("part must be due or in_time")
    store_id = setting.store_id
    statuses = [
        status
        for status in TaskStatus.values
        if status not in (TaskStatus.CANCELLED, TaskStatus.NO_CONSENT)
        and return_visit_counts(status, setting)[0 if part == "due" else 1]
    ]
    q = Q(store_id=store_id, status__in=statuses)
    return q & Q(completed_at__lt=F("due_at")) if part == "in_time" else q


def return_visit_task_list(
    *, user, store_ids=None, since: dt.date, until: dt.date, part: str, now: dt.datetime | None = None
) -> QuerySet[FollowupTask]:
    """The tasks a store's return-visit rate counts over the months of the Shanghai days `[since, until)` (the
    measures pages' drill-down), per store in scope: `part` "due" (denominator) or "in_time" (numerator); by
    deadline, oldest first. The same rule as `return_visit_rate` (`return_visit_due_q`, `return_visit_counts`)."""
    now = now or timezone.now()
    tasks = followup_task_list(user=user, store_ids=store_ids)
    ids = sorted(_store_ids(user, store_ids)) if _may_read(user) else []
    settings = {s.store_id: s for s in StoreFollowupSettings.objects.filter(store_id__in=ids)}
    counted = Q(pk__in=[])
    for store_id in ids:
        setting = settings.get(store_id) or StoreFollowupSettings(store_id=store_id)
        counted |= return_visit_counted_q(setting=setting, part=part)
    return (
        tasks.filter(return_visit_due_q(start=business_day_start(since), end=business_day_start(until), now=now))
        .filter(counted)
        .select_related("store", "customer", "vehicle", "completed_by__staff", "claimed_by__staff")
        .order_by("due_at", "id")
    )


def return_visit_rate(
    *, user, store_ids=None, month: dt.date, by: str = "store", now=None, specialist_id: int | None = None
) -> list[dict]:
    """Return-visit rate of a month (docs/kpis.md): tasks closed in time / tasks due.

    Due: return-visit tasks (`RETURN_VISIT_KINDS`: not renewal, care or campaign calls) whose deadline falls in
    the month (Shanghai) and has passed, or that are already closed; cancelled tasks and customers without
    consent are left out. In time: completed before `due_at`
    (half-open). Unreachable and refused count as each store's settings say. `by`: store, kind or specialist
    (who closed the task, else who holds it; None = nobody); `specialist_id` keeps only that specialist's tasks
    (the queue page's own rate). One query for the tasks, one for the settings.
    """
    if by not in {"store", "kind", "specialist"}:
        raise ValueError("by must be store, kind or specialist")
    now = now or timezone.now()
    start, end = month_range(month)
    key = {"store": F("store_id"), "kind": F("kind"), "specialist": Coalesce("completed_by_id", "claimed_by_id")}[by]
    tasks = followup_task_list(user=user, store_ids=store_ids)
    if specialist_id is not None:
        tasks = tasks.filter(
            Q(completed_by_id=specialist_id) | Q(completed_by__isnull=True, claimed_by_id=specialist_id)
        )
    rows = (
        tasks.filter(return_visit_due_q(start=start, end=end, now=now))
        .annotate(group=key)
        .values("group", "store_id", "status")
        .annotate(n=Count("id"), in_time=Count("id", filter=Q(completed_at__lt=F("due_at"))))
        .order_by()
    )
    rows = list(rows)
    treatment = {
        s.store_id: s for s in StoreFollowupSettings.objects.filter(store_id__in={r["store_id"] for r in rows})
    }
    totals: dict = defaultdict(lambda: {"due": 0, "in_time": 0, "unreachable": 0, "refused": 0})
    for r in rows:
        t = totals[r["group"]]
        if r["status"] in (TaskStatus.UNREACHABLE, TaskStatus.REFUSED):
            t[r["status"]] += r["n"]
        counted, done = return_visit_counts(r["status"], treatment.get(r["store_id"]) or StoreFollowupSettings())
        if counted:
            t["due"] += r["n"]
        if done:
            t["in_time"] += r["in_time"]
    out = []
    for group, t in sorted(totals.items(), key=lambda kv: (kv[0] is None, str(kv[0]))):
        rate = (Decimal(t["in_time"]) * 100 / t["due"]).quantize(Decimal("0.1")) if t["due"] else None
        out.append({by: group, **t, "rate": rate})
    return out


def specialist_workload(
    *, user, store_ids=None, since: dt.date, until: dt.date, period: str = "day", specialist_id: int | None = None
) -> list[dict]:
    """Per specialist and day (or month) in `[since, until)`: calls made, calls that reached the customer,
    reach rate, tasks closed and closed in time, tasks late on their watch, on-time rate = in time / (in time + late);
    `specialist_id`: that specialist only. Three grouped queries."""
    if period not in {"day", "month"}:
        raise ValueError("period must be day or month")
    trunc = TruncDay if period == "day" else TruncMonth
    start, end = business_day_start(since), business_day_start(until)
    scope = _store_ids(user, store_ids) if _may_read(user) else frozenset()
    calls = (
        CallLog.objects.filter(
            store_id__in=scope, called_at__gte=start, called_at__lt=end, direction=CallDirection.OUTBOUND
        )
        .filter(**({} if specialist_id is None else {"handler_id": specialist_id}))
        .annotate(period=trunc("called_at", tzinfo=business_tz()))
        .values("handler_id", "period")
        .annotate(calls=Count("id"), reached=Count("id", filter=Q(outcome__in=REACHED_OUTCOMES)))
        .order_by()
    )
    # A task taken over when it was already overdue (claimed at or after its deadline) is not late for the one who
    # closes it: its lateness belongs to who held it when it fell due (`late_holder`; nobody's when it sat in the pool).
    inherited = Q(claimed_at__isnull=False, claimed_at__gte=F("due_at"))
    period_closed = FollowupTask.objects.filter(store_id__in=scope, completed_at__gte=start, completed_at__lt=end)
    closed = (
        period_closed.filter(completed_by__isnull=False)
        .filter(**({} if specialist_id is None else {"completed_by_id": specialist_id}))
        .annotate(period=trunc("completed_at", tzinfo=business_tz()))
        .values("completed_by_id", "period")
        .annotate(
            closed=Count("id"),
            in_time=Count("id", filter=Q(completed_at__lt=F("due_at"))),
            late=Count("id", filter=Q(completed_at__gte=F("due_at")) & ~inherited),
        )
        .order_by()
    )
    handed_on = (
        period_closed.filter(inherited, completed_at__gte=F("due_at"), late_holder__isnull=False)
        .filter(**({} if specialist_id is None else {"late_holder_id": specialist_id}))
        .annotate(period=trunc("completed_at", tzinfo=business_tz()))
        .values("late_holder_id", "period")
        .annotate(late=Count("id"))
        .order_by()
    )
    table: dict = defaultdict(lambda: {"calls": 0, "reached": 0, "closed": 0, "in_time": 0, "late": 0})

    def _key(value):
        value = value.date() if isinstance(value, dt.datetime) else value
        return value.replace(day=1) if period == "month" else value

    for r in calls:
        row = table[(r["handler_id"], _key(r["period"]))]
        row["calls"], row["reached"] = r["calls"], r["reached"]
    for r in closed:
        row = table[(r["completed_by_id"], _key(r["period"]))]
        row["closed"], row["in_time"] = r["closed"], r["in_time"]
        row["late"] += r["late"]
    for r in handed_on:
        table[(r["late_holder_id"], _key(r["period"]))]["late"] += r["late"]
    out = []
    for (user_id, day), t in sorted(table.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        out.append(
            {
                "user_id": user_id,
                "period": day,
                **t,
                "reach_rate": (Decimal(t["reached"]) * 100 / t["calls"]).quantize(Decimal("0.1"))
                if t["calls"]
                else None,
                "on_time_rate": (Decimal(t["in_time"]) * 100 / (t["in_time"] + t["late"])).quantize(Decimal("0.1"))
                if t["in_time"] + t["late"]
                else None,
            }
        )
    return out


def call_log_list(*, user, store_ids=None, since: dt.date | None = None, until: dt.date | None = None):
    """Every call in scope (attempts and hand-logged calls), newest first."""
    qs = CallLog.objects.filter(store_id__in=_store_ids(user, store_ids) if _may_read(user) else ())
    if since:
        qs = qs.filter(called_at__gte=business_day_start(since))
    if until:
        qs = qs.filter(called_at__lt=business_day_start(until))
    return qs.select_related("handler", "customer", "task")


def _customer_filter(prefix: str, q: str) -> Q:
    """Customer name, number, or phone (full number or its last 4+ digits)."""
    q = clean_text(q or "").strip()
    cond = Q(**{f"{prefix}name__icontains": q}) | Q(**{f"{prefix}number__iexact": q})
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 4:
        cond |= Q(**{f"{prefix}mobile__endswith": digits[-11:]})
    return cond


def call_log_search(
    *,
    user,
    store_ids=None,
    q: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
    handler_id: int | None = None,
    outcome: str = "",
    direction: str = "",
    purpose: str = "",
) -> QuerySet[CallLog]:
    """The call log: customer name / number / phone, days `[since, until)` (Shanghai), handler, outcome."""
    qs = call_log_list(user=user, store_ids=store_ids, since=since, until=until).select_related("store")
    if q.strip():
        qs = qs.filter(_customer_filter("customer__", q))
    if handler_id:
        qs = qs.filter(handler_id=handler_id)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if direction:
        qs = qs.filter(direction=direction)
    if purpose:
        qs = qs.filter(purpose=purpose)
    return qs.order_by("-called_at", "-id")


def letter_log_search(
    *,
    user,
    store_ids=None,
    q: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
    handler_id: int | None = None,
    kind: str = "",
    status: str = "",
) -> QuerySet[LetterLog]:
    """The letter log (notices, invitations, replies, SMS to unreachable customers); recorded in `[since, until)`."""
    qs = LetterLog.objects.filter(store_id__in=_store_ids(user, store_ids) if _may_read(user) else ())
    if since:
        qs = qs.filter(created_at__gte=business_day_start(since))
    if until:
        qs = qs.filter(created_at__lt=business_day_start(until))
    if q.strip():
        qs = qs.filter(_customer_filter("customer__", q))
    if handler_id:
        qs = qs.filter(handler_id=handler_id)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("store", "customer", "handler", "task").order_by("-created_at", "-id")


def followup_staff_list(*, user, store_ids=None, callers_only: bool = False) -> QuerySet:
    """Users working in the stores in scope (handlers in searches; with `callers_only`, who may make calls)."""
    from django.contrib.auth import get_user_model

    from aftercare.org.permissions import ROLE_PERMISSIONS

    ids = _store_ids(user, store_ids) if (_may_read(user) or has_perm(user, Perm.FOLLOWUP_RULES)) else frozenset()
    qs = get_user_model().objects.filter(staff__stores__in=ids, is_active=True)
    if callers_only:
        roles = [role for role, perms in ROLE_PERMISSIONS.items() if Perm.FOLLOWUP_CALL in perms]
        qs = qs.filter(staff__role__in=roles)
    return qs.select_related("staff").distinct().order_by("staff__display_name", "username")


# ---- the start page and the customer 360 (followups/cards.py, followups/panels.py) -----------------------------

QUEUE_DUE_CHOICES = ("today", "overdue")


def followup_due_q(due: str, now: dt.datetime) -> Q:
    """Tasks by deadline, as the queue marks them: `overdue` once `due_at <= now`; `today` when the deadline is still
    ahead but passes before tomorrow 00:00 Shanghai (half-open: due before `due_at`)."""
    tomorrow = business_day_start(business_date(now) + dt.timedelta(days=1))
    if due == "overdue":
        return Q(due_at__lte=now)
    if due == "today":
        return Q(due_at__gt=now, due_at__lte=tomorrow)
    raise ValueError(f"due must be one of {QUEUE_DUE_CHOICES}")


def followup_queue_narrow(
    qs: QuerySet[FollowupTask], *, due: str = "", unclaimed: bool = False, now: dt.datetime | None = None
) -> QuerySet[FollowupTask]:
    """The queue's filters beyond `followup_queue`'s own: by deadline (`today`, `overdue`) and unclaimed only."""
    if due:
        qs = qs.filter(followup_due_q(due, now or timezone.now()))
    if unclaimed:
        qs = qs.filter(claimed_by__isnull=True)
    return qs


def followup_queue_counts(*, user, store_ids=None, now: dt.datetime) -> dict[str, int]:
    """The numbers of `followup_queue` (what the queue and the manage page list) in one aggregate query: total,
    due today, overdue, complaint verification calls, unclaimed."""
    from .choices import FollowupKind

    qs = followup_queue(user=user, store_ids=store_ids, now=now).order_by()
    return qs.aggregate(
        total=Count("id"),
        today=Count("id", filter=followup_due_q("today", now)),
        overdue=Count("id", filter=followup_due_q("overdue", now)),
        verification=Count("id", filter=Q(kind=FollowupKind.COMPLAINT_VERIFICATION)),
        unclaimed=Count("id", filter=Q(claimed_by__isnull=True)),
    )


def followup_customer_tasks(*, user, customer, limit: int) -> list[FollowupTask]:
    """The customer's follow-up tasks in scope, newest event first, at most `limit`, each with its answer sheet
    (`sheet`, None before a questionnaire was answered) and the questionnaire's kind."""
    rows = (
        followup_task_list(user=user)
        .filter(customer=customer)
        .select_related("sheet__template")
        .order_by("-event_at", "-id")
    )
    return list(rows[:limit])


# ---- survey results and the sales hand-over (KPI catalogue, docs/kpis.md "Satisfaction and the sales hand-over") --


SURVEY_SATISFIED_Q = Q(dissatisfied=False)  # the satisfaction rate's numerator among its sheets


def survey_sheet_q(*, since: dt.date, until: dt.date, kind: str | None = None) -> Q:
    """The answer sheets a survey measure counts: answered in the Shanghai days `[since, until)`; with a
    questionnaire `kind` (ssi, csi) only that kind's sheets that have a 1000-point score (the SSI / CSI score)."""
    q = Q(answered_at__gte=business_day_start(since), answered_at__lt=business_day_start(until))
    if kind is not None:
        q &= Q(template__kind=kind, score_total__isnull=False)
    return q


def survey_sheet_list(
    *, user, store_ids=None, since: dt.date, until: dt.date, kind: str | None = None, satisfied: bool = False
) -> QuerySet[AnswerSheet]:
    """The answer sheets behind a survey measure's figure (the measures pages' drill-down), of the stores in scope:
    `survey_sheet_q`, with `satisfied` only those not marked dissatisfied (`SURVEY_SATISFIED_Q`); oldest first."""
    if not _may_read(user):
        return AnswerSheet.objects.none()
    sheets = AnswerSheet.objects.filter(store_id__in=_store_ids(user, store_ids)).filter(
        survey_sheet_q(since=since, until=until, kind=kind)
    )
    if satisfied:
        sheets = sheets.filter(SURVEY_SATISFIED_Q)
    return sheets.select_related("store", "template", "task__customer", "answered_by__staff").order_by(
        "answered_at", "id"
    )


def survey_results_by_store(
    *, user, store_ids=None, since: dt.date, until: dt.date, kind: str | None = None
) -> dict[int, dict]:
    """Answer sheets answered in the Shanghai days `[since, until)`, per store in scope. Without `kind`: {store_id:
    {"sheets", "satisfied"}} over every sheet; with a questionnaire kind (ssi, csi): {store_id: {"sheets",
    "score_sum"}} over that kind's sheets that have a 1000-point score. One grouped query."""
    if not _may_read(user):
        return {}
    sheets = AnswerSheet.objects.filter(store_id__in=_store_ids(user, store_ids)).filter(
        survey_sheet_q(since=since, until=until, kind=kind)
    )
    if kind is None:
        figures = {"sheets": Count("id"), "satisfied": Count("id", filter=SURVEY_SATISFIED_Q)}
    else:
        figures = {"sheets": Count("id"), "score_sum": Sum("score_total")}
    rows = sheets.values("store_id").annotate(**figures).order_by()
    return {row.pop("store_id"): row for row in rows}


def _wrong_number(since: dt.datetime) -> Exists:
    """A call of the delivery's SSI follow-up, made from `since` on, found the number wrong."""
    return Exists(CallLog.objects.filter(
        store_id=OuterRef("store_id"),
        called_at__gte=since,
        outcome=CallOutcome.WRONG_NUMBER,
        task__subject_type=SubjectType.DELIVERY,
        task__subject_id=OuterRef("pk"),
    ))


def delivery_handover_errors_q(since: dt.datetime) -> Q:
    """A delivery handed over with a data error (seed 000 p5, "提交客户信息不准确"): its customer file has no mobile
    or no address, or a call of its SSI follow-up (made from `since`, the start of the deliveries' period, on: a
    call about a delivery comes after it) found the number wrong."""
    return Q(customer__mobile="") | Q(customer__address="") | _wrong_number(since)


def _handover_lag() -> Case:
    """A delivery's hand-over lag: recorded − delivered, never below 0 (a record entered before the delivery time)."""
    lag = ExpressionWrapper(F("created_at") - F("delivered_at"), output_field=DurationField())
    return Case(When(created_at__gt=F("delivered_at"), then=lag), default=Value(dt.timedelta(0)),
                output_field=DurationField())


def sales_handover_deliveries(*, user, store_ids=None, since: dt.date, until: dt.date, errors: bool) -> QuerySet:
    """The deliveries behind a store's hand-over figure (the measures pages' drill-down): made in the Shanghai days
    `[since, until)`, or of those the ones with a data error (`delivery_handover_errors_q`, as the measure counts),
    each with `wrong_number` and `lag` (`_handover_lag`)."""
    if not _may_read(user):
        return SalesDelivery.objects.none()
    start = business_day_start(since)
    rows = SalesDelivery.objects.filter(
        store_id__in=_store_ids(user, store_ids), delivered_at__gte=start, delivered_at__lt=business_day_start(until)
    ).annotate(wrong_number=_wrong_number(start), lag=_handover_lag())
    if errors:
        rows = rows.filter(delivery_handover_errors_q(start))
    return rows.select_related("customer", "store", "sales_consultant_staff").order_by("delivered_at", "id")


def sales_handover_by_consultant(
    *, user, store_ids=None, since: dt.date, until: dt.date, by: str, figure: str
) -> list[dict]:
    """The sales hand-over of the deliveries made in the Shanghai days `[since, until)` (docs/kpis.md): per store
    (`by="store"`) or per store and sales consultant (`by="consultant"`: the linked staff member's user, else the
    name on the delivery trimmed; "" = no consultant given). `figure`: "lag" (sum of max(0, recorded − delivered)
    in seconds) or "errors" (deliveries with a data error). Rows: {"store_id", "user_id", "label", "deliveries",
    figure}. One grouped query (and one for the consultants' names)."""
    if by not in {"store", "consultant"} or figure not in {"lag", "errors"}:
        raise ValueError("by must be store or consultant, figure lag or errors")
    if not _may_read(user):
        return []
    start = business_day_start(since)
    if figure == "lag":
        value = Sum(_handover_lag())
    else:
        value = Count("id", filter=delivery_handover_errors_q(start))
    keys = ["store_id"] if by == "store" else ["store_id", "sales_consultant_staff__user_id", "sales_consultant"]
    rows = list(
        SalesDelivery.objects.filter(
            store_id__in=_store_ids(user, store_ids),
            delivered_at__gte=start,
            delivered_at__lt=business_day_start(until),
        )
        .values(*keys)
        .annotate(deliveries=Count("id"), value=value)
        .order_by()
    )
    names: dict[int, str] = {}
    if by == "consultant":
        from aftercare.org.models import Staff

        uids = {r["sales_consultant_staff__user_id"] for r in rows} - {None}
        if uids:
            names = dict(Staff.objects.filter(user_id__in=uids).values_list("user_id", "display_name"))
    merged: dict = {}
    for row in rows:
        uid = row.get("sales_consultant_staff__user_id")
        label = names.get(uid, "") if uid is not None else (row.get("sales_consultant") or "").strip()
        key = (row["store_id"], uid, "" if uid is not None else label)
        out = merged.setdefault(
            key, {"store_id": row["store_id"], "user_id": uid, "label": label, "deliveries": 0, figure: 0}
        )
        out["deliveries"] += row["deliveries"]
        if figure == "lag":
            out["lag"] += int((row["value"] or dt.timedelta(0)).total_seconds())
        else:
            out["errors"] += row["value"] or 0
    return sorted(merged.values(), key=lambda r: (r["store_id"], r["user_id"] is None, r["user_id"] or 0, r["label"]))
