"""What a report says: the department's complaint forms of the period and how they were handled, its follow-up
results and dissatisfied answers, and its measures against target (docs/reports.md, "Reports by mail").

Read for one store by `store_reader(store)`, a stand-in user that sees exactly that store with a store manager's
permissions: a report is written by the job for whoever receives it, not for the user who asks for it, so its
content is the same whoever opens it. Every read below goes through the apps' scoped selectors or filters by the
reader's store."""

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from aftercare.org.calendar import business_day_start, month_add
from aftercare.org.choices import DepartmentKind, Role, SharedResource
from aftercare.org.kpis import Level, measure_get, measures
from aftercare.org.scoping import visible_store_ids
from aftercare.org.selectors import kpi_judge, kpi_targets_resolved

logger = logging.getLogger(__name__)

# The measures of the catalogue shown in a department's report (store figures; codes not registered are skipped).
# The store manager's report shows every store-level measure.
DEPARTMENT_MEASURES: dict[str, tuple[str, ...]] = {
    DepartmentKind.SALES: ("complaints.timeliness", "followups.return_visit_rate", "renewals.new_car_policy_count",
                           "renewals.new_car_policy_premium"),
    DepartmentKind.SERVICE_MECHANICAL: ("complaints.timeliness", "complaints.first_time_fix_rate",
                                        "followups.return_visit_rate", "appointments.appointment_rate",
                                        "appointments.show_rate", "appointments.bay_use",
                                        "appointments.rescue_arrival_median", "care.reminder_success_rate"),
    DepartmentKind.SERVICE_BODY: ("complaints.timeliness", "complaints.first_time_fix_rate", "appointments.bay_use"),
    DepartmentKind.SERVICE_PAINT: ("complaints.timeliness", "complaints.first_time_fix_rate", "appointments.bay_use"),
    DepartmentKind.SERVICE_WASH: ("complaints.timeliness",),
    DepartmentKind.PARTS: ("complaints.timeliness", "complaints.first_time_fix_rate"),
    DepartmentKind.CUSTOMER_SERVICE: ("complaints.timeliness", "complaints.verification_rate",
                                      "complaints.first_call_handled", "followups.return_visit_rate"),
    DepartmentKind.INSURANCE: ("complaints.timeliness", "renewals.renewal_rate", "renewals.renewal_rate_filed",
                               "renewals.renewal_count", "renewals.renewal_premium",
                               "renewals.renewal_effective_contact_rate"),
}

# A repair order's kind → the department its follow-up call speaks for.
REPAIR_KIND_DEPARTMENT = {
    "body": DepartmentKind.SERVICE_BODY,
    "paint": DepartmentKind.SERVICE_PAINT,
    "wash": DepartmentKind.SERVICE_WASH,
    "insurance_job": DepartmentKind.INSURANCE,
}
COMPLAINT_ROWS = 500  # at most this many forms listed (the counts are of all)
DISSATISFIED_ROWS = 500


class StoreReader:
    """A user-like reader of one store for the scoped selectors: a store manager's permissions, only `store_id` in
    scope for every resource. Never logged in, never saved; audit events it causes name no actor."""

    is_authenticated = True
    is_active = True
    pk = id = None

    def __init__(self, store):
        self.staff = type("ReaderStaff", (), {"role": Role.STORE_MANAGER, "group_id": store.group_id,
                                              "department_id": None})()
        ids = frozenset({store.pk})
        self._scope_cache = {None: ids, **{r: ids for r in SharedResource.values}}

    def get_username(self) -> str:
        return "reports"


def store_reader(store) -> StoreReader:
    return StoreReader(store)


@dataclass
class ReportContent:
    store: object
    department: object | None
    kind: str
    period_start: dt.date
    period_end: dt.date
    as_of: dt.datetime
    complaints: dict = field(default_factory=dict)
    complaint_rows: list = field(default_factory=list)
    followups: dict = field(default_factory=dict)
    dissatisfied_rows: list = field(default_factory=list)
    kpi_month: dt.date | None = None
    kpi_rows: list = field(default_factory=list)
    action_rows: list = field(default_factory=list)

    def summary(self) -> dict:
        """The figures kept on the row (the archive list shows them without opening a file)."""
        return {
            "complaints": self.complaints.get("total", 0),
            "in_time": self.complaints.get("in_time", 0),
            "overdue": self.complaints.get("overdue", 0),
            "followups": self.followups.get("closed", 0),
            "dissatisfied": self.followups.get("dissatisfied", 0),
            "kpis_missed": sum(1 for row in self.kpi_rows if row["state"] == "missed"),
            "actions_overdue": sum(1 for row in self.action_rows if row["overdue"]),
        }


def report_content(*, store, department, kind: str, period_start: dt.date, period_end: dt.date,
                   now: dt.datetime | None = None) -> ReportContent:
    """Everything a report shows, for `department` of `store` (None: the whole store) over `[start, end)`."""
    reader = store_reader(store)
    assert visible_store_ids(reader) == {store.pk}
    content = ReportContent(store, department, kind, period_start, period_end, now or timezone.now())
    since, until = business_day_start(period_start), business_day_start(period_end)
    _complaints(content, reader, since, until)
    _followups(content, reader, since, until)
    _kpis(content, reader)
    _actions(content, until)
    return content


# ---- the action register (docs/reports.md, "Action register") ----------------------------------------------------


def _actions(content: ReportContent, until: dt.datetime) -> None:
    """The rectification actions still to do or to verify at the period's end, and those closed in the period: the
    store's for the store manager, a department's owned by its staff. One query."""
    from django.db.models import Q

    from aftercare.reports.choices import ActionStatus
    from aftercare.reports.models import RectificationAction

    since = business_day_start(content.period_start)
    qs = RectificationAction.objects.filter(store=content.store, created_at__lt=until).filter(
        Q(status__in=[ActionStatus.OPEN, ActionStatus.DONE])
        | Q(status=ActionStatus.VERIFIED, verified_at__gte=since, verified_at__lt=until)
    )
    if content.department is not None:
        qs = qs.filter(owner__staff__department=content.department)
    last_day = content.period_end - dt.timedelta(days=1)
    content.action_rows = [
        {
            "id": a.pk,
            "title": a.title,
            "source": a.get_source_display(),
            "source_detail": a.source_detail,
            "owner": getattr(getattr(a.owner, "staff", None), "display_name", "") or a.owner.get_username(),
            "due_date": a.due_date,
            "status": a.get_status_display(),
            "overdue": a.status == ActionStatus.OPEN and a.due_date <= last_day,
        }
        for a in qs.select_related("owner__staff").order_by("status", "due_date", "id")
    ]


# ---- complaints ---------------------------------------------------------------------------------------------------


def handling_state(fb, as_of: dt.datetime) -> str:
    """in_time / late (first returned before / after the deadline), overdue (not returned, deadline passed, clock
    running), paused, open (deadline ahead), unrouted (no deadline yet: not sent to a department, or closed)."""
    if fb.first_returned_in_time is True:
        return "in_time"
    if fb.first_returned_in_time is False:
        return "late"
    if fb.deadline_at is None:
        return "unrouted"
    if fb.paused_at is not None:
        return "paused"
    return "overdue" if fb.deadline_at <= as_of else "open"


def _complaints(content: ReportContent, reader, since, until) -> None:
    from aftercare.complaints.selectors import feedback_list

    qs = feedback_list(user=reader, store_ids=[content.store.pk], since=since, until=until,
                       department_id=content.department.pk if content.department else None)
    forms = list(qs.order_by("created_at", "id"))
    states = Counter(handling_state(fb, content.as_of) for fb in forms)
    kinds = Counter(fb.kind for fb in forms)
    due = states["in_time"] + states["late"] + states["overdue"]
    content.complaints = {
        "total": len(forms),
        "complaint": kinds["complaint"],
        "grievance": kinds["grievance"],
        "suggestion": kinds["suggestion"],
        "in_time": states["in_time"],
        "late": states["late"],
        "overdue": states["overdue"],
        "open": states["open"] + states["paused"] + states["unrouted"],
        "timeliness": _pct(states["in_time"], due),
    }
    content.complaint_rows = [
        {
            "id": fb.pk,
            "created_at": fb.created_at,
            "kind": fb.get_kind_display(),
            "category": fb.get_category_display(),
            "severity": fb.get_severity_display(),
            "department": fb.department.name if fb.department_id else "",
            "customer": fb.customer.name,
            "status": fb.get_status_display(),
            "deadline_at": fb.deadline_at,
            "returned_at": fb.first_returned_at,
            "state": handling_state(fb, content.as_of),
            "result": fb.result,
        }
        for fb in forms[:COMPLAINT_ROWS]
    ]


# ---- follow-ups ---------------------------------------------------------------------------------------------------


def _task_departments(tasks) -> dict[int, str | None]:
    """{task id: department kind} of follow-up tasks: a sale's call speaks for sales, a repair order's for the
    department of its kind, a renewal contact for insurance, a complaint's verification call for the form's
    department; care, campaign and recall calls for no department (the store's report only)."""
    from aftercare.complaints.models import Feedback
    from aftercare.customers.models import RepairOrder
    from aftercare.followups.choices import FollowupKind, SubjectType

    ro_ids = [t.subject_id for t in tasks if t.subject_type == SubjectType.REPAIR_ORDER]
    ro_kind = dict(RepairOrder.objects.filter(pk__in=ro_ids).values_list("pk", "kind")) if ro_ids else {}
    verify_ids = [t.pk for t in tasks if t.kind == FollowupKind.COMPLAINT_VERIFICATION]
    verified = dict(
        Feedback.objects.filter(verification_task_id__in=verify_ids, department__isnull=False)
        .values_list("verification_task_id", "department__kind")
    ) if verify_ids else {}
    out = {}
    for t in tasks:
        if t.kind == FollowupKind.SSI or t.subject_type == SubjectType.DELIVERY:
            out[t.pk] = DepartmentKind.SALES
        elif t.kind == FollowupKind.RENEWAL:
            out[t.pk] = DepartmentKind.INSURANCE
        elif t.kind == FollowupKind.COMPLAINT_VERIFICATION:
            out[t.pk] = verified.get(t.pk)
        elif t.subject_type == SubjectType.REPAIR_ORDER:
            out[t.pk] = REPAIR_KIND_DEPARTMENT.get(ro_kind.get(t.subject_id), DepartmentKind.SERVICE_MECHANICAL)
        elif t.kind == FollowupKind.REPEAT_REPAIR:
            out[t.pk] = DepartmentKind.SERVICE_MECHANICAL
        else:
            out[t.pk] = None
    return out


def _followups(content: ReportContent, reader, since, until) -> None:
    from aftercare.complaints.models import Feedback
    from aftercare.followups.models import AnswerSheet
    from aftercare.followups.selectors import followup_task_list

    store_ids = [content.store.pk]
    tasks = list(followup_task_list(user=reader, store_ids=store_ids)
                 .filter(completed_at__gte=since, completed_at__lt=until)
                 .only("id", "kind", "status", "subject_type", "subject_id"))
    sheets = list(
        AnswerSheet.objects.filter(store_id__in=visible_store_ids(reader) & set(store_ids),
                                   answered_at__gte=since, answered_at__lt=until)
        .select_related("task__customer").order_by("answered_at", "id")
    )
    task_dept = _task_departments(tasks + [s.task for s in sheets if s.task_id not in {t.pk for t in tasks}])
    sheet_form = {}  # dissatisfied sheet id → (form id, department kind) of the form it raised
    for sheet_id, form_id, dept_kind in Feedback.objects.filter(
        store_id__in=store_ids, answer_sheet_id__in=[s.pk for s in sheets if s.dissatisfied]
    ).values_list("answer_sheet_id", "id", "department__kind"):
        sheet_form[sheet_id] = (form_id, dept_kind)
    mine = content.department.kind if content.department is not None else None

    def ours(kind: str | None) -> bool:
        return mine is None or kind == mine

    tasks = [t for t in tasks if ours(task_dept.get(t.pk))]
    statuses = Counter(t.status for t in tasks)

    def sheet_kind(s) -> str | None:
        form = sheet_form.get(s.pk)
        return form[1] if form and form[1] else task_dept.get(s.task_id)

    sheets = [s for s in sheets if ours(sheet_kind(s))]
    scores = [s.score_total for s in sheets if s.score_total is not None]
    bad = [s for s in sheets if s.dissatisfied]
    content.followups = {
        "closed": len(tasks),
        "completed": statuses["completed"],
        "unreachable": statuses["unreachable"],
        "refused": statuses["refused"],
        "other": len(tasks) - statuses["completed"] - statuses["unreachable"] - statuses["refused"],
        "sheets": len(sheets),
        "score_avg": (sum(scores, Decimal(0)) / len(scores)).quantize(Decimal("0.1")) if scores else None,
        "dissatisfied": len(bad),
        "dissatisfied_rate": _pct(len(bad), len(sheets)),
    }
    content.dissatisfied_rows = [
        {
            "answered_at": s.answered_at,
            "customer": s.task.customer.name,
            "call": s.task.get_kind_display(),
            "score": s.score_total,
            "reasons": ", ".join(str(r) for r in s.dissatisfied_reasons),
            "notes": s.notes,
            "form_id": sheet_form.get(s.pk, (None,))[0],
        }
        for s in bad[:DISSATISFIED_ROWS]
    ]


# ---- measures -----------------------------------------------------------------------------------------------------


def report_measures(department) -> list:
    """The catalogue's measures of a department's report (all store-level ones for the store manager)."""
    if department is None:
        return [m for m in measures() if Level.STORE in m.levels and m.compute is not None]
    found = [measure_get(code) for code in DEPARTMENT_MEASURES.get(department.kind, ("complaints.timeliness",))]
    return [m for m in found if m is not None and m.compute is not None and Level.STORE in m.levels]


def _kpis(content: ReportContent, reader) -> None:
    """Month to date: each measure over the month of the period's last day until the period's end, against the
    store's target of that month (running while the month is not over)."""
    last_day = content.period_end - dt.timedelta(days=1)
    month = last_day.replace(day=1)
    running = content.period_end < month_add(month, 1)
    content.kpi_month = month
    wanted = report_measures(content.department)
    targets = kpi_targets_resolved(user=reader, store_ids=[content.store.pk], measures=wanted, months=[month])
    for measure in wanted:
        value = None
        try:
            rows = measure.compute(user=reader, store_ids=[content.store.pk], period_start=month,
                                   period_end=content.period_end)
            row = next((r for r in rows if r.store_id == content.store.pk and r.user_id is None), None)
            value = row.value if row is not None else None
        except Exception:  # one measure that fails leaves its cell empty; the report still goes out
            logger.exception("measure %s failed in a report of store %s", measure.code, content.store.pk)
        target = targets.get((content.store.pk, measure.code, month))
        judged = kpi_judge(measure, value, target, running=running)
        content.kpi_rows.append({
            "code": measure.code,
            "name": str(measure.name),
            "unit": str(measure.unit_label),
            "value": value,
            "target": target.value if target is not None else None,
            "gap": judged.gap_display,
            "state": judged.state,
        })


def _pct(numerator: int, denominator: int) -> Decimal | None:
    return (Decimal(numerator) * 100 / denominator).quantize(Decimal("0.1")) if denominator else None
