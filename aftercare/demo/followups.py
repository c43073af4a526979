"""Follow-up history of the demo group: rules, call tasks and 18 months of the specialists' work.

`demo_followups_create` runs after the demo customers are written (`seed_demo`, not `--scale`):

1. the default rules and settings of every store (`followup_rules_seed_defaults`, the real service);
2. the tasks of every delivery and repair order (`followup_tasks_generate`, the real set-based service;
   customers who refused service calls get their `no_consent` task as usual);
3. the specialists' work, simulated in bulk for all past tasks (no per-row services: replaying ~10,000
   calls through claim / attempt / answer-sheet services with a moved clock would take minutes and
   bend the clock). The rows follow the services' state machine: claim → attempts (call log) →
   completed with an answer sheet, refused, or unreachable after the store's maximum attempts (an SMS,
   or a letter when there is no mobile, in the letter log); a dissatisfied sheet makes a grievance
   (complaints.Feedback) linked to the task, the sheet and the call. Sheets are scored with
   `questionnaire_score`, the services' own function, so every score is the one the call screen gives.

Per store and due month a fixed share is missed (unreachable or completed late: 2.2–3.8 %), so the
return-visit rate is 96–98 % every month (the seed's 97 %); SSI scores follow the seed's 969–983 by month,
CSI a little lower. Tasks the specialists would not have reached yet (recent events), plus two or three
overdue ones per store, stay open and unclaimed: the queue of the day. Deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext

from aftercare.complaints.choices import (
    CATEGORY_DEPARTMENT,
    FeedbackCategory,
    FeedbackKind,
    FeedbackSource,
    FeedbackStatus,
)
from aftercare.complaints.models import Feedback
from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.choices import RepairKind
from aftercare.customers.models import Customer, RepairOrder
from aftercare.followups.choices import (
    SCALE_MAX,
    CallDirection,
    CallOutcome,
    CallPurpose,
    FollowupKind,
    LetterChannel,
    LetterKind,
    LetterStatus,
    QuestionType,
    SubjectType,
    TaskStatus,
)
from aftercare.followups.models import (
    Answer,
    AnswerSheet,
    CallLog,
    FollowupRule,
    FollowupTask,
    LetterLog,
    QuestionnaireTemplate,
)
from aftercare.followups.selectors import store_followup_settings_get
from aftercare.followups.services.generation import followup_tasks_generate
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.followups.services.scoring import answer_line, questionnaire_score
from aftercare.org.calendar import month_range
from aftercare.org.choices import Role
from aftercare.org.models import Department, Staff, Store

from .customers import TZ, FastRandom

WORK_START, WORK_END = dt.time(9, 0), dt.time(20, 0)  # the CS desk calls 09:00–20:00, every day
# The seed's store SSI by quarter and month (000 p3): the demo's monthly targets cycle through it.
SSI_TARGETS = (969, 974, 976, 972, 973, 976, 973, 977, 978)
STORE_SCORE_OFFSET = {"GZ01": 0, "FS01": -2, "HZ01": 2}
CSI_BELOW_SSI = 8
DISSATISFIED_SHARE = 0.018
SUGGESTION_SHARE = 0.004
REFUSED_SHARE = 0.008
OVERDUE_PER_STORE = {"GZ01": 3}  # open tasks past their deadline left in the queue (others: 2)

_REPAIR_CATEGORY = {
    RepairKind.BODY: FeedbackCategory.BODY,
    RepairKind.INSURANCE_JOB: FeedbackCategory.BODY,
    RepairKind.PAINT: FeedbackCategory.PAINT,
    RepairKind.WASH: FeedbackCategory.WASH,
}
_REMARKS = {
    FeedbackCategory.SALES: (
        "交车时讲解太匆忙，很多功能没有说明", "等待交车时间太长", "销售顾问承诺的脚垫和贴膜没有兑现",
        "上牌手续办理拖了很久，也没人主动告知进度", "交车时车内不够干净",
    ),
    FeedbackCategory.MECHANICAL: (
        "修完后故障灯又亮了", "等待时间比预计长了两个小时", "结算金额比报价高，事先没有说明",
        "服务顾问没有解释更换配件的原因", "取车时发现座椅上有油污",
    ),
    FeedbackCategory.BODY: ("钣金修复后门缝不均匀", "事故车维修周期太长，没有提供代步车"),
    FeedbackCategory.PAINT: ("补漆有明显色差", "喷漆后表面有颗粒"),
    FeedbackCategory.WASH: ("洗车不干净，内饰有水渍", "洗车排队时间太长"),
}
_SUGGESTIONS = (
    "建议休息区增加手机充电口", "建议周末延长营业时间", "建议保养完成后发短信通知取车",
    "建议增加上门取送车服务", "建议预约时可以选择服务顾问",
)
_NOTES = {
    CallOutcome.NO_ANSWER: "无人接听",
    CallOutcome.BUSY: "占线",
    CallOutcome.WRONG_NUMBER: "号码错误（空号）",
    CallOutcome.REFUSED: "客户表示不需要回访",
    CallOutcome.CALL_BACK: "客户正在开车，约定稍后回电",
}


class _InMemoryTemplate:
    """A template as `questionnaire_score` reads it, served from prefetched rows (no query per sheet)."""

    def __init__(self, template: QuestionnaireTemplate):
        self.template = template
        self.dissatisfied_threshold = template.dissatisfied_threshold
        self._factors = list(template.factors.all())
        self.factors = self
        self.questions = [q for f in self._factors for q in f.questions.all()]

    def prefetch_related(self, *lookups):
        return self._factors


def demo_followups_create(*, stores: list[Store], seed: int, now: dt.datetime | None = None) -> dict[str, int]:
    """Rules, tasks and the simulated follow-up history of the demo `stores` (see the module docstring)."""
    now = now or timezone.now()
    counts: dict[str, int] = defaultdict(int)
    with transaction.atomic():
        for store in stores:
            followup_rules_seed_defaults(store)
            followup_tasks_generate(store_id=store.pk)
        templates = {
            t.pk: _InMemoryTemplate(t)
            for t in QuestionnaireTemplate.objects.filter(rules__store__in=stores)
            .distinct()
            .prefetch_related("factors__questions")
        }
        for store in stores:
            sim = _StoreSimulation(store, FastRandom(f"{seed}:followups:{store.code}"), templates, now)
            sim.run()
            sim.write()
            for key, value in sim.counts().items():
                counts[key] += value
            audit_event_record(
                actor=None, action=AuditAction.IMPORT, object_type="org.demo_seed", store_id=store.pk,
                detail={"followups": sim.counts()},
            )
        _backdate(stores)
        if connection.vendor == "postgresql":  # fresh statistics, or the planner guesses badly on new tables
            with connection.cursor() as cursor:
                for model in (FollowupTask, CallLog, AnswerSheet, Answer, LetterLog, Feedback):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return dict(counts)


def demo_followups_exist(stores: list[Store]) -> bool:
    return FollowupRule.objects.filter(store__in=stores).exists()


def _backdate(stores: list[Store]) -> None:
    """Set `created_at` / `updated_at` of the simulated rows to when they happened (set-based updates)."""
    in_stores = {"store__in": stores}
    FollowupTask.objects.filter(**in_stores).update(
        created_at=F("event_at"), updated_at=Coalesce(F("completed_at"), F("claimed_at"), F("event_at"))
    )
    CallLog.objects.filter(**in_stores).update(created_at=F("called_at"), updated_at=F("called_at"))
    AnswerSheet.objects.filter(**in_stores).update(created_at=F("answered_at"), updated_at=F("answered_at"))
    LetterLog.objects.filter(**in_stores, task__isnull=False).update(
        created_at=Subquery(FollowupTask.objects.filter(pk=OuterRef("task_id")).values("completed_at")[:1]),
        updated_at=Coalesce(F("sent_at"), F("created_at")),
    )
    Feedback.objects.filter(**in_stores, call_log__isnull=False).update(
        created_at=Subquery(CallLog.objects.filter(pk=OuterRef("call_log_id")).values("called_at")[:1]),
        updated_at=Subquery(CallLog.objects.filter(pk=OuterRef("call_log_id")).values("called_at")[:1]),
    )


def _working_spans(lo: dt.datetime, hi: dt.datetime) -> list[tuple[dt.datetime, float]]:
    """The CS desk's working hours inside `[lo, hi)` as (start, seconds) spans."""
    spans = []
    day = lo.astimezone(TZ).date()
    last = hi.astimezone(TZ).date()
    while day <= last:
        start = max(lo, dt.datetime.combine(day, WORK_START, tzinfo=TZ))
        end = min(hi, dt.datetime.combine(day, WORK_END, tzinfo=TZ))
        if end > start:
            spans.append((start, (end - start).total_seconds()))
        day += dt.timedelta(days=1)
    return spans


class _StoreSimulation:
    """Plans the work on one store's tasks, then writes it in bulk."""

    def __init__(self, store: Store, rng: FastRandom, templates: dict[int, _InMemoryTemplate], now: dt.datetime):
        self.store, self.rng, self.templates, self.now = store, rng, templates, now
        self.max_attempts = store_followup_settings_get(store_id=store.pk).max_attempts
        self.tasks = list(
            FollowupTask.objects.filter(store=store, status=TaskStatus.OPEN)
            .select_related("rule")
            .order_by("event_at", "subject_type", "subject_id", "rule__code")
        )
        self.handlers, self.handler_weights = self._handlers()
        customer_ids = {t.customer_id for t in self.tasks}
        self.has_mobile = {
            pk: bool(m) for pk, m in Customer.objects.filter(pk__in=customer_ids).values_list("pk", "mobile")
        }
        ro_ids = [t.subject_id for t in self.tasks if t.subject_type == SubjectType.REPAIR_ORDER]
        self.ro_kind = dict(RepairOrder.objects.filter(pk__in=ro_ids).values_list("pk", "kind"))
        self.departments = {d.kind: d for d in Department.objects.filter(store=store)}
        with translation.override(settings.LANGUAGE_CODE):
            self.notice_text = gettext(
                "Dear customer, %(store)s tried to call you about your recent visit. "
                "If you have any feedback, please call us back."
            ) % {"store": store.name}
        self.calls: list[tuple[FollowupTask, CallLog]] = []
        self.sheets: list[tuple[AnswerSheet, list[tuple]]] = []
        self.letters: list[LetterLog] = []
        self.feedback: list[tuple[Feedback, CallLog, AnswerSheet | None]] = []
        self.changed: list[FollowupTask] = []
        self.month_scores: dict[tuple, tuple[float, int]] = defaultdict(lambda: (0.0, 0))

    def _handlers(self):
        """Who calls for this store: its own specialists most, a shared specialist less, the manager a little."""
        staff = (
            Staff.objects.filter(stores=self.store, role__in=[Role.CS_SPECIALIST, Role.CS_MANAGER])
            .select_related("user")
            .prefetch_related("stores")
            .order_by("user__username")
        )
        users, weights = [], []
        for s in staff:
            users.append(s.user)
            if s.role == Role.CS_MANAGER:
                weights.append(0.25)
            else:
                weights.append(3.0 if len(s.stores.all()) == 1 else 1.0)
        total, cum = 0.0, []
        for w in weights:
            total += w
            cum.append(total)
        return users, cum

    # --- planning ---

    def run(self) -> None:
        rng = self.rng
        overdue = self._pick_overdue()
        groups: dict[tuple[int, int], list[FollowupTask]] = defaultdict(list)
        for task in self.tasks:
            if task.pk in overdue:
                continue
            local_due = task.due_at.astimezone(TZ)
            groups[(local_due.year, local_due.month)].append(task)
        for key in sorted(groups):
            tasks = groups[key]
            order = list(range(len(tasks)))
            rng.shuffle(order)
            n = len(tasks)
            missed = round(n * rng.uniform(0.022, 0.038))
            unreachable = round(missed * 0.45)
            late = missed - unreachable
            refused = round(n * REFUSED_SHARE)
            fates = ["unreachable"] * unreachable + ["late"] * late + ["refused"] * refused
            fates += ["on_time"] * (n - len(fates))
            for i, fate in zip(order, fates, strict=True):
                self._work(tasks[i], fate)

    def _pick_overdue(self) -> set[int]:
        """Two or three tasks whose deadline passed in the last few days, left open in the queue."""
        month_start, _end = month_range(self.now)
        since = max(self.now - dt.timedelta(days=4), month_start)
        if since >= self.now - dt.timedelta(hours=6):
            since = self.now - dt.timedelta(days=4)
        candidates = [t for t in self.tasks if since <= t.due_at < self.now]
        want = OVERDUE_PER_STORE.get(self.store.code, 2)
        return {t.pk for t in self.rng.sample(candidates, min(want, len(candidates)))}

    def _moments(self, lo: dt.datetime, hi: dt.datetime, k: int, bias: float = 1.0) -> list[dt.datetime]:
        """`k` sorted moments in the desk's working hours inside `[lo, hi)`; early ones likelier with bias > 1."""
        spans = _working_spans(lo, hi)
        total = sum(s for _, s in spans)
        if total < 60 * k:
            return [lo + dt.timedelta(minutes=5 * (i + 1)) for i in range(k)]
        out = []
        for _ in range(k):
            x = total * self.rng.random() ** bias
            for start, seconds in spans:
                if x < seconds:
                    out.append((start + dt.timedelta(seconds=int(x))).astimezone(dt.UTC))
                    break
                x -= seconds
            else:
                out.append((spans[-1][0] + dt.timedelta(seconds=spans[-1][1] - 60)).astimezone(dt.UTC))
        out.sort()
        for i in range(1, len(out)):  # at least two minutes between two calls
            out[i] = max(out[i], out[i - 1] + dt.timedelta(minutes=2))
        return out

    def _plan(self, task: FollowupTask, fate: str) -> list[tuple[dt.datetime, str]]:
        """The calls made on a task: (time, outcome), the last one closing it."""
        rng = self.rng
        lo = (task.next_call_at or task.event_at) + dt.timedelta(minutes=20)
        due = task.due_at
        no_contact = (CallOutcome.NO_ANSWER, CallOutcome.NO_ANSWER, CallOutcome.BUSY)
        if fate == "unreachable":
            if rng.random() < 0.25:
                return [(self._moments(lo, due, 1, 1.6)[0], CallOutcome.WRONG_NUMBER)]
            times = self._moments(lo, due, self.max_attempts)
            return [(t, rng.choice(no_contact)) for t in times]
        if fate == "late":
            fails = self._moments(lo, due, rng.choice((1, 2)), 0.8)
            done = self._moments(due, due + dt.timedelta(days=2), 1, 1.5)[0]
            return [(t, rng.choice(no_contact)) for t in fails] + [(done, CallOutcome.COMPLETED)]
        r = rng.random()
        fails = 0 if r < 0.8 else 1 if r < 0.95 else 2
        fails = min(fails, self.max_attempts - 1)
        call_back = fate == "on_time" and rng.random() < 0.03
        times = self._moments(lo, due, fails + call_back + 1, 1.6)
        outcomes = [rng.choice(no_contact) for _ in range(fails)]
        if call_back:
            outcomes.append(CallOutcome.CALL_BACK)
        outcomes.append(CallOutcome.REFUSED if fate == "refused" else CallOutcome.COMPLETED)
        return list(zip(times, outcomes, strict=True))

    def _work(self, task: FollowupTask, fate: str) -> None:
        rng = self.rng
        calls = self._plan(task, fate)
        if calls[-1][0] >= self.now:  # not reached yet: stays open, unclaimed, in today's queue
            return
        handler = rng.weighted(self.handlers, self.handler_weights)
        logs = []
        for i, (moment, outcome) in enumerate(calls):
            call_back_at = calls[i + 1][0] if outcome == CallOutcome.CALL_BACK else None
            logs.append(
                CallLog(
                    store_id=task.store_id, task=task, customer_id=task.customer_id, handler=handler,
                    direction=CallDirection.OUTBOUND, purpose=CallPurpose.FOLLOWUP, called_at=moment,
                    duration_s=self._duration(task, outcome), outcome=outcome, call_back_at=call_back_at,
                    notes=_NOTES.get(outcome, ""),
                )
            )
        self.calls.extend((task, log) for log in logs)
        last_time, last_outcome = calls[-1]
        task.claimed_by = handler
        task.claimed_at = calls[0][0] - dt.timedelta(minutes=rng.randint(1, 10))
        task.attempts = len(calls)
        task.outcome = last_outcome
        task.completed_at, task.completed_by = last_time, handler
        call_backs = [log.call_back_at for log in logs if log.call_back_at is not None]
        if call_backs:
            task.next_call_at = call_backs[-1]
        if last_outcome == CallOutcome.COMPLETED:
            task.status = TaskStatus.COMPLETED
            self._answer(task, handler, logs[-1])
        elif last_outcome == CallOutcome.REFUSED:
            task.status = TaskStatus.REFUSED
        else:
            task.status = TaskStatus.UNREACHABLE
            sms = self.has_mobile.get(task.customer_id, False)
            self.letters.append(
                LetterLog(
                    store_id=task.store_id, task=task, customer_id=task.customer_id, kind=LetterKind.UNREACHABLE_NOTICE,
                    channel=LetterChannel.SMS if sms else LetterChannel.LETTER, status=LetterStatus.SENT,
                    handler=handler,
                    sent_at=last_time + (dt.timedelta(minutes=1) if sms else dt.timedelta(days=1)),
                    text=self.notice_text,
                )
            )
        self.changed.append(task)

    def _duration(self, task: FollowupTask, outcome: str) -> int:
        rng = self.rng
        if outcome == CallOutcome.COMPLETED:
            return rng.randint(180, 480) if task.kind == FollowupKind.SSI else rng.randint(90, 300)
        if outcome == CallOutcome.NO_ANSWER:
            return rng.randint(30, 60)
        if outcome == CallOutcome.BUSY:
            return rng.randint(3, 15)
        return rng.randint(15, 60)

    # --- questionnaires ---

    def _target(self, task: FollowupTask) -> float:
        """The month's mean score (0–1) the answers aim at: the seed's SSI figures, CSI a little lower."""
        local = task.event_at.astimezone(TZ)
        month = local.year * 12 + local.month
        score = SSI_TARGETS[month % len(SSI_TARGETS)] + (3 if month % 18 >= 9 else 0)
        score = min(983, max(969, score + STORE_SCORE_OFFSET.get(self.store.code, 0)))
        if task.kind != FollowupKind.SSI:
            score -= CSI_BELOW_SSI
        return score / 1000

    def _answer(self, task: FollowupTask, handler, call: CallLog) -> None:
        template = self.templates.get(task.template_id)
        if template is None:
            return
        rng = self.rng
        dissatisfied = rng.random() < DISSATISFIED_SHARE
        # Aim each sheet at what keeps the month's mean on its target (a store has only ~20 SSI sheets a month).
        local = call.called_at.astimezone(TZ)
        month = (task.kind, local.year, local.month)
        target = self._target(task)
        total, n = self.month_scores[month]
        q = min(target + 0.02, 0.998, max(target - 0.015, target * (n + 1) - total))
        q -= 0.05 if dissatisfied else 0.0
        category = self._category(task)
        bad: set[int] = set()
        if dissatisfied:
            candidates = [x for x in template.questions if _can_be_bad(x)]
            bad = {x.pk for x in rng.sample(candidates, rng.choice((1, 1, 2)))}
        remark = rng.choice(_REMARKS[category]) if dissatisfied else ""
        values: dict[int, object] = {}
        for question in template.questions:
            value = _bad_value(rng, question) if question.pk in bad else _good_value(rng, question, q)
            if question.type == QuestionType.FREE_TEXT:
                value = remark or None
            if value is not None:
                values[question.pk] = value
        result = questionnaire_score(template, values)
        if result["total"] is not None:
            self.month_scores[month] = (total + float(result["total"]) / 1000, n + 1)
        by_pk = {x.pk: x for x in template.questions}
        reasons = [by_pk[qid].code for qid, (_s, is_bad) in result["questions"].items() if is_bad]
        sheet = AnswerSheet(
            store_id=task.store_id, task=task, template_id=task.template_id, answered_by=handler,
            answered_at=call.called_at, score_total=result["total"],
            factor_scores={k: (str(v) if v is not None else None) for k, v in result["factors"].items()},
            dissatisfied=bool(reasons), dissatisfied_reasons=reasons, notes=remark,
        )
        answers = [(qid, value, *result["questions"][qid]) for qid, value in values.items()]  # (q, value, score, bad)
        self.sheets.append((sheet, answers))
        if sheet.dissatisfied:
            lines = [answer_line(by_pk[qid], values[qid]) for qid in values
                     if by_pk[qid].code in reasons]
            lines.append(remark)
            self._feedback(task, handler, call, sheet, FeedbackKind.GRIEVANCE, category, "\n".join(lines))
        elif rng.random() < SUGGESTION_SHARE:
            self._feedback(task, handler, call, None, FeedbackKind.SUGGESTION, category, rng.choice(_SUGGESTIONS))

    def _category(self, task: FollowupTask) -> str:
        if task.kind == FollowupKind.SSI or task.subject_type == SubjectType.DELIVERY:
            return FeedbackCategory.SALES
        return _REPAIR_CATEGORY.get(self.ro_kind.get(task.subject_id), FeedbackCategory.MECHANICAL)

    def _feedback(self, task, handler, call, sheet, kind: str, category: str, text: str) -> None:
        department = self.departments.get(CATEGORY_DEPARTMENT.get(category))
        row = Feedback(
            store_id=task.store_id, kind=kind, source=FeedbackSource.FOLLOWUP_CALL, category=category,
            department=department, customer_id=task.customer_id, vehicle_id=task.vehicle_id, text=text,
            followup_task=task, status=FeedbackStatus.NEW, created_by=handler,  # worked by demo_complaints
        )
        self.feedback.append((row, call, sheet))

    # --- writing ---

    def write(self) -> None:
        """Store the plan: tasks and answers with one `executemany` each (the ORM's bulk_update / bulk_create
        of 10,000 tasks and 100,000 answers would take half a minute), the rest with bulk_create."""
        self._update_tasks()
        CallLog.objects.bulk_create([log for _task, log in self.calls], batch_size=1000)
        AnswerSheet.objects.bulk_create([sheet for sheet, _a in self.sheets], batch_size=1000)
        self._insert_answers()
        LetterLog.objects.bulk_create(self.letters, batch_size=1000)
        rows = []
        for row, call, sheet in self.feedback:
            row.call_log, row.answer_sheet = call, sheet  # now with their ids
            rows.append(row)
        Feedback.objects.bulk_create(rows, batch_size=1000)

    def _update_tasks(self) -> None:
        fields = ["status", "outcome", "attempts", "claimed_by", "claimed_at", "completed_at", "completed_by",
                  "next_call_at"]
        meta, qn = FollowupTask._meta, connection.ops.quote_name
        columns = [meta.get_field(f) for f in fields]
        sql = "UPDATE {} SET {} WHERE {} = %s".format(
            qn(meta.db_table), ", ".join(f"{qn(c.column)} = %s" for c in columns), qn(meta.pk.column)
        )
        params = [
            [c.get_db_prep_save(getattr(task, c.attname), connection) for c in columns] + [task.pk]
            for task in self.changed
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)

    def _insert_answers(self) -> None:
        meta, qn = Answer._meta, connection.ops.quote_name
        value_field, score_field = meta.get_field("value"), meta.get_field("score")
        names = ("sheet", "question", "value", "score", "dissatisfied")
        sql = "INSERT INTO {} ({}) VALUES ({})".format(
            qn(meta.db_table),
            ", ".join(qn(meta.get_field(n).column) for n in names),
            ", ".join(["%s"] * len(names)),
        )
        prepared: dict = {}  # answers take few distinct values: prepare each once

        def prep(field, value):
            key = (field.name, type(value), value)
            if key not in prepared:
                prepared[key] = field.get_db_prep_save(value, connection)
            return prepared[key]

        params = [
            (sheet.pk, qid, prep(value_field, value), prep(score_field, score), bad)
            for sheet, answers in self.sheets
            for qid, value, score, bad in answers
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)

    def counts(self) -> dict[str, int]:
        return {
            "followup_tasks": len(self.tasks),
            "calls": len(self.calls),
            "answer_sheets": len(self.sheets),
            "letters": len(self.letters),
            "feedback": len(self.feedback),
        }


def _can_be_bad(question) -> bool:
    if question.type in SCALE_MAX:
        return True
    if question.type == QuestionType.YES_NO:
        return True  # "no" is a yes/no question's bad answer (followups/services/scoring.py)
    if question.type == QuestionType.SINGLE_CHOICE:
        return any(c.get("dissatisfied") for c in question.choices)
    return False


def _bad_value(rng: FastRandom, question):
    if question.type == QuestionType.SCALE_10:
        return rng.randint(3, min(6, question.dissatisfied_at_or_below or 6))
    if question.type == QuestionType.SCALE_5:
        return rng.randint(1, 2)
    if question.type == QuestionType.YES_NO:
        return False
    return next(c["value"] for c in question.choices if c.get("dissatisfied"))


def _good_value(rng: FastRandom, question, q: float):
    """A satisfied answer (never at a dissatisfaction threshold) whose expected score is about `q`."""
    loss = 1.0 - q
    if question.type == QuestionType.SCALE_10:
        if rng.random() < min(0.9, loss / 0.1389):
            return 9 if rng.random() < 0.75 else 8
        return 10
    if question.type == QuestionType.SCALE_5:
        if rng.random() < min(0.9, loss / 0.2875):
            return 4 if rng.random() < 0.85 else 3
        return 5
    if question.type == QuestionType.YES_NO:
        return True  # a "no" would make the sheet dissatisfied
    if question.type == QuestionType.SINGLE_CHOICE:
        fine = [c for c in question.choices if not c.get("dissatisfied")]
        best = max(fine, key=lambda c: -1 if c.get("score") is None else c["score"])
        r = rng.random()
        if r < 0.04:
            unscored = [c for c in fine if c.get("score") is None]
            if unscored:
                return unscored[0]["value"]
        partial = [c for c in fine if c.get("score") is not None and c is not best]
        if partial and r < 0.04 + loss / 0.5:
            return rng.choice(partial)["value"]
        return best["value"]
    return None

