"""Complaint handling of the demo group: configuration, 18 months of worked forms, and today's open forms.

`demo_complaints_create` runs after the follow-up history (`demo_followups_create`), whose dissatisfied calls
left grievances and suggestions as `new` forms:

1. configuration with the real services: each department's designee (the `<store>_sales`, `_mech`, `_body`,
   `_paint`, `_wash`, `_parts`, `_ins` logins), the default escalation tiers (supervisor at the deadline, store
   manager one working day later) and shorter deadlines for high and critical complaints;
2. complaints that did not come from a follow-up call (inbound calls, walk-ins, the carmaker hotline, online),
   about two per store and month, after a repair order;
3. every form worked along the services' state machine, simulated in bulk with the store's work calendar:
   routed to the designee (complaints mostly taken over by the supervisor), sometimes paused waiting for parts
   or the customer, returned (about 7 % late, escalated on the way), a verification call task done by a
   specialist, archived by the CS manager; about 6 % are reopened once after an unsatisfied verification call.
   Steps that would fall after `now` do not happen: recent forms stay open where they are;
4. per store a scripted handful open today at every stage: new (to route), with the department (fresh, due soon,
   overdue and escalated, paused waiting for parts, reopened), returned awaiting the verification call,
   verified awaiting archive — with the notifications their people would have received.

Deterministic for a seed and `now`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from aftercare.complaints.choices import (
    CATEGORY_DEPARTMENT,
    DEFAULT_ESCALATION_TIERS,
    FeedbackAction,
    FeedbackCategory,
    FeedbackKind,
    FeedbackSeverity,
    FeedbackSource,
    FeedbackStatus,
    PauseReason,
    VerificationResult,
)
from aftercare.complaints.models import DeadlinePolicy, DepartmentDesignee, Feedback, FeedbackEvent
from aftercare.complaints.selectors import complaint_settings_get, escalation_tier_list
from aftercare.complaints.services.configuration import (
    deadline_policy_set,
    department_designee_set,
    escalation_tiers_set,
)
from aftercare.complaints.services.first_time_fix import repeat_repairs_detect
from aftercare.core.choices import AuditAction
from aftercare.core.models import Notification
from aftercare.core.services import audit_event_record
from aftercare.customers.models import RepairOrder
from aftercare.followups.choices import (
    CallDirection,
    CallOutcome,
    CallPurpose,
    FollowupKind,
    SubjectType,
    TaskStatus,
)
from aftercare.followups.models import CallLog, FollowupRule, FollowupTask
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.calendar import business_date, statutory_workday
from aftercare.org.choices import DepartmentKind, Role
from aftercare.org.models import Department, Staff, Store, WorkCalendarDay

from .customers import TZ, FastRandom
from .followups import _REPAIR_CATEGORY  # a repair order's kind → the category of what its customer says
from .org import STORES

DESIGNEE_LOGIN = {  # department kind → login suffix of its designee
    DepartmentKind.SALES: "sales",
    DepartmentKind.SERVICE_MECHANICAL: "mech",
    DepartmentKind.SERVICE_BODY: "body",
    DepartmentKind.SERVICE_PAINT: "paint",
    DepartmentKind.SERVICE_WASH: "wash",
    DepartmentKind.PARTS: "parts",
    DepartmentKind.INSURANCE: "ins",
}
DEADLINE_POLICIES = (
    (FeedbackKind.COMPLAINT, FeedbackSeverity.CRITICAL, 1),
    (FeedbackKind.COMPLAINT, FeedbackSeverity.HIGH, 2),
)
EXTRA_PER_MONTH = 2  # complaints per store and month that did not come from a follow-up call
LATE_SHARE = 0.07
REOPEN_SHARE = 0.06
PAUSE_SHARE = 0.08
TAKE_OVER_SHARE = 0.8  # complaints (投诉) handled by supervisor level: the KPI of seed 000 p8
SUGGESTION_CLOSED_SHARE = 0.5
DAY_START, DAY_END = dt.time(9, 0), dt.time(18, 0)  # departments work 09:00–18:00
NOTIFY_DAYS = 14  # notifications are made for forms routed in the last two weeks

_EXTRA_SOURCES = (
    (FeedbackSource.INBOUND_CALL, 0.4),
    (FeedbackSource.WALK_IN, 0.25),
    (FeedbackSource.CARMAKER_HOTLINE, 0.2),
    (FeedbackSource.ONLINE, 0.15),
)
_SEVERITIES = (
    (FeedbackSeverity.NORMAL, 0.68),
    (FeedbackSeverity.HIGH, 0.2),
    (FeedbackSeverity.LOW, 0.07),
    (FeedbackSeverity.CRITICAL, 0.05),
)
_COMPLAINTS = {
    FeedbackCategory.SALES: ("购车时承诺的赠品至今未兑现，多次询问无人答复", "新车交付一周就发现漆面划痕，要求处理"),
    FeedbackCategory.MECHANICAL: (
        "同一个异响问题来店三次都没修好",
        "保养后发动机故障灯亮起，怀疑操作不当",
        "维修结算多收了工时费",
    ),
    FeedbackCategory.BODY: ("事故车修复后下雨天后备箱漏水", "钣金维修拖了两周还没交车"),
    FeedbackCategory.PAINT: ("喷漆一个月后出现起泡", "补漆颜色与原车明显不一致"),
    FeedbackCategory.WASH: ("洗车时刮伤了轮毂", "洗车后车内物品丢失"),
    FeedbackCategory.PARTS: ("订的配件等了三周还没到货", "更换的配件不是原厂件"),
    FeedbackCategory.FACILITIES: ("休息区空调坏了，等车时很热", "停车场没有车位，只能停在路边"),
    FeedbackCategory.PRODUCT_QUALITY: ("车机系统频繁死机重启", "变速箱低速顿挫明显"),
}
_HANDLING = {  # (actions taken, root cause, result)
    FeedbackCategory.SALES: (
        "销售经理致电客户致歉，重新安排功能讲解并补送承诺的精品",
        "交车流程未执行讲解清单",
        "客户接受处理，表示满意",
    ),
    FeedbackCategory.MECHANICAL: (
        "技术经理复检车辆，重新诊断并免费返修，邀请客户试车确认",
        "首次诊断不完整，未做路试",
        "故障排除，客户试车确认",
    ),
    FeedbackCategory.BODY: ("重新调整门缝并做淋水测试，赠送一次精洗", "装配间隙未按标准检验", "问题解决，客户认可"),
    FeedbackCategory.PAINT: ("返工重喷，客户到店验收色差", "调漆未在自然光下比色", "重喷后客户满意"),
    FeedbackCategory.WASH: ("洗车房主管当面致歉，免费重洗并赠送洗车券", "交车前未做内饰检查", "客户接受道歉"),
    FeedbackCategory.PARTS: ("配件经理协调调拨到货，优先安排更换", "供应商缺货，未及时告知客户", "已更换，客户满意"),
    FeedbackCategory.FACILITIES: ("行政部维修空调并增加临时车位指引", "设施巡检不到位", "设施已恢复"),
    FeedbackCategory.PRODUCT_QUALITY: ("按厂家技术通报升级软件并上报厂家", "已知产品问题", "升级后故障未再出现"),
}
_SUGGESTION_RESULT = ("建议已采纳，下月起实施", "感谢建议，已纳入门店改进计划")
_CLOSE_NOTES = ("建议已转交行政部参考，无需处理", "与客户沟通后确认无需进一步处理")


class _Calendar:
    """The store's work calendar in memory (the statutory calendar plus its overrides), for many look-ups."""

    def __init__(self, store: Store, now: dt.datetime):
        today = now.astimezone(TZ).date()
        self.start, self.end = today - dt.timedelta(days=800), today + dt.timedelta(days=120)
        self.overrides: dict[dt.date, bool] = {}
        rows = (
            WorkCalendarDay.objects.filter(date__gte=self.start, date__lte=self.end)
            .filter(store__isnull=True)
            .values_list("date", "is_workday")
        )
        self.overrides.update(rows)
        self.overrides.update(
            WorkCalendarDay.objects.filter(store=store, date__gte=self.start, date__lte=self.end).values_list(
                "date", "is_workday"
            )
        )
        self._workday: dict[dt.date, bool] = {}
        self._deadlines: dict[tuple[dt.date, int], dt.datetime] = {}

    def workday(self, day: dt.date) -> bool:
        if day not in self._workday:
            self._workday[day] = self.overrides.get(day, statutory_workday(day))
        return self._workday[day]

    def add(self, day: dt.date, n: int) -> dt.date:
        """Like `org.calendar.add_working_days`."""
        if n == 0:
            while not self.workday(day):
                day += dt.timedelta(days=1)
            return day
        while n:
            day += dt.timedelta(days=1)
            n -= self.workday(day)
        return day

    def back(self, day: dt.date, n: int) -> dt.date:
        """The working day `n` working days before `day` (n=0: `day` or the working day before it)."""
        while not self.workday(day):
            day -= dt.timedelta(days=1)
        while n:
            day -= dt.timedelta(days=1)
            n -= self.workday(day)
        return day

    def deadline(self, moment: dt.datetime, n: int) -> dt.datetime:
        """Like `org.calendar.working_deadline`: 00:00 Shanghai after the `n`-th working day, as UTC."""
        key = (moment.astimezone(TZ).date(), n)
        if key not in self._deadlines:
            due = self.add(key[0], n)
            self._deadlines[key] = dt.datetime.combine(due + dt.timedelta(days=1), dt.time(0), tzinfo=TZ).astimezone(
                dt.UTC
            )
        return self._deadlines[key]

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]."""
        n, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            n += self.workday(day)
        return n

    def at(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ).astimezone(dt.UTC)


def demo_complaints_exist(stores: list[Store]) -> bool:
    return DepartmentDesignee.objects.filter(store__in=stores).exists()


def demo_complaints_create(*, stores: list[Store], seed: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Configuration, history and today's open forms of the demo `stores` (see the module docstring)."""
    now = now or timezone.now()
    counts: dict[str, int] = defaultdict(int)
    prefixes = {s.code: s.prefix for s in STORES}
    with transaction.atomic():
        for store in stores:
            staff = _store_staff(store, prefixes.get(store.code, store.code.lower()))
            if "csm" not in staff:
                continue
            _configure(store, staff)
            sim = _Simulation(store, staff, FastRandom(f"{seed}:complaints:{store.code}"), now)
            sim.run()
            sim.write()
            for key, value in sim.counts().items():
                counts[key] += value
            counts["repeat_repairs"] += _repeat_repairs(store, staff, now)
            audit_event_record(
                actor=None,
                action=AuditAction.IMPORT,
                object_type="org.demo_seed",
                store_id=store.pk,
                detail={"complaints": sim.counts()},
            )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in (Feedback, FeedbackEvent, FollowupTask, CallLog, Notification):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return dict(counts)


def _repeat_repairs(store: Store, staff: dict, now: dt.datetime) -> int:
    """First-time fix over the demo's history (the real detection), its follow-up calls made except recent ones."""
    first = RepairOrder.objects.filter(store=store).order_by("settled_at").values_list("settled_at", flat=True).first()
    if first is None:
        return 0
    found = repeat_repairs_detect(store_id=store.pk, since=business_date(first), now=now)
    caller = staff.get("cs")
    if caller is None:
        return found
    done = list(
        FollowupTask.objects.filter(
            store=store,
            kind=FollowupKind.REPEAT_REPAIR,
            status=TaskStatus.OPEN,
            due_at__lt=now - dt.timedelta(days=2),
        )
    )
    calls = []
    for task in done:  # called the day after the comeback, like the other demo calls: one call log per attempt
        task.status, task.outcome, task.attempts = TaskStatus.COMPLETED, CallOutcome.COMPLETED, 1
        task.claimed_at, task.claimed_by = task.event_at + dt.timedelta(hours=19), caller
        task.completed_at, task.completed_by, task.updated_at = task.event_at + dt.timedelta(hours=20), caller, now
        calls.append(
            CallLog(
                store=store,
                task=task,
                customer_id=task.customer_id,
                handler=caller,
                direction=CallDirection.OUTBOUND,
                purpose=CallPurpose.FOLLOWUP,
                called_at=task.completed_at,
                outcome=CallOutcome.COMPLETED,
            )
        )
    FollowupTask.objects.bulk_update(
        done,
        ["status", "outcome", "attempts", "claimed_at", "claimed_by", "completed_at", "completed_by", "updated_at"],
        batch_size=500,
    )
    CallLog.objects.bulk_create(calls, batch_size=500)
    return found


def _store_staff(store: Store, prefix: str) -> dict[str, object]:
    """Login suffix (`cs`, `mech` …) → user, for the store's own demo logins; plus `specialists`."""
    out: dict[str, object] = {}
    specialists = []
    for s in Staff.objects.filter(stores=store).select_related("user").order_by("user__username"):
        name = s.user.get_username()
        if name.startswith(f"{prefix}_"):
            out[name[len(prefix) + 1 :]] = s.user
        if s.role == Role.CS_SPECIALIST:
            specialists.append(s.user)
    out["specialists"] = specialists
    return out


def _configure(store: Store, staff: dict) -> None:
    """Designees, escalation tiers and deadline policies through the real services (as the CS manager)."""
    actor = staff["csm"]
    for department in Department.objects.filter(store=store).order_by("kind"):
        login = DESIGNEE_LOGIN.get(department.kind)
        if login in staff:
            department_designee_set(actor=actor, department=department, user=staff[login])
    escalation_tiers_set(actor=actor, store=store, tiers=[tuple(t) for t in DEFAULT_ESCALATION_TIERS])
    for kind, severity, days in DEADLINE_POLICIES:
        deadline_policy_set(actor=actor, store=store, kind=kind, severity=severity, working_days=days)


class _Simulation:
    """Plans one store's forms from `created_at` to `now`, then writes them in bulk."""

    def __init__(self, store: Store, staff: dict, rng: FastRandom, now: dt.datetime):
        self.store, self.staff, self.rng, self.now = store, staff, rng, now
        self.cal = _Calendar(store, now)
        self.warn = dt.timedelta(hours=complaint_settings_get(store_id=store.pk).warn_hours)
        self.tiers = list(escalation_tier_list(store_id=store.pk))
        self.policy = {(p.kind, p.severity): p.working_days for p in DeadlinePolicy.objects.filter(store=store)}
        self.designees = {
            d.department_id: d.user for d in DepartmentDesignee.objects.filter(store=store).select_related("user")
        }
        self.departments = {d.kind: d for d in Department.objects.filter(store=store)}
        self.roles = dict(Staff.objects.filter(stores=store).values_list("user_id", "role"))
        rules = {r.code: r for r in FollowupRule.objects.filter(store=store)}
        if "VERIFY" not in rules:
            rules = {r.code: r for r in followup_rules_seed_defaults(store)}
        self.verify_rule = rules["VERIFY"]
        self.specialists = staff["specialists"] or [staff["csm"]]
        self.forms: list[Feedback] = list(
            Feedback.objects.filter(store=store, status=FeedbackStatus.NEW)
            .select_related("created_by")
            .order_by("created_at", "id")
        )
        self.new_forms: list[Feedback] = []
        self.plans: dict[int, dict] = {}  # id(form) → scripted plan
        self.events: list[tuple[Feedback, FeedbackEvent, dt.datetime]] = []
        self.tasks: list[tuple[Feedback, FeedbackEvent, FollowupTask, CallLog | None]] = []
        self.notifications: list[tuple[Feedback, Notification, dt.datetime]] = []
        self.verification: dict[int, FollowupTask] = {}  # id(form) → its latest verification task

    # --- planning ---

    def run(self) -> None:
        self._extra_forms()
        self._todays_forms()
        for form in self.forms + self.new_forms:
            self._work(form, self.plans.get(id(form)) or self._random_plan(form))

    def _moment(self, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
        """A moment in the departments' working hours inside [lo, hi) (lo + 10 min when there is none)."""
        spans = []
        day, last = lo.astimezone(TZ).date(), hi.astimezone(TZ).date()
        while day <= last:
            if self.cal.workday(day):
                start = max(lo, dt.datetime.combine(day, DAY_START, tzinfo=TZ))
                end = min(hi, dt.datetime.combine(day, DAY_END, tzinfo=TZ))
                if end > start:
                    spans.append((start, (end - start).total_seconds()))
            day += dt.timedelta(days=1)
        total = sum(s for _, s in spans)
        if total < 60:
            return lo + dt.timedelta(minutes=10)
        x = total * self.rng.random()
        for start, seconds in spans:
            if x < seconds:
                return (start + dt.timedelta(seconds=int(x))).astimezone(dt.UTC)
            x -= seconds
        return (spans[-1][0] + dt.timedelta(seconds=spans[-1][1] - 60)).astimezone(dt.UTC)

    def _pick(self, weighted):
        x = self.rng.random()
        for value, share in weighted:
            if x < share:
                return value
            x -= share
        return weighted[0][0]

    def _new_form(self, *, customer_id, vehicle_id, category, kind, source, severity, text, created_at) -> Feedback:
        form = Feedback(
            store=self.store,
            kind=kind,
            source=source,
            category=category,
            department=self.departments.get(CATEGORY_DEPARTMENT.get(category)),
            customer_id=customer_id,
            vehicle_id=vehicle_id,
            text=text,
            status=FeedbackStatus.NEW,
            severity=severity,
            created_by=self.rng.choice(self.specialists),
        )
        form.created_at = created_at
        self.new_forms.append(form)
        return form

    def _callable_orders(self, *, settled_days_ago: int):
        """The store's repair orders of a vehicle, settled over `settled_days_ago` days ago, whose customer agreed
        to service calls: what a complaint form is made after."""
        return RepairOrder.objects.filter(
            store=self.store,
            settled_at__lt=self.now - dt.timedelta(days=settled_days_ago),
            vehicle__isnull=False,
            customer__consent_service_calls=True,
        )

    def _extra_forms(self) -> None:
        """Complaints by other channels, after repair orders of the past 18 months (not the last two weeks)."""
        orders = list(
            self._callable_orders(settled_days_ago=14)
            .order_by("settled_at", "id")
            .values_list("customer_id", "vehicle_id", "settled_at", "kind")
        )
        if not orders:
            return
        months = {(o[2].astimezone(TZ).year, o[2].astimezone(TZ).month) for o in orders}
        for customer_id, vehicle_id, settled_at, kind in self.rng.sample(
            orders, min(len(orders), EXTRA_PER_MONTH * len(months))
        ):
            category = _REPAIR_CATEGORY.get(kind, FeedbackCategory.MECHANICAL)
            r = self.rng.random()
            if r < 0.08:
                category = FeedbackCategory.PARTS
            elif r < 0.12:
                category = FeedbackCategory.PRODUCT_QUALITY
            start = settled_at + dt.timedelta(days=self.rng.randint(1, 10))
            self._new_form(
                customer_id=customer_id,
                vehicle_id=vehicle_id,
                category=category,
                kind=FeedbackKind.COMPLAINT if self.rng.random() < 0.7 else FeedbackKind.GRIEVANCE,
                source=self._pick(_EXTRA_SOURCES),
                severity=self._pick(_SEVERITIES),
                text=self.rng.choice(_COMPLAINTS[category]),
                created_at=self._moment(start, start + dt.timedelta(days=3)),
            )

    def _todays_forms(self) -> None:
        """One open form at every stage today (scripted plans; times relative to `now`)."""
        orders = list(
            self._callable_orders(settled_days_ago=20)
            .order_by("-settled_at", "id")
            .values_list("customer_id", "vehicle_id")[:40]
        )
        if len(orders) < 8:
            return
        picks = iter(self.rng.sample(orders, 8))
        today = self.now.astimezone(TZ).date()
        cal = self.cal
        hour = dt.timedelta(hours=1)
        later = self.now + dt.timedelta(days=60)  # "not yet": a step planned after now never happens

        def form(category, kind, severity, source, created_at, plan):
            customer_id, vehicle_id = next(picks)
            row = self._new_form(
                customer_id=customer_id,
                vehicle_id=vehicle_id,
                category=category,
                kind=kind,
                source=source,
                severity=severity,
                text=self.rng.choice(_COMPLAINTS[category]),
                created_at=created_at,
            )
            self.plans[id(row)] = {"late": False, "pause": None, "reopen": False, "take_over": False, **plan}

        mech = FeedbackCategory.MECHANICAL
        # overdue: 4 working days ago, the 3-day deadline passed, escalated to the supervisor
        form(
            mech,
            FeedbackKind.COMPLAINT,
            FeedbackSeverity.NORMAL,
            FeedbackSource.INBOUND_CALL,
            cal.at(cal.back(today - dt.timedelta(days=1), 3), 10, 20),
            {"returns": [later]},
        )
        # due soon: the deadline is tonight (the due-soon warning went out)
        form(
            mech,
            FeedbackKind.GRIEVANCE,
            FeedbackSeverity.NORMAL,
            FeedbackSource.WALK_IN,
            cal.at(cal.back(cal.add(today, 0), 3), 11, 5),
            {"returns": [later]},
        )
        # paused: waiting for parts since yesterday
        created = cal.at(cal.back(today - dt.timedelta(days=1), 1), 14, 30)
        form(
            mech,
            FeedbackKind.GRIEVANCE,
            FeedbackSeverity.HIGH,
            FeedbackSource.CARMAKER_HOTLINE,
            created,
            {"returns": [later], "pause": (created + 3 * hour, PauseReason.WAITING_PARTS, later)},
        )
        # fresh: recorded this morning, with the sales department
        form(
            FeedbackCategory.SALES,
            FeedbackKind.COMPLAINT,
            FeedbackSeverity.NORMAL,
            FeedbackSource.ONLINE,
            min(self.now - hour, cal.at(today, 9, 40)),
            {"returns": [later]},
        )
        # reopened: returned in time, the customer was not satisfied yesterday; back with the department
        created = cal.at(cal.back(today - dt.timedelta(days=1), 5), 10, 0)
        form(
            FeedbackCategory.PAINT,
            FeedbackKind.GRIEVANCE,
            FeedbackSeverity.NORMAL,
            FeedbackSource.INBOUND_CALL,
            created,
            {
                "reopen": True,
                "returns": [created + 26 * hour, later],
                "calls": [cal.at(cal.back(today - dt.timedelta(days=1), 0), 15, 10), later],
            },
        )
        # returned this morning: awaiting the verification call
        created = cal.at(cal.back(today - dt.timedelta(days=1), 2), 16, 0)
        form(
            FeedbackCategory.BODY,
            FeedbackKind.GRIEVANCE,
            FeedbackSeverity.NORMAL,
            FeedbackSource.WALK_IN,
            created,
            {"returns": [min(self.now - hour, cal.at(today, 9, 30))], "calls": [later]},
        )
        # verified yesterday: awaiting archive
        created = cal.at(cal.back(today - dt.timedelta(days=1), 3), 10, 45)
        form(
            FeedbackCategory.WASH,
            FeedbackKind.COMPLAINT,
            FeedbackSeverity.LOW,
            FeedbackSource.WALK_IN,
            created,
            {
                "returns": [created + 28 * hour],
                "calls": [cal.at(cal.back(today - dt.timedelta(days=1), 0), 16, 20)],
                "archive": later,
            },
        )
        # new: a facilities complaint (customer service has no designee): the CS manager must route it
        form(
            FeedbackCategory.FACILITIES,
            FeedbackKind.GRIEVANCE,
            FeedbackSeverity.NORMAL,
            FeedbackSource.WALK_IN,
            min(self.now - hour, cal.at(today, 10, 15)),
            {"route": later},
        )

    def _random_plan(self, form: Feedback) -> dict:
        rng = self.rng
        closed = form.kind == FeedbackKind.SUGGESTION and rng.random() < SUGGESTION_CLOSED_SHARE
        return {
            "late": rng.random() < LATE_SHARE,
            "reopen": rng.random() < REOPEN_SHARE,
            "pause": "random" if rng.random() < PAUSE_SHARE else None,
            "take_over": form.kind == FeedbackKind.COMPLAINT and rng.random() < TAKE_OVER_SHARE,
            "close": closed,
        }

    def _event(self, form, at, action, from_status="", to_status="", actor=None, note="", detail=None):
        event = FeedbackEvent(
            store=self.store,
            feedback=form,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            note=note,
            detail=detail or {},
        )
        self.events.append((form, event, at))
        return event

    def _notify(self, form, user, at, title, body=""):
        if user is None or at < self.now - dt.timedelta(days=NOTIFY_DAYS):
            return
        row = Notification(store=self.store, recipient_id=user.pk, title=title, body=body[:500])
        row.read_at = (
            at + dt.timedelta(hours=2) if at + dt.timedelta(hours=2) < self.now and self.rng.random() < 0.5 else None
        )
        self.notifications.append((form, row, at))

    def _clock(self, form: Feedback) -> None:
        """warn_at and the pending escalation instant, from the deadline (levels already reached stay)."""
        form.warn_at = form.deadline_at - self.warn
        form.warned_at = None
        form.next_escalation_at = self._tier_instant(form, form.escalation_level + 1)

    def _tier_instant(self, form: Feedback, level: int) -> dt.datetime | None:
        for tier_level, _role, days in self.tiers:
            if tier_level == level:
                if days == 0:
                    return form.deadline_at
                return self.cal.deadline(form.deadline_at - dt.timedelta(microseconds=1), days)
        return None

    def _run_clock(self, form: Feedback, until: dt.datetime) -> None:
        """The job's warnings and escalations up to `until` (and never after now)."""
        until = min(until, self.now)
        if form.paused_at is not None:
            return
        if form.warned_at is None and form.warn_at <= until and form.warn_at < form.deadline_at:
            form.warned_at = form.warn_at
            self._event(form, form.warn_at, FeedbackAction.DUE_SOON)
            self._notify(form, form.assignee, form.warn_at, "投诉处理单即将到期", form.text[:80])
        while form.next_escalation_at is not None and form.next_escalation_at <= until:
            at = form.next_escalation_at
            form.escalation_level += 1
            form.escalated_at = at
            role = next(r for level, r, _d in self.tiers if level == form.escalation_level)
            self._event(form, at, FeedbackAction.ESCALATED, detail={"level": form.escalation_level, "role": role})
            for user_id, user_role in self.roles.items():
                if user_role == role:
                    self._notify(form, _UserRef(user_id), at, "投诉处理单已超时升级", form.text[:80])
            form.next_escalation_at = self._tier_instant(form, form.escalation_level + 1)

    def _work(self, form: Feedback, plan: dict) -> None:
        rng, cal, now = self.rng, self.cal, self.now
        staff = self.staff
        created = form.created_at
        self._event(form, created, FeedbackAction.CREATED, "", FeedbackStatus.NEW, form.created_by)
        assignee = self.designees.get(form.department_id)
        if assignee is None:  # no designee: the CS manager routes it to the supervisor
            at = plan.get("route") or self._moment(created + dt.timedelta(minutes=20), created + dt.timedelta(days=1))
            router, assignee = staff["csm"], staff.get("supervisor") or staff["csm"]
        else:
            at, router = created + dt.timedelta(seconds=1), form.created_by
        if at >= now:
            return
        days = self.policy.get((form.kind, form.severity), 3)
        form.status, form.assignee, form.routed_at = FeedbackStatus.ROUTED, assignee, at
        form.deadline_at = cal.deadline(created, days)
        self._clock(form)
        self._event(
            form,
            at,
            FeedbackAction.ROUTED,
            FeedbackStatus.NEW,
            FeedbackStatus.ROUTED,
            router,
            detail={"assignee": assignee.pk, "department": form.department_id},
        )
        self._notify(form, assignee, at, "新的投诉处理单", form.text[:80])
        t = at
        if plan.get("close"):
            at = self._moment(t + dt.timedelta(hours=2), t + dt.timedelta(days=2))
            if at < now:
                form.status = FeedbackStatus.CLOSED
                self._event(
                    form,
                    at,
                    FeedbackAction.CLOSED,
                    FeedbackStatus.ROUTED,
                    FeedbackStatus.CLOSED,
                    staff["csm"],
                    note=rng.choice(_CLOSE_NOTES),
                )
            return
        if plan.get("take_over") and "supervisor" in staff:
            at = self._moment(t + dt.timedelta(minutes=30), t + dt.timedelta(hours=20))
            if at >= now:
                return
            form.assignee = staff["supervisor"]
            self._event(form, at, FeedbackAction.TAKEN_OVER, actor=form.assignee, detail={"from": assignee.pk})
            t = at
        pause = plan.get("pause")
        if pause == "random":
            start = self._moment(t + dt.timedelta(hours=1), max(t + dt.timedelta(hours=2), form.deadline_at))
            reason = (
                PauseReason.WAITING_PARTS
                if form.category in (FeedbackCategory.MECHANICAL, FeedbackCategory.BODY, FeedbackCategory.PARTS)
                else PauseReason.WAITING_CUSTOMER
            )
            resume_day = cal.add(start.astimezone(TZ).date(), rng.randint(1, 3))
            pause = (start, reason, cal.at(resume_day, rng.randint(9, 16), rng.randint(0, 59)))
        if pause:
            start, reason, end = pause
            self._run_clock(form, start)
            if start >= now:
                return
            form.paused_at, form.pause_reason = start, reason
            self._event(
                form,
                start,
                FeedbackAction.PAUSED,
                actor=form.assignee,
                detail={"reason": reason},
                note="已订货，等待配件到店" if reason == PauseReason.WAITING_PARTS else "等待客户到店确认",
            )
            if end >= now:
                return
            n = cal.between(start.astimezone(TZ).date(), end.astimezone(TZ).date())
            form.paused_at, form.pause_reason = None, ""
            form.paused_working_days += n
            form.deadline_at = (
                cal.deadline(form.deadline_at - dt.timedelta(microseconds=1), n) if n else form.deadline_at
            )
            form.warn_at = form.deadline_at - self.warn
            if form.next_escalation_at is not None:
                form.next_escalation_at = self._tier_instant(form, form.escalation_level + 1)
            self._event(form, end, FeedbackAction.RESUMED, actor=form.assignee, detail={"working_days": n})
            t = end
        returns = list(plan.get("returns") or [])
        calls = list(plan.get("calls") or [])
        for round_no in range(2):
            late = plan.get("late") and round_no == 0
            if returns:
                ret = returns.pop(0)
            elif late:
                ret = self._moment(max(t, form.deadline_at), max(t, form.deadline_at) + dt.timedelta(days=3))
            else:
                ret = self._moment(
                    t + dt.timedelta(hours=2), max(t + dt.timedelta(hours=3), form.deadline_at - dt.timedelta(hours=6))
                )
            self._run_clock(form, ret)
            if ret >= now:
                return
            actions, cause, result = _HANDLING[form.category]
            if form.kind == FeedbackKind.SUGGESTION:
                actions, cause, result = "部门评估客户建议", "", rng.choice(_SUGGESTION_RESULT)
            returner = form.assignee
            form.status = FeedbackStatus.HANDLED
            form.actions_taken, form.root_cause, form.result = actions, cause, result
            form.returned_at, form.returned_by = ret, returner
            form.returned_by_role = self.roles.get(returner.pk, "")
            form.returned_in_time = ret < form.deadline_at
            if form.first_returned_at is None:
                form.first_returned_at, form.first_returned_in_time = ret, form.returned_in_time
            form.next_escalation_at = None
            returned = self._event(
                form,
                ret,
                FeedbackAction.RETURNED,
                FeedbackStatus.ROUTED,
                FeedbackStatus.HANDLED,
                returner,
                detail={"in_time": form.returned_in_time},
            )
            self._notify(form, form.created_by, ret, "投诉处理单已回复，请安排回访", result)
            due = cal.deadline(ret, self.verify_rule.deadline_amount)
            task = FollowupTask(
                store=self.store,
                rule=self.verify_rule,
                kind=FollowupKind.COMPLAINT_VERIFICATION,
                subject_type=SubjectType.FEEDBACK_RETURN,
                subject_id=0,
                customer_id=form.customer_id,
                vehicle_id=form.vehicle_id,
                event_at=ret,
                due_at=due,
                status=TaskStatus.OPEN,
                template=self.verify_rule.template,
                next_call_at=ret + dt.timedelta(hours=self.verify_rule.delay_hours),
            )
            self._event(form, ret, FeedbackAction.VERIFICATION_TASK, actor=None, detail={"due_at": due.isoformat()})
            self.verification[id(form)] = task
            call_at = calls.pop(0) if calls else self._moment(ret + dt.timedelta(hours=1), due - dt.timedelta(hours=1))
            if call_at >= now:
                self.tasks.append((form, returned, task, None))
                return
            specialist = rng.choice(self.specialists)
            satisfied = not (plan.get("reopen") and round_no == 0)
            task.status, task.outcome, task.attempts = TaskStatus.COMPLETED, CallOutcome.COMPLETED, 1
            task.claimed_by = task.completed_by = specialist
            task.claimed_at, task.completed_at = call_at - dt.timedelta(minutes=rng.randint(1, 8)), call_at
            call = CallLog(
                store=self.store,
                customer_id=form.customer_id,
                handler=specialist,
                direction=CallDirection.OUTBOUND,
                purpose=CallPurpose.FOLLOWUP,
                called_at=call_at,
                duration_s=rng.randint(60, 240),
                outcome=CallOutcome.COMPLETED,
                notes="客户对处理结果满意" if satisfied else "客户仍不满意，问题没有彻底解决",
            )
            self.tasks.append((form, returned, task, call))
            form.verified_at, form.verified_by = call_at, specialist
            if satisfied:
                form.status, form.verification_result = FeedbackStatus.VERIFIED, VerificationResult.SATISFIED
                self._event(
                    form,
                    call_at,
                    FeedbackAction.VERIFIED,
                    FeedbackStatus.HANDLED,
                    FeedbackStatus.VERIFIED,
                    specialist,
                    note=call.notes,
                )
                at = plan.get("archive") or self._moment(
                    call_at + dt.timedelta(minutes=30), call_at + dt.timedelta(days=2)
                )
                if at >= now:
                    return
                form.status, form.archived_at, form.archived_by = FeedbackStatus.ARCHIVED, at, staff["csm"]
                self._event(
                    form, at, FeedbackAction.ARCHIVED, FeedbackStatus.VERIFIED, FeedbackStatus.ARCHIVED, staff["csm"]
                )
                return
            form.status, form.verification_result = FeedbackStatus.ROUTED, VerificationResult.NOT_SATISFIED
            form.reopen_count += 1
            form.deadline_at = cal.deadline(call_at, days)
            self._clock(form)
            self._event(
                form,
                call_at,
                FeedbackAction.REOPENED,
                FeedbackStatus.HANDLED,
                FeedbackStatus.ROUTED,
                specialist,
                note=call.notes,
                detail={"reopen_count": form.reopen_count},
            )
            self._notify(form, form.assignee, call_at, "投诉处理单被退回重新处理", call.notes)
            t = call_at

    # --- writing ---

    def write(self) -> None:
        created = {id(form): form.created_at for form in self.new_forms}  # bulk_create stamps "now" on them
        Feedback.objects.bulk_create(self.new_forms, batch_size=500)
        FeedbackEvent.objects.bulk_create([e for _f, e, _at in self.events], batch_size=1000)
        _update(FeedbackEvent, [(e, {"created_at": at, "updated_at": at}) for _f, e, at in self.events])
        for _form, returned, task, _call in self.tasks:
            task.subject_id = returned.pk
        FollowupTask.objects.bulk_create([t for _f, _e, t, _c in self.tasks], batch_size=1000)
        calls = []
        for _form, _e, task, call in self.tasks:
            if call is not None:
                call.task = task
                calls.append(call)
        CallLog.objects.bulk_create(calls, batch_size=1000)
        task_ids = [t.pk for _f, _e, t, _c in self.tasks]
        FollowupTask.objects.filter(pk__in=task_ids).update(created_at=F("event_at"), updated_at=F("event_at"))
        FollowupTask.objects.filter(pk__in=task_ids, completed_at__isnull=False).update(updated_at=F("completed_at"))
        CallLog.objects.filter(pk__in=[c.pk for c in calls]).update(
            created_at=F("called_at"), updated_at=F("called_at")
        )
        forms = self.forms + self.new_forms
        fields = [
            "status",
            "severity",
            "assignee",
            "routed_at",
            "deadline_at",
            "warn_at",
            "warned_at",
            "next_escalation_at",
            "escalation_level",
            "escalated_at",
            "paused_at",
            "pause_reason",
            "paused_working_days",
            "actions_taken",
            "root_cause",
            "result",
            "returned_at",
            "returned_by",
            "returned_by_role",
            "returned_in_time",
            "first_returned_at",
            "first_returned_in_time",
            "reopen_count",
            "verification_task",
            "verified_at",
            "verified_by",
            "verification_result",
            "archived_at",
            "archived_by",
        ]
        last = {}
        for form, _e, at in self.events:
            last[id(form)] = max(at, last.get(id(form), at))
        rows = []
        for form in forms:
            values = {f: getattr(form, Feedback._meta.get_field(f).attname) for f in fields}
            task = self.verification.get(id(form))
            values["verification_task"] = task.pk if task is not None else None
            values["created_at"] = created.get(id(form), form.created_at)
            values["updated_at"] = last.get(id(form), values["created_at"])
            rows.append((form, values))
        _update(Feedback, rows)
        notes = []
        for form, row, _at in self.notifications:
            row.link = f"/complaints/{form.pk}/"
            notes.append(row)
        Notification.objects.bulk_create(notes, batch_size=1000)
        _update(Notification, [(row, {"created_at": at}) for _f, row, at in self.notifications])

    def counts(self) -> dict[str, int]:
        forms = self.forms + self.new_forms
        return {
            "complaint_forms": len(forms),
            "complaint_forms_open": sum(
                f.status in (FeedbackStatus.NEW, FeedbackStatus.ROUTED, FeedbackStatus.HANDLED, FeedbackStatus.VERIFIED)
                for f in forms
            ),
            "complaint_events": len(self.events),
            "verification_calls": len(self.tasks),
        }


class _UserRef:
    """A user known by id only (recipients of escalations)."""

    def __init__(self, pk: int):
        self.pk = self.id = pk


def _update(model, rows: list[tuple[object, dict]]) -> None:
    """UPDATE … WHERE id = %s for many rows with one `executemany` (bulk_update's CASE is slow for this)."""
    if not rows:
        return
    meta, qn = model._meta, connection.ops.quote_name
    names = list(rows[0][1])
    columns = [meta.get_field(n) for n in names]
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        qn(meta.db_table), ", ".join(f"{qn(c.column)} = %s" for c in columns), qn(meta.pk.column)
    )
    params = []
    for obj, values in rows:
        row = []
        for c, n in zip(columns, names, strict=True):
            value = values[n]
            if hasattr(value, "pk"):
                value = value.pk
            row.append(c.get_db_prep_save(value, connection) if not c.is_relation else value)
        params.append(row + [obj.pk])
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
