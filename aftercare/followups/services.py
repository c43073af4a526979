"""Writes for follow-up calls: rules, set-based task generation, claiming, attempts, answer sheets, templates.

Deadlines (see docs/kpis.md): `due_at` is a half-open bound in UTC; a task is on time when closed before it.
"""

import datetime as dt
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.exports import staff_name, unneutralise, xlsx_bytes, xlsx_workbook_bytes
from aftercare.core.services import audit_event_record
from aftercare.core.sms import sms_send
from aftercare.core.text import clean_text_deep
from aftercare.customers.choices import RepairKind
from aftercare.customers.models import Customer, RepairOrder, SalesDelivery
from aftercare.org.choices import Role
from aftercare.org.models import Staff, Store
from aftercare.org.permissions import Perm, has_perm, require_perm, role_of
from aftercare.org.scoping import get_scoped_or_404, own_store_ids
from aftercare.org.selectors import business_date, business_day_start, working_deadline

from .choices import (
    NO_CONTACT_OUTCOMES,
    SCALE_MAX,
    CallDirection,
    CallOutcome,
    CallPurpose,
    DeadlineUnit,
    FollowupKind,
    LetterChannel,
    LetterKind,
    LetterStatus,
    QuestionnaireKind,
    QuestionnaireStatus,
    QuestionType,
    StoreDayUnit,
    SubjectType,
    TaskStatus,
    Trigger,
)
from .data.loader import create_template
from .models import (
    Answer,
    AnswerSheet,
    CallLog,
    Factor,
    FollowupRule,
    FollowupTask,
    LetterLog,
    Question,
    QuestionnaireTemplate,
    StoreFollowupSettings,
)
from .signals import call_feedback_given

BUSINESS_TZ = ZoneInfo(settings.BUSINESS_TIME_ZONE)


class TaskAlreadyClaimed(Exception):
    """Another specialist holds the task (the API answers 409)."""


# ---- settings and rules ----------------------------------------------------------------------------------------


def store_followup_settings(store_id: int) -> StoreFollowupSettings:
    """The store's follow-up settings (defaults when the store has no row yet; nothing is written)."""
    found = StoreFollowupSettings.objects.filter(store_id=store_id).first()
    return found or StoreFollowupSettings(store_id=store_id)


def store_followup_settings_update(*, actor, store: Store, **fields) -> StoreFollowupSettings:
    """Change a store's follow-up settings (max attempts, repair deadline unit, rate treatment)."""
    require_perm(actor, Perm.FOLLOWUP_RULES)
    if store.pk not in own_store_ids(actor):
        raise PermissionDenied
    allowed = {"max_attempts", "repair_deadline_unit", "unreachable_counts_as", "refused_counts_as"}
    if set(fields) - allowed:
        raise TypeError(f"unknown settings fields: {sorted(set(fields) - allowed)}")
    with transaction.atomic():
        row, _created = StoreFollowupSettings.objects.get_or_create(store=store)
        for key, value in fields.items():
            setattr(row, key, value)
        row.full_clean()
        row.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=row, store_id=store.pk, changed_fields=fields)
    return row


DEFAULT_RULES = (
    {
        "code": "SSI",
        "name": "New-car SSI follow-up",
        "trigger": Trigger.DELIVERY,
        "kind": FollowupKind.SSI,
        "deadline_amount": 24,
        "deadline_unit": DeadlineUnit.HOURS,
        "template_code": "SSI-NEW-CAR",
        "is_active": True,
    },
    {
        "code": "CSI",
        "name": "After-sales CSI follow-up",
        "trigger": Trigger.REPAIR_ORDER,
        "kind": FollowupKind.CSI,
        "deadline_amount": 3,
        "deadline_unit": DeadlineUnit.STORE_DAYS,
        "template_code": "CSI-AFTER-SALES",
        "is_active": True,
    },
    {
        "code": "TRACK1",
        "name": "Carmaker first tracking call",
        "trigger": Trigger.REPAIR_ORDER,
        "kind": FollowupKind.TRACKING,
        "delay_hours": 72,
        "deadline_amount": 7,
        "deadline_unit": DeadlineUnit.CALENDAR_DAYS,
        "template_code": None,
        "is_active": False,
        "is_carmaker_variant": True,
    },
    {
        "code": "TRACK2",
        "name": "Carmaker second tracking call",
        "trigger": Trigger.FOLLOWUP_COMPLETED,
        "kind": FollowupKind.TRACKING,
        "source": "TRACK1",
        "deadline_amount": 7,
        "deadline_unit": DeadlineUnit.CALENDAR_DAYS,
        "template_code": None,
        "is_active": False,
        "is_carmaker_variant": True,
    },
    # the two rules below are not generated from events in bulk: the complaints app creates their tasks
    {
        "code": "VERIFY",
        "name": "Complaint verification call",
        "trigger": Trigger.FEEDBACK_RETURNED,
        "kind": FollowupKind.COMPLAINT_VERIFICATION,
        "deadline_amount": 1,
        "deadline_unit": DeadlineUnit.WORKING_DAYS,
        "template_code": None,
        "is_active": True,
    },
    {
        "code": "FTF",
        "name": "Repeat repair: not fixed first time",
        "trigger": Trigger.REPEAT_REPAIR,
        "kind": FollowupKind.REPEAT_REPAIR,
        "deadline_amount": 2,
        "deadline_unit": DeadlineUnit.WORKING_DAYS,
        "template_code": None,
        "is_active": True,
    },
)


def followup_rules_seed_defaults(store: Store) -> list[FollowupRule]:
    """Give `store` the default rules (idempotent): SSI 24 h after delivery, CSI 3 days after an RO settles,
    and the carmaker's two tracking calls, inactive. Also makes the store's settings row."""
    StoreFollowupSettings.objects.get_or_create(store=store)
    questionnaire_templates_ensure_shipped()
    active_templates = {t.code: t for t in QuestionnaireTemplate.objects.filter(status=QuestionnaireStatus.ACTIVE)}
    existing = {r.code: r for r in FollowupRule.objects.filter(store=store)}
    out = []
    for spec in DEFAULT_RULES:
        rule = existing.get(spec["code"])
        if rule is None:
            rule = FollowupRule(
                store=store,
                code=spec["code"],
                name=spec["name"],
                trigger=spec["trigger"],
                kind=spec["kind"],
                delay_hours=spec.get("delay_hours", 0),
                deadline_amount=spec["deadline_amount"],
                deadline_unit=spec["deadline_unit"],
                template=active_templates.get(spec["template_code"]) if spec["template_code"] else None,
                is_active=spec["is_active"],
                is_carmaker_variant=spec.get("is_carmaker_variant", False),
                excluded_repair_kinds=[RepairKind.INTERNAL.value] if spec["trigger"] == Trigger.REPAIR_ORDER else [],
                source_rule=existing.get(spec.get("source", "")),
            )
            rule.full_clean()
            rule.save()
            existing[rule.code] = rule
        out.append(rule)
    return out


def questionnaire_templates_ensure_shipped() -> None:
    """Load the shipped SSI / CSI templates when their code has no version at all (the data migration does this
    on a fresh database; this covers a flushed one)."""
    from .data.loader import shipped_templates

    for data in shipped_templates():
        if not QuestionnaireTemplate.objects.filter(code=data["code"]).exists():
            create_template(data, Template=QuestionnaireTemplate, Factor=Factor, Question=Question)


_RULE_FIELDS = {
    "name",
    "delay_hours",
    "deadline_amount",
    "deadline_unit",
    "template",
    "allowed_roles",
    "excluded_repair_kinds",
    "is_active",
}


def followup_rule_update(*, actor, rule: FollowupRule, **fields) -> FollowupRule:
    """Edit a rule of the actor's own store. Tasks already made keep their deadline."""
    require_perm(actor, Perm.FOLLOWUP_RULES)
    if rule.store_id not in own_store_ids(actor):
        raise PermissionDenied
    if set(fields) - _RULE_FIELDS:
        raise TypeError(f"unknown rule fields: {sorted(set(fields) - _RULE_FIELDS)}")
    with transaction.atomic():
        for key, value in fields.items():
            setattr(rule, key, value)
        rule.full_clean()
        rule.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=rule, changed_fields=fields)
    return rule


def followup_rule_due_at(*, rule: FollowupRule, at: dt.datetime, cache: dict | None = None) -> dt.datetime:
    """The due instant of `rule`'s task for an event at `at`: the one-task form of the generator's SQL.

    Used where tasks are made one by one (complaint verification, repeat repairs). `cache` (one dict per rule
    and run) keeps the store setting and one calendar read per business day.
    """
    cache = {} if cache is None else cache
    unit = rule.deadline_unit
    if unit == DeadlineUnit.HOURS:
        return at + dt.timedelta(hours=rule.deadline_amount)
    if unit == DeadlineUnit.STORE_DAYS:
        if "store_unit" not in cache:
            cache["store_unit"] = store_followup_settings(rule.store_id).repair_deadline_unit
        unit = cache["store_unit"]
    day = business_date(at)
    if unit == DeadlineUnit.WORKING_DAYS:
        if day not in cache:
            cache[day] = working_deadline(rule.store_id, at, rule.deadline_amount)
        return cache[day]
    return business_day_start(day + dt.timedelta(days=rule.deadline_amount + 1))


def followup_rule_get(*, store: Store, trigger: str = "", code: str = "") -> FollowupRule | None:
    """The store's rule for `trigger` (the active one first) or with `code`; the default rules are seeded first
    when the store has no such rule. None when there is none even then."""
    rules = FollowupRule.objects.filter(store=store)
    rules = rules.filter(code=code) if code else rules.filter(trigger=trigger)
    rule = rules.order_by("-is_active", "id").first()
    if rule is None:
        followup_rules_seed_defaults(store)
        rule = rules.order_by("-is_active", "id").first()
    return rule


@dataclass(frozen=True)
class TaskSubject:
    """The event a one-by-one follow-up call is about (see `followup_task_create`)."""

    subject_type: str
    subject_id: int
    customer_id: int
    vehicle_id: int | None
    event_at: dt.datetime


def followup_task_create(
    *, actor, rule: FollowupRule, subjects: Iterable[TaskSubject], detail: dict | None = None
) -> list[FollowupTask]:
    """Follow-up calls of `rule`, one per subject (a returned complaint form, a repeat repair), made by the app
    that owns the events; the set-based generator makes the others.

    Each is due by the rule's deadline from its `event_at`; a customer who refused service calls gets it as
    `no_consent`. Validated (`full_clean`, and every customer must be of the rule's store) and audited (one event;
    `actor` may be None for a scheduled job), in one transaction (the caller's when there is one), with a constant
    number of queries.
    Idempotent: a subject the rule already has a task for (made earlier or by a racing run) gets none. Returns the
    tasks made.
    """
    subjects = list(subjects)
    if not subjects:
        return []
    consent = dict(
        Customer.objects.filter(pk__in={s.customer_id for s in subjects}, store_id=rule.store_id).values_list(
            "pk", "consent_service_calls"
        )
    )
    if any(s.customer_id not in consent for s in subjects):
        raise ValidationError({"customer": [gettext("The customer belongs to another store.")]})
    existing = set(
        FollowupTask.objects.filter(
            rule=rule,
            subject_type__in={s.subject_type for s in subjects},
            subject_id__in={s.subject_id for s in subjects},
        ).values_list("subject_type", "subject_id")
    )
    cache: dict = {}
    tasks = []
    for s in subjects:
        if (s.subject_type, s.subject_id) in existing:
            continue
        existing.add((s.subject_type, s.subject_id))
        allowed = consent[s.customer_id]
        task = FollowupTask(
            store_id=rule.store_id,
            rule=rule,
            kind=rule.kind,
            subject_type=s.subject_type,
            subject_id=s.subject_id,
            customer_id=s.customer_id,
            vehicle_id=s.vehicle_id,
            template_id=rule.template_id,
            event_at=s.event_at,
            due_at=followup_rule_due_at(rule=rule, at=s.event_at, cache=cache),
            status=TaskStatus.OPEN if allowed else TaskStatus.NO_CONSENT,
            status_reason="" if allowed else "consent_service_calls",
            next_call_at=s.event_at + dt.timedelta(hours=rule.delay_hours),
        )
        # the foreign keys were checked above or come from the rule: no query per task
        task.full_clean(exclude=["store", "rule", "customer", "vehicle", "template"], validate_constraints=False)
        tasks.append(task)
    if not tasks:
        return []
    wanted = {(t.subject_type, t.subject_id) for t in tasks}
    with transaction.atomic():
        FollowupTask.objects.bulk_create(tasks, ignore_conflicts=True)  # (rule, subject) unique: a racing run adds none
        made = [
            t
            for t in FollowupTask.objects.filter(
                rule=rule, subject_type__in={k for k, _i in wanted}, subject_id__in={i for _k, i in wanted}
            ).order_by("pk")
            if (t.subject_type, t.subject_id) in wanted
        ]
        if len(made) == 1:
            audit_event_record(actor=actor, action=AuditAction.CREATE, obj=made[0], detail=detail or {})
        elif made:
            audit_event_record(
                actor=actor,
                action=AuditAction.CREATE,
                object_type=FollowupTask._meta.label_lower,
                detail={**(detail or {}), "rule": rule.code, "tasks": [t.pk for t in made]},
            )
    return made


# ---- set-based task generation ---------------------------------------------------------------------------------


def _effective_unit(rule: FollowupRule, store_units: dict[int, str]) -> str:
    if rule.deadline_unit == DeadlineUnit.STORE_DAYS:
        return store_units.get(rule.store_id, StoreDayUnit.CALENDAR_DAYS)
    return rule.deadline_unit


_SOURCES = {
    # trigger: (table, event time column, subject type, extra select/where for the kind)
    Trigger.DELIVERY: (SalesDelivery._meta.db_table, "delivered_at", SubjectType.DELIVERY),
    Trigger.REPAIR_ORDER: (RepairOrder._meta.db_table, "settled_at", SubjectType.REPAIR_ORDER),
    Trigger.FOLLOWUP_COMPLETED: (FollowupTask._meta.db_table, "completed_at", SubjectType.FOLLOWUP_TASK),
}


class _Sql:
    """The few vendor-specific expressions the generator needs (PostgreSQL and SQLite)."""

    def __init__(self):
        self.pg = connection.vendor == "postgresql"
        offset = dt.datetime.now(BUSINESS_TZ).utcoffset() or dt.timedelta(0)
        self.offset_hours = int(offset.total_seconds() // 3600)  # SQLite: Asia/Shanghai is UTC+8, no DST

    def plus_hours(self, ts: str, hours: str) -> str:
        if self.pg:
            return f"({ts} + make_interval(hours => {hours}))"
        return f"datetime({ts}, '+' || ({hours}) || ' hours')"

    def end_of_business_day_plus(self, ts: str, days: str) -> str:
        """00:00 (business time zone) of the day `days + 1` after the business date of `ts`, as UTC."""
        if self.pg:
            return (
                f"((date_trunc('day', {ts} AT TIME ZONE %(tz)s) + make_interval(days => ({days}) + 1))"
                f" AT TIME ZONE %(tz)s)"
            )
        off = self.offset_hours
        return f"datetime({ts}, '{off:+d} hours', 'start of day', '+' || (({days}) + 1) || ' days', '{-off:+d} hours')"

    def business_date(self, ts: str) -> str:
        if self.pg:
            return f"(({ts} AT TIME ZONE %(tz)s)::date)"
        return f"date({ts}, '{self.offset_hours:+d} hours')"

    def kind_excluded(self, kinds: str, kind: str) -> str:
        if self.pg:
            return f"jsonb_exists({kinds}, {kind})"
        return f"EXISTS (SELECT 1 FROM json_each({kinds}) je WHERE je.value = {kind})"

    def true(self) -> str:
        return "TRUE" if self.pg else "1"

    def param(self, value):
        if isinstance(value, dt.datetime) and not self.pg:
            return connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, dt.date) and not self.pg:
            return value.isoformat()
        return value


def _insert_sql(
    sql: _Sql,
    trigger: str,
    *,
    rule_ids: list[int],
    params: dict,
    due_expr: str,
    with_clause: str = "",
    join_clause: str = "",
    where: Iterable[str] = (),
) -> str:
    table, ev_col, subject_type = _SOURCES[trigger]
    task_table = FollowupTask._meta.db_table
    rule_table = FollowupRule._meta.db_table
    customer_table = Customer._meta.db_table
    ev = f"ev.{ev_col}"
    conditions = [f"r.id IN ({', '.join(f'%(rule_{i})s' for i in range(len(rule_ids)))})", f"{ev} IS NOT NULL"]
    for i, rule_id in enumerate(rule_ids):
        params[f"rule_{i}"] = rule_id
    if trigger == Trigger.FOLLOWUP_COMPLETED:
        rule_join = "r.source_rule_id = ev.rule_id AND r.store_id = ev.store_id"
        conditions.append("ev.status = %(completed)s")
        params["completed"] = TaskStatus.COMPLETED.value
    else:
        rule_join = "r.store_id = ev.store_id"
    if trigger == Trigger.REPAIR_ORDER:
        conditions.append(f"NOT {sql.kind_excluded('r.excluded_repair_kinds', 'ev.kind')}")
    conditions.extend(where)
    params.update(
        {
            "subject_type": subject_type.value,
            "open": TaskStatus.OPEN.value,
            "no_consent": TaskStatus.NO_CONSENT.value,
            "no_consent_reason": "consent_service_calls",
            "empty": "",
        }
    )
    return f"""
        INSERT INTO {task_table} (
            store_id, created_at, updated_at, rule_id, kind, subject_type, subject_id, customer_id, vehicle_id,
            template_id, event_at, due_at, status, status_reason, attempts, next_call_at, outcome
        )
        {with_clause}
        SELECT ev.store_id, %(now)s, %(now)s, r.id, r.kind, %(subject_type)s, ev.id, ev.customer_id, ev.vehicle_id,
            r.template_id, {ev}, {due_expr},
            CASE WHEN c.consent_service_calls THEN %(open)s ELSE %(no_consent)s END,
            CASE WHEN c.consent_service_calls THEN %(empty)s ELSE %(no_consent_reason)s END,
            0, {sql.plus_hours(ev, "r.delay_hours")}, %(empty)s
        FROM {table} ev
        JOIN {rule_table} r ON {rule_join}
        JOIN {customer_table} c ON c.id = ev.customer_id
        {join_clause}
        WHERE {" AND ".join(conditions)}
        ON CONFLICT DO NOTHING
    """


def _generate_for_trigger(
    trigger: str,
    rules: list[FollowupRule],
    units: dict[int, str],
    *,
    since: dt.date | None,
    until: dt.date | None,
    subject_ids: list[int] | None,
    now: dt.datetime,
) -> int:
    sql = _Sql()
    _table, ev_col, _subject = _SOURCES[trigger]
    ev = f"ev.{ev_col}"
    base_params: dict = {"now": sql.param(now), "tz": settings.BUSINESS_TIME_ZONE}
    where = []
    if since is not None:
        where.append(f"{ev} >= %(since)s")
        base_params["since"] = sql.param(business_day_start(since))
    if until is not None:
        where.append(f"{ev} < %(until)s")
        base_params["until"] = sql.param(business_day_start(until))
    if subject_ids is not None:
        if not subject_ids:
            return 0
        names = []
        for i, sid in enumerate(subject_ids):
            base_params[f"sid_{i}"] = sid
            names.append(f"%(sid_{i})s")
        where.append(f"ev.id IN ({', '.join(names)})")

    created = 0
    plain = [r.pk for r in rules if _effective_unit(r, units) != DeadlineUnit.WORKING_DAYS]
    with connection.cursor() as cursor:
        if plain:
            params = dict(base_params)
            due = (
                f"CASE WHEN r.deadline_unit = %(hours)s THEN {sql.plus_hours(ev, 'r.deadline_amount')}"
                f" ELSE {sql.end_of_business_day_plus(ev, 'r.deadline_amount')} END"
            )
            params["hours"] = DeadlineUnit.HOURS.value
            statement = _insert_sql(sql, trigger, rule_ids=plain, params=params, due_expr=due, where=where)
            cursor.execute(statement, params)
            created += max(cursor.rowcount, 0)
        for rule in (r for r in rules if _effective_unit(r, units) == DeadlineUnit.WORKING_DAYS):
            created += _generate_working_days_rule(cursor, sql, trigger, rule, base_params, where)
    return created


def _generate_working_days_rule(cursor, sql: _Sql, trigger: str, rule: FollowupRule, base_params, where) -> int:
    """One rule counted in working days: the (business date → deadline) map goes in as a VALUES list."""
    table, ev_col, _subject = _SOURCES[trigger]
    ev = f"ev.{ev_col}"
    params = dict(base_params)
    params["store"] = rule.store_id
    conditions = ["ev.store_id = %(store)s", *where]
    cursor.execute(f"SELECT DISTINCT {sql.business_date(ev)} FROM {table} ev WHERE {' AND '.join(conditions)}", params)
    days = sorted({d if isinstance(d, dt.date) else dt.date.fromisoformat(d) for (d,) in cursor.fetchall()})
    if not days:
        return 0
    values = []
    for i, day in enumerate(days):
        moment = dt.datetime.combine(day, dt.time(12), tzinfo=BUSINESS_TZ)
        params[f"d_{i}"] = sql.param(day)
        params[f"due_{i}"] = sql.param(working_deadline(rule.store_id, moment, rule.deadline_amount))
        cast = "CAST(%(d_{i})s AS date), CAST(%(due_{i})s AS timestamptz)" if sql.pg else "%(d_{i})s, %(due_{i})s"
        values.append("(" + cast.format(i=i) + ")")
    with_clause = f"WITH wd(day, due_at) AS (VALUES {', '.join(values)})"
    join_clause = f"JOIN wd ON wd.day = {sql.business_date(ev)}"
    statement = _insert_sql(
        sql,
        trigger,
        rule_ids=[rule.pk],
        params=params,
        due_expr="wd.due_at",
        with_clause=with_clause,
        join_clause=join_clause,
        where=conditions,
    )
    cursor.execute(statement, params)
    return max(cursor.rowcount, 0)


def followup_tasks_generate(
    *,
    store_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    delivery_ids: list[int] | None = None,
    repair_order_ids: list[int] | None = None,
    triggers: Iterable[str] | None = None,
) -> int:
    """Create the missing call tasks for events in `[since, until)` (Shanghai days); returns how many were made.

    Set-based: one `INSERT … SELECT … ON CONFLICT DO NOTHING` per trigger (plus one per working-days rule);
    the unique key (rule, subject) makes any rerun create nothing twice. Customers who refused service calls
    get a task in status `no_consent`, so the reason stays visible and nobody calls them.
    Runs in the caller's transaction when there is one (an import or a form), else in its own.
    """
    now = timezone.now()
    if triggers is None:
        triggers = [Trigger.DELIVERY, Trigger.REPAIR_ORDER, Trigger.FOLLOWUP_COMPLETED]
        if delivery_ids is not None or repair_order_ids is not None:
            triggers = [
                t
                for t, ids in ((Trigger.DELIVERY, delivery_ids), (Trigger.REPAIR_ORDER, repair_order_ids))
                if ids is not None
            ]
    rules_qs = FollowupRule.objects.filter(is_active=True, trigger__in=list(triggers))
    if store_id is not None:
        rules_qs = rules_qs.filter(store_id=store_id)
    rules = list(rules_qs)
    if not rules:
        return 0
    units = dict(
        StoreFollowupSettings.objects.filter(store_id__in={r.store_id for r in rules}).values_list(
            "store_id", "repair_deadline_unit"
        )
    )
    created = 0
    with transaction.atomic():
        for trigger in triggers:
            trigger_rules = [r for r in rules if r.trigger == trigger]
            if not trigger_rules:
                continue
            ids = {Trigger.DELIVERY: delivery_ids, Trigger.REPAIR_ORDER: repair_order_ids}.get(trigger)
            created += _generate_for_trigger(
                trigger, trigger_rules, units, since=since, until=until, subject_ids=ids, now=now
            )
        if created:
            audit_event_record(
                actor=None,
                action=AuditAction.CREATE,
                object_type=FollowupTask._meta.label_lower,
                store_id=store_id,
                detail={"generated": created, "since": str(since or ""), "until": str(until or "")},
            )
    return created


# Imports and the daily command create tasks only for events this recent; older events are history.
FOLLOWUP_LOOKBACK_DAYS = 14


def followup_tasks_for_import(*, store_id: int, kind: str) -> int:
    """Tasks for the recent events an import just wrote; called inside the import's chunk transaction."""
    trigger = {"deliveries": Trigger.DELIVERY, "repair_orders": Trigger.REPAIR_ORDER}.get(kind)
    if trigger is None:
        return 0
    since = business_date() - dt.timedelta(days=FOLLOWUP_LOOKBACK_DAYS)
    return followup_tasks_generate(store_id=store_id, since=since, triggers=[trigger])


def followup_tasks_for_delivery(*, delivery: SalesDelivery) -> int:
    """Tasks for one new-car delivery, in the caller's transaction (call it where the delivery is saved)."""
    return followup_tasks_generate(store_id=delivery.store_id, delivery_ids=[delivery.pk])


def followup_tasks_for_repair_order(*, repair_order: RepairOrder) -> int:
    """Tasks for one settled repair order, in the caller's transaction."""
    return followup_tasks_generate(store_id=repair_order.store_id, repair_order_ids=[repair_order.pk])


def followup_task_complete_chain(*, task: FollowupTask) -> int:
    """Tasks started by a completed task (the carmaker's second tracking call)."""
    if task.status != TaskStatus.COMPLETED:
        return 0
    rules = FollowupRule.objects.filter(is_active=True, trigger=Trigger.FOLLOWUP_COMPLETED, source_rule=task.rule_id)
    if not rules.exists():
        return 0
    return _generate_for_trigger(
        Trigger.FOLLOWUP_COMPLETED,
        list(rules),
        {},
        since=None,
        until=None,
        subject_ids=[task.pk],
        now=timezone.now(),
    )


# ---- claiming --------------------------------------------------------------------------------------------------


def _task_for_write(actor, task_id) -> FollowupTask:
    qs = FollowupTask.objects.filter(store_id__in=own_store_ids(actor)).select_related("rule")
    return get_scoped_or_404(qs, pk=task_id)


def _check_may_call(actor, task: FollowupTask) -> None:
    require_perm(actor, Perm.FOLLOWUP_CALL)
    role = role_of(actor)
    if task.rule.allowed_roles and role not in task.rule.allowed_roles and role != Role.GROUP_ADMIN:
        raise PermissionDenied(Perm.FOLLOWUP_CALL)


def followup_task_claim(*, actor, task_id: int) -> FollowupTask:
    """Lock a task to `actor`. Exactly one of many concurrent claimers wins; the others get TaskAlreadyClaimed.

    PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED` on the open, unclaimed row; SQLite: a conditional
    `UPDATE … WHERE claimed_by IS NULL` whose row count tells who won.
    """
    task = _task_for_write(actor, task_id)
    _check_may_call(actor, task)
    if task.status == TaskStatus.CLAIMED and task.claimed_by_id == actor.pk:
        return task
    if task.status not in (TaskStatus.OPEN, TaskStatus.CLAIMED):
        raise ValidationError({"status": _("This task is closed.")})
    now = timezone.now()
    free = FollowupTask.objects.filter(pk=task.pk, status=TaskStatus.OPEN, claimed_by__isnull=True)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            locked = free.select_for_update(skip_locked=True).first()
            if locked is None:
                raise TaskAlreadyClaimed
            won = free.update(status=TaskStatus.CLAIMED, claimed_by=actor, claimed_at=now, updated_at=now)
        else:
            won = free.update(status=TaskStatus.CLAIMED, claimed_by=actor, claimed_at=now, updated_at=now)
        if won != 1:
            raise TaskAlreadyClaimed
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=task, changed_fields=["claimed_by", "status"])
    task.refresh_from_db()
    return task


def followup_task_release(*, actor, task: FollowupTask) -> FollowupTask:
    """Give a claimed task back to the pool (its holder, or a manager)."""
    if task.claimed_by_id != actor.pk:
        require_perm(actor, Perm.FOLLOWUP_MANAGE)
    if task.store_id not in own_store_ids(actor):
        raise PermissionDenied
    if task.status != TaskStatus.CLAIMED:
        raise ValidationError({"status": _("Only a claimed task can be released.")})
    with transaction.atomic():
        FollowupTask.objects.filter(pk=task.pk).update(
            status=TaskStatus.OPEN, claimed_by=None, claimed_at=None, updated_at=timezone.now()
        )
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=task, changed_fields=["claimed_by", "status"])
    task.refresh_from_db()
    return task


def followup_task_assign(*, actor, task_id: int, to_user) -> FollowupTask:
    """A manager hands a task (open or held by someone else) to a specialist of the same store."""
    require_perm(actor, Perm.FOLLOWUP_MANAGE)
    task = _task_for_write(actor, task_id)
    if task.status not in (TaskStatus.OPEN, TaskStatus.CLAIMED):
        raise ValidationError({"status": _("This task is closed.")})
    staff = Staff.objects.filter(user=to_user, stores=task.store_id).first()
    if staff is None or not has_perm(to_user, Perm.FOLLOWUP_CALL):
        raise ValidationError({"to_user": _("This person does not make follow-up calls in the task's store.")})
    if task.rule.allowed_roles and staff.role not in task.rule.allowed_roles:
        raise ValidationError({"to_user": _("The rule does not let this role make the call.")})
    now = timezone.now()
    with transaction.atomic():
        FollowupTask.objects.filter(pk=task.pk).update(
            status=TaskStatus.CLAIMED, claimed_by=to_user, claimed_at=now, assigned_to=to_user, updated_at=now
        )
        audit_event_record(
            actor=actor, action=AuditAction.UPDATE, obj=task, changed_fields=["assigned_to", "claimed_by", "status"]
        )
    task.refresh_from_db()
    return task


# ---- attempts --------------------------------------------------------------------------------------------------


def _held_task(actor, task: FollowupTask) -> FollowupTask:
    """Re-read `task` locked, and check `actor` holds it."""
    locked = FollowupTask.objects.select_for_update().select_related("rule", "customer", "store").get(pk=task.pk)
    if locked.store_id not in own_store_ids(actor):
        raise PermissionDenied
    _check_may_call(actor, locked)
    if locked.status != TaskStatus.CLAIMED or locked.claimed_by_id != actor.pk:
        raise ValidationError({"task": _("Claim the task before calling.")})
    return locked


def followup_attempt_record(
    *,
    actor,
    task: FollowupTask,
    outcome: str,
    notes: str = "",
    call_back_at: dt.datetime | None = None,
    duration_s: int | None = None,
    feedback: dict | None = None,
) -> CallLog:
    """Log one call on a task the actor holds and move the task on.

    completed / refused close the task; wrong number, or the store's maximum of no-answer / busy
    attempts, makes it unreachable and queues an SMS (or a letter when there is no mobile);
    call back reschedules it to `call_back_at`. `feedback` (kind, category, text, department): a complaint,
    grievance or suggestion said on the call, recorded with the call in the same transaction.
    """
    if outcome not in CallOutcome.values:
        raise ValidationError({"outcome": _("Unknown outcome.")})
    now = timezone.now()
    if outcome == CallOutcome.CALL_BACK:
        if call_back_at is None:
            raise ValidationError({"call_back_at": _("Give the time to call back.")})
        if timezone.is_naive(call_back_at):
            raise ValidationError({"call_back_at": _("Give the time with its time zone.")})
        if call_back_at <= now:
            raise ValidationError({"call_back_at": _("The call-back time must be in the future.")})
    elif call_back_at is not None:
        raise ValidationError({"call_back_at": _("Only a call-back outcome takes a call-back time.")})
    if duration_s is not None and not 0 <= duration_s <= 24 * 3600:
        raise ValidationError({"duration_s": _("Duration must be between 0 and 86400 seconds.")})
    with transaction.atomic():
        task = _held_task(actor, task)
        call = CallLog(
            store_id=task.store_id,
            task=task,
            customer_id=task.customer_id,
            handler=actor,
            direction=CallDirection.OUTBOUND,
            called_at=now,
            duration_s=duration_s,
            outcome=outcome,
            call_back_at=call_back_at,
            notes=notes or "",
        )
        call.full_clean()
        call.save()
        task.attempts += 1
        task.outcome = outcome
        changed = ["attempts", "outcome"]
        if outcome in (CallOutcome.COMPLETED, CallOutcome.REFUSED):
            task.status = TaskStatus.COMPLETED if outcome == CallOutcome.COMPLETED else TaskStatus.REFUSED
            task.completed_at, task.completed_by = now, actor
            changed += ["status", "completed_at", "completed_by"]
        elif outcome == CallOutcome.CALL_BACK:
            task.next_call_at = call_back_at
            changed.append("next_call_at")
        elif (
            outcome == CallOutcome.WRONG_NUMBER
            or _no_contact_count(task) >= store_followup_settings(task.store_id).max_attempts
        ):
            task.status = TaskStatus.UNREACHABLE
            task.completed_at, task.completed_by = now, actor
            changed += ["status", "completed_at", "completed_by"]
        task.save(update_fields=[*changed, "updated_at"])
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=call, detail={"outcome": outcome})
        if task.status == TaskStatus.UNREACHABLE:
            _unreachable_notice_create(actor=actor, task=task)
        if task.status == TaskStatus.COMPLETED:
            followup_task_complete_chain(task=task)
        if feedback:
            _call_feedback_create(actor=actor, task=task, call=call, feedback=feedback)
    return call


_REPAIR_CATEGORY = {
    RepairKind.BODY: "body",
    RepairKind.INSURANCE_JOB: "body",
    RepairKind.PAINT: "paint",
    RepairKind.WASH: "wash",
}


def _task_category(task: FollowupTask) -> str:
    """The feedback category a task's call is about: sales for a delivery, else the repair order's kind."""
    if task.subject_type == SubjectType.DELIVERY or task.kind == FollowupKind.SSI:
        return "sales"
    if task.subject_type == SubjectType.REPAIR_ORDER:
        kind = RepairOrder.objects.filter(pk=task.subject_id).values_list("kind", flat=True).first()
        return _REPAIR_CATEGORY.get(kind, "mechanical")
    return "mechanical"


def _call_feedback_create(*, actor, task: FollowupTask, call: CallLog | None, feedback: dict, sheet=None) -> None:
    """Ask the apps above (the complaints app) to record what was said on a follow-up call, in this transaction."""
    call_feedback_given.send(
        sender=CallLog,
        actor=actor,
        call=call,
        task=task,
        sheet=sheet,
        inbound=False,
        customer=task.customer,
        vehicle=task.vehicle,
        feedback={**feedback, "category": feedback.get("category") or _task_category(task)},
    )


def _no_contact_count(task: FollowupTask) -> int:
    return CallLog.objects.filter(task=task, outcome__in=NO_CONTACT_OUTCOMES).count()


def _unreachable_notice_create(*, actor, task: FollowupTask) -> LetterLog:
    """The seed's rule: an unreachable customer gets an SMS, or a letter when there is no mobile."""
    customer = task.customer
    with translation.override(settings.LANGUAGE_CODE):
        text = gettext(
            "Dear customer, %(store)s tried to call you about your recent visit. "
            "If you have any feedback, please call us back."
        ) % {"store": task.store.name}
    letter = LetterLog.objects.create(
        store_id=task.store_id,
        task=task,
        customer=customer,
        kind=LetterKind.UNREACHABLE_NOTICE,
        channel=LetterChannel.SMS if customer.mobile else LetterChannel.LETTER,
        handler=actor,
        text=text,
    )
    audit_event_record(actor=actor, action=AuditAction.CREATE, obj=letter)
    if letter.channel == LetterChannel.SMS:
        transaction.on_commit(lambda: _letter_sms_send(letter.pk))
    return letter


def _letter_sms_send(letter_id: int) -> None:
    letter = LetterLog.objects.select_related("customer").get(pk=letter_id)
    try:
        sms_send(to=letter.customer.mobile, text=letter.text)
    except Exception:  # the gateway failed: keep the row, mark it, let someone resend
        LetterLog.objects.filter(pk=letter_id).update(status=LetterStatus.FAILED, updated_at=timezone.now())
        return
    now = timezone.now()
    LetterLog.objects.filter(pk=letter_id).update(status=LetterStatus.SENT, sent_at=now, updated_at=now)


# ---- call log and letter log kept by hand ----------------------------------------------------------------------


def call_log_inbound_create(
    *,
    actor,
    store: Store,
    purpose: str,
    handler,
    called_at: dt.datetime,
    duration_s: int | None = None,
    customer: Customer | None = None,
    notes: str = "",
    feedback: dict | None = None,
) -> CallLog:
    """Log an inbound call by hand (a consultation or a complaint). A complaint with `feedback` (category,
    department, text) also makes a feedback record, in the same transaction."""
    require_perm(actor, Perm.FOLLOWUP_CALL)
    if store.pk not in own_store_ids(actor):
        raise PermissionDenied
    errors = {}
    if purpose not in (CallPurpose.CONSULTATION, CallPurpose.COMPLAINT):
        errors["purpose"] = [gettext("Choose consultation or complaint.")]
    if customer is not None and customer.store_id != store.pk:
        errors["customer"] = [gettext("The customer belongs to another store.")]
    if not Staff.objects.filter(user=handler, stores=store).exists():
        errors["handler"] = [gettext("The handler does not work in this store.")]
    if timezone.is_naive(called_at):
        errors["called_at"] = [gettext("Give the time with its time zone.")]
    elif called_at > timezone.now() + dt.timedelta(minutes=5):
        errors["called_at"] = [gettext("The call cannot be in the future.")]
    if duration_s is not None and not 0 <= duration_s <= 24 * 3600:
        errors["duration_s"] = [gettext("Duration must be between 0 and 86400 seconds.")]
    if feedback and customer is None:
        errors["customer"] = [gettext("Give the customer to record a complaint.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        call = CallLog(
            store=store,
            customer=customer,
            handler=handler,
            direction=CallDirection.INBOUND,
            purpose=purpose,
            called_at=called_at,
            duration_s=duration_s,
            outcome=CallOutcome.COMPLETED,
            notes=(notes or "").strip(),
        )
        call.full_clean()
        call.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=call, detail={"purpose": purpose})
        if feedback:
            call_feedback_given.send(
                sender=CallLog,
                actor=actor,
                call=call,
                task=None,
                sheet=None,
                inbound=True,
                customer=customer,
                vehicle=None,
                feedback={**feedback, "text": feedback.get("text") or call.notes},
            )
    return call


def letter_log_create(
    *,
    actor,
    store: Store,
    customer: Customer,
    kind: str,
    channel: str,
    handler,
    sent_on: dt.date,
    text: str = "",
) -> LetterLog:
    """Log a notice, invitation or reply letter sent by hand (date and handler)."""
    require_perm(actor, Perm.FOLLOWUP_CALL)
    if store.pk not in own_store_ids(actor):
        raise PermissionDenied
    errors = {}
    if kind not in (LetterKind.NOTICE, LetterKind.INVITATION, LetterKind.REPLY):
        errors["kind"] = [gettext("Choose notice, invitation or reply letter.")]
    if channel not in LetterChannel.values:
        errors["channel"] = [gettext("Unknown channel.")]
    if customer.store_id != store.pk:
        errors["customer"] = [gettext("The customer belongs to another store.")]
    if not Staff.objects.filter(user=handler, stores=store).exists():
        errors["handler"] = [gettext("The handler does not work in this store.")]
    if errors:
        raise ValidationError(errors)
    sent_at = dt.datetime.combine(sent_on, dt.time(12), tzinfo=BUSINESS_TZ)
    with transaction.atomic():
        letter = LetterLog(
            store=store,
            customer=customer,
            kind=kind,
            channel=channel,
            status=LetterStatus.SENT,
            handler=handler,
            sent_at=sent_at,
            text=(text or "").strip(),
        )
        letter.full_clean()
        letter.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=letter, detail={"kind": kind})
    return letter


def call_log_export_xlsx(*, actor, calls, filters: dict | None = None) -> bytes:
    """The (already scoped and filtered) call log as XLSX; phones masked. Audited as an export."""
    from aftercare.customers.validators import mask_mobile

    header = [
        gettext("Time"),
        gettext("Store"),
        gettext("Direction"),
        gettext("Purpose"),
        gettext("Customer number"),
        gettext("Customer"),
        gettext("Mobile"),
        gettext("Handler"),
        gettext("Duration (s)"),
        gettext("Outcome"),
        gettext("Call back at"),
        gettext("Task"),
        gettext("Notes"),
    ]
    rows = (
        [
            c.called_at,
            c.store.code,
            c.get_direction_display(),
            c.get_purpose_display(),
            c.customer.number if c.customer_id else "",
            c.customer.name if c.customer_id else "",
            mask_mobile(c.customer.mobile) if c.customer_id and c.customer.mobile else "",
            staff_name(c.handler),
            c.duration_s,
            c.get_outcome_display(),
            c.call_back_at,
            c.task_id,
            c.notes,
        ]
        for c in calls.select_related("handler__staff").iterator(chunk_size=2000)
    )
    content, n = xlsx_bytes("calls", header, rows)
    audit_event_record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type=CallLog._meta.label_lower,
        store_id=None,
        detail={"rows": n, **(filters or {})},
    )
    return content


def letter_log_export_xlsx(*, actor, letters, filters: dict | None = None) -> bytes:
    """The (already scoped and filtered) letter log as XLSX. Audited as an export."""
    header = [
        gettext("Recorded"),
        gettext("Store"),
        gettext("Kind"),
        gettext("Channel"),
        gettext("Status"),
        gettext("Sent at"),
        gettext("Customer number"),
        gettext("Customer"),
        gettext("Handler"),
        gettext("Task"),
        gettext("Text"),
    ]
    rows = (
        [
            letter.created_at,
            letter.store.code,
            letter.get_kind_display(),
            letter.get_channel_display(),
            letter.get_status_display(),
            letter.sent_at,
            letter.customer.number,
            letter.customer.name,
            staff_name(letter.handler),
            letter.task_id,
            letter.text,
        ]
        for letter in letters.select_related("handler__staff").iterator(chunk_size=2000)
    )
    content, n = xlsx_bytes("letters", header, rows)
    audit_event_record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type=LetterLog._meta.label_lower,
        detail={"rows": n, **(filters or {})},
    )
    return content


# ---- questionnaires: scoring -----------------------------------------------------------------------------------

_YES = {1, "yes", "y", "true", "1", "是"}
_NO = {0, "no", "n", "false", "0", "否"}


def _answer_clean(question: Question, value):
    """The stored form of one answer, or ValidationError with a message for that question."""
    if question.type in SCALE_MAX:
        top = SCALE_MAX[question.type]
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValidationError(_("Give a whole number from 1 to %(max)s.") % {"max": top})
        try:
            number = int(value)
        except ValueError:
            raise ValidationError(_("Give a whole number from 1 to %(max)s.") % {"max": top})
        if not 1 <= number <= top:
            raise ValidationError(_("Give a whole number from 1 to %(max)s.") % {"max": top})
        return number
    if question.type == QuestionType.YES_NO:
        if isinstance(value, bool):
            return value
        probe = value.strip().lower() if isinstance(value, str) else value
        if isinstance(probe, int | str) and probe in _YES:
            return True
        if isinstance(probe, int | str) and probe in _NO:
            return False
        raise ValidationError(_("Answer yes or no."))
    if question.type == QuestionType.SINGLE_CHOICE:
        values = {c["value"] for c in question.choices}
        if value not in values:
            raise ValidationError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(sorted(map(str, values)))})
        return value
    if not isinstance(value, str):
        raise ValidationError(_("Give text."))
    if len(value) > 2000:
        raise ValidationError(_("At most 2000 characters."))
    return value.strip()


def _answer_score(question: Question, value) -> Decimal | None:
    """Normalised 0–1 score of an answer; None when the answer does not count (free text, unscored choice)."""
    if value is None or question.weight == 0:
        return None
    if question.type in SCALE_MAX:
        return Decimal(value - 1) / Decimal(SCALE_MAX[question.type] - 1)
    if question.type == QuestionType.YES_NO:
        return Decimal(1) if value else Decimal(0)
    if question.type == QuestionType.SINGLE_CHOICE:
        choice = next(c for c in question.choices if c["value"] == value)
        return None if choice.get("score") is None else Decimal(str(choice["score"]))
    return None


def _answer_dissatisfied(question: Question, value, score: Decimal | None, threshold: Decimal) -> bool:
    if value is None:
        return False
    if question.type == QuestionType.SINGLE_CHOICE:
        return bool(next(c for c in question.choices if c["value"] == value).get("dissatisfied"))
    if question.dissatisfied_at_or_below is not None and question.type in (*SCALE_MAX, QuestionType.YES_NO):
        return int(value) <= question.dissatisfied_at_or_below
    if question.type in SCALE_MAX and score is not None:
        return score <= threshold
    return False


def _quantize(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def questionnaire_score(template: QuestionnaireTemplate, values: dict[int, object]) -> dict:
    """Score cleaned answers `{question_id: value}` on the 1000-point scale (formula: docs/kpis.md).

    Per factor: S_f = Σ w_q·s_q / Σ w_q over the factor's scored answers (s_q normalised to 0–1).
    Overall: 1000 · Σ W_f·S_f / Σ W_f over factors with a score. Factor scores are reported × 1000 too.
    """
    factors = list(template.factors.prefetch_related("questions"))
    threshold = template.dissatisfied_threshold
    num_total = den_total = Decimal(0)
    factor_scores: dict[str, Decimal | None] = {}
    per_question: dict[int, tuple[Decimal | None, bool]] = {}
    for factor in factors:
        num = den = Decimal(0)
        for q in factor.questions.all():
            value = values.get(q.pk)
            score = _answer_score(q, value)
            per_question[q.pk] = (score, _answer_dissatisfied(q, value, score, threshold))
            if score is not None:
                num += q.weight * score
                den += q.weight
        if den:
            s_f = num / den
            factor_scores[factor.code] = _quantize(1000 * s_f)
            if factor.weight:
                num_total += factor.weight * s_f
                den_total += factor.weight
        else:
            factor_scores[factor.code] = None
    total = _quantize(1000 * num_total / den_total) if den_total else None
    return {"total": total, "factors": factor_scores, "questions": per_question}


def answer_sheet_submit(
    *,
    actor,
    task: FollowupTask,
    answers: dict,
    dissatisfied: bool = False,
    notes: str = "",
    feedback: dict | None = None,
) -> AnswerSheet:
    """Save the questionnaire of a call the actor holds, score it, and complete the task.

    `answers`: {question id: value}. Every bad answer is reported under `answers.<question id>`; nothing is
    stored unless all are valid. The sheet is dissatisfied when any answer is at or below its threshold or the
    specialist marks it (`dissatisfied=True`). A dissatisfied sheet, or `feedback` said on the call, creates a
    feedback record (complaints app) in the same transaction, linked to the task, the sheet and the call.
    """
    if task.template_id is None:
        raise ValidationError({"template": _("This task has no questionnaire.")})
    template = QuestionnaireTemplate.objects.get(pk=task.template_id)
    questions = {q.pk: q for q in Question.objects.filter(factor__template=template)}
    errors: dict[str, list[str]] = {}
    cleaned: dict[int, object] = {}
    for raw_key, value in (answers or {}).items():
        try:
            qid = int(raw_key)
        except (TypeError, ValueError):
            qid = None
        if qid not in questions:
            errors[f"answers.{raw_key}"] = [gettext("Not a question of this questionnaire.")]
            continue
        if value is None or value == "":
            continue
        try:
            cleaned[qid] = _answer_clean(questions[qid], value)
        except ValidationError as exc:
            errors[f"answers.{qid}"] = exc.messages
    for qid, q in questions.items():
        if q.required and qid not in cleaned and f"answers.{qid}" not in errors:
            errors[f"answers.{qid}"] = [gettext("This answer is required.")]
    if errors:
        raise ValidationError(errors)
    result = questionnaire_score(template, cleaned)
    reasons = [questions[qid].code for qid, (_s, bad) in result["questions"].items() if bad]
    if dissatisfied:
        reasons.append("marked")
    now = timezone.now()
    with transaction.atomic():
        task = _held_task(actor, task)
        sheet = AnswerSheet(
            store_id=task.store_id,
            task=task,
            template=template,
            answered_by=actor,
            answered_at=now,
            score_total=result["total"],
            factor_scores={k: (str(v) if v is not None else None) for k, v in result["factors"].items()},
            dissatisfied=bool(reasons),
            dissatisfied_reasons=reasons,
            notes=notes or "",
        )
        sheet.full_clean(exclude=["task"])
        sheet.save()
        Answer.objects.bulk_create(
            Answer(
                sheet=sheet,
                question_id=qid,
                value=value,
                score=result["questions"][qid][0],
                dissatisfied=result["questions"][qid][1],
            )
            for qid, value in cleaned.items()
        )
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=sheet, detail={"dissatisfied": bool(reasons)})
        call = followup_attempt_record(actor=actor, task=task, outcome=CallOutcome.COMPLETED, notes=notes)
        if feedback or sheet.dissatisfied:
            _call_feedback_create(
                actor=actor,
                task=task,
                call=call,
                sheet=sheet,
                feedback=feedback or _dissatisfied_feedback(task, sheet, questions, cleaned, notes),
            )
    return sheet


def _dissatisfied_feedback(task, sheet: AnswerSheet, questions: dict, cleaned: dict, notes: str) -> dict:
    """A grievance made from a dissatisfied sheet: the questions answered badly, their answers and the notes."""
    lines = []
    by_code = {q.code: q for q in questions.values()}
    for code in sheet.dissatisfied_reasons:
        q = by_code.get(code)
        if q is None:
            continue
        value = cleaned.get(q.pk)
        lines.append(f"{q.code} {q.text_zh}: {value}")
    if "marked" in sheet.dissatisfied_reasons:
        with translation.override(settings.LANGUAGE_CODE):
            lines.append(gettext("Marked dissatisfied by the specialist."))
    if notes:
        lines.append(notes)
    return {"kind": "grievance", "text": "\n".join(lines)}


# ---- questionnaires: versions, import, export ------------------------------------------------------------------


def questionnaire_template_ensure_editable(template: QuestionnaireTemplate) -> None:
    """A template with answer sheets, or active, is never edited in place: make a new version."""
    if template.status != QuestionnaireStatus.DRAFT or template.in_use:
        raise ValidationError({"template": _("This questionnaire is in use; make a new version to change it.")})


def questionnaire_template_new_version(*, actor, template: QuestionnaireTemplate) -> QuestionnaireTemplate:
    """Copy a template (factors and questions) as the next draft version of its code."""
    require_perm(actor, Perm.FOLLOWUP_TEMPLATES)
    data = questionnaire_template_to_dict(template)
    with transaction.atomic():
        top = QuestionnaireTemplate.objects.filter(code=template.code).aggregate(v=Max("version"))["v"] or 0
        copy = create_template(
            data,
            Template=QuestionnaireTemplate,
            Factor=Factor,
            Question=Question,
            version=top + 1,
            status=QuestionnaireStatus.DRAFT,
        )
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=copy, detail={"from_version": template.version})
    return copy


def questionnaire_template_activate(*, actor, template: QuestionnaireTemplate) -> QuestionnaireTemplate:
    """Make `template` the active version of its code: the old one retires and rules move to the new one.

    Tasks already created keep the version they were made with.
    """
    require_perm(actor, Perm.FOLLOWUP_TEMPLATES)
    with transaction.atomic():
        old = list(
            QuestionnaireTemplate.objects.filter(code=template.code, status=QuestionnaireStatus.ACTIVE).exclude(
                pk=template.pk
            )
        )
        QuestionnaireTemplate.objects.filter(pk__in=[t.pk for t in old]).update(status=QuestionnaireStatus.RETIRED)
        QuestionnaireTemplate.objects.filter(pk=template.pk).update(status=QuestionnaireStatus.ACTIVE)
        FollowupRule.objects.filter(template__code=template.code).exclude(template=template).update(
            template=template, updated_at=timezone.now()
        )
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=template, changed_fields=["status"])
    template.refresh_from_db()
    return template


def questionnaire_template_to_dict(template: QuestionnaireTemplate) -> dict:
    """The JSON form of a template (see data/loader.py)."""
    return {
        "code": template.code,
        "version": template.version,
        "kind": template.kind,
        "status": template.status,
        "name_zh": template.name_zh,
        "name_en": template.name_en,
        "dissatisfied_threshold": str(template.dissatisfied_threshold),
        "factors": [
            {
                "code": f.code,
                "name_zh": f.name_zh,
                "name_en": f.name_en,
                "weight": str(f.weight),
                "questions": [
                    {
                        "code": q.code,
                        "type": q.type,
                        "text_zh": q.text_zh,
                        "text_en": q.text_en,
                        "weight": str(q.weight),
                        "required": q.required,
                        "dissatisfied_at_or_below": q.dissatisfied_at_or_below,
                        "choices": q.choices,
                    }
                    for q in f.questions.all()
                ],
            }
            for f in template.factors.prefetch_related("questions")
        ],
    }


def _template_dict_validate(data) -> dict:
    """Check an imported template; errors name the factor / question position."""
    errors: dict[str, list[str]] = {}

    def err(key, msg):
        errors.setdefault(key, []).append(str(msg))

    if not isinstance(data, dict):
        raise ValidationError({"__all__": [gettext("A template must be a JSON object.")]})
    for key in ("code", "kind", "name_zh"):
        if not str(data.get(key) or "").strip():
            err(key, gettext("This field is required."))
    if data.get("kind") and data["kind"] not in QuestionnaireKind.values:
        err("kind", gettext("Unknown kind."))
    try:
        threshold = Decimal(str(data.get("dissatisfied_threshold", "0.4")))
        if not 0 <= threshold <= 1:
            raise ValueError
    except (ArithmeticError, ValueError):
        err("dissatisfied_threshold", gettext("Give a number from 0 to 1."))
    factors = data.get("factors")
    if not isinstance(factors, list) or not factors:
        err("factors", gettext("Give at least one factor."))
        factors = []
    codes: set[str] = set()
    for i, f in enumerate(factors, start=1):
        where = f"factors.{i}"
        if not isinstance(f, dict):
            err(where, gettext("A factor must be an object."))
            continue
        for key in ("code", "name_zh"):
            if not str(f.get(key) or "").strip():
                err(f"{where}.{key}", gettext("This field is required."))
        try:
            if Decimal(str(f.get("weight", 1))) < 0:
                raise ValueError
        except (ArithmeticError, ValueError):
            err(f"{where}.weight", gettext("Give a number of at least 0."))
        questions = f.get("questions")
        if not isinstance(questions, list) or not questions:
            err(f"{where}.questions", gettext("Give at least one question."))
            continue
        for j, q in enumerate(questions, start=1):
            qwhere = f"{where}.questions.{j}"
            if not isinstance(q, dict):
                err(qwhere, gettext("A question must be an object."))
                continue
            code = str(q.get("code") or "").strip()
            if not code:
                err(f"{qwhere}.code", gettext("This field is required."))
            elif code in codes:
                err(f"{qwhere}.code", gettext("Question codes must be unique."))
            codes.add(code)
            if not str(q.get("text_zh") or "").strip():
                err(f"{qwhere}.text_zh", gettext("This field is required."))
            if q.get("type") not in QuestionType.values:
                err(f"{qwhere}.type", gettext("Unknown question type."))
            try:
                if Decimal(str(q.get("weight", 1))) < 0:
                    raise ValueError
            except (ArithmeticError, ValueError):
                err(f"{qwhere}.weight", gettext("Give a number of at least 0."))
            limit = q.get("dissatisfied_at_or_below")
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
                err(f"{qwhere}.dissatisfied_at_or_below", gettext("Give a whole number or leave it empty."))
            if q.get("type") == QuestionType.SINGLE_CHOICE:
                choices = q.get("choices")
                values = [c.get("value") for c in choices if isinstance(c, dict)] if isinstance(choices, list) else []
                if not values or None in values or len(set(values)) != len(values) or len(values) != len(choices):
                    err(f"{qwhere}.choices", gettext("Every choice needs a distinct value."))
    if errors:
        raise ValidationError(errors)
    return data


def questionnaire_template_import(*, actor, data: dict) -> QuestionnaireTemplate:
    """Create a template from its JSON form, always as a new draft version of its code (never overwriting)."""
    require_perm(actor, Perm.FOLLOWUP_TEMPLATES)
    data = _template_dict_validate(clean_text_deep(data))  # questions are bulk-created: no model clean on the way
    with transaction.atomic():
        top = QuestionnaireTemplate.objects.filter(code=data["code"]).aggregate(v=Max("version"))["v"] or 0
        template = create_template(
            data,
            Template=QuestionnaireTemplate,
            Factor=Factor,
            Question=Question,
            version=top + 1,
            status=QuestionnaireStatus.DRAFT,
        )
        audit_event_record(actor=actor, action=AuditAction.IMPORT, obj=template)
    return template


_XLSX_COLUMNS = (
    "factor_code",
    "factor_name_zh",
    "factor_name_en",
    "factor_weight",
    "code",
    "type",
    "text_zh",
    "text_en",
    "weight",
    "required",
    "dissatisfied_at_or_below",
    "choices",
)
_XLSX_HEADER = ("code", "version", "kind", "status", "name_zh", "name_en", "dissatisfied_threshold")


def questionnaire_template_export_xlsx(*, actor, template: QuestionnaireTemplate) -> bytes:
    """The template as an XLSX workbook: sheet `template` (key/value) and sheet `questions` (one row each)."""
    data = questionnaire_template_to_dict(template)
    head = [[key, data[key]] for key in _XLSX_HEADER]
    questions = [list(_XLSX_COLUMNS)] + [
        [
            f["code"],
            f["name_zh"],
            f["name_en"],
            f["weight"],
            q["code"],
            q["type"],
            q["text_zh"],
            q["text_en"],
            q["weight"],
            "yes" if q["required"] else "no",
            q["dissatisfied_at_or_below"],
            json.dumps(q["choices"], ensure_ascii=False) if q["choices"] else "",
        ]
        for f in data["factors"]
        for q in f["questions"]
    ]
    content, _n = xlsx_workbook_bytes([("template", head), ("questions", questions)])
    audit_event_record(actor=actor, action=AuditAction.EXPORT, obj=template)
    return content


def _xlsx_text_rows(sheet):
    """The sheet's rows as values, text as the export writer was given it (`unneutralise`)."""
    for row in sheet.iter_rows(values_only=True):
        yield tuple(unneutralise(v) if isinstance(v, str) else v for v in row)


def questionnaire_template_dict_from_xlsx(content: bytes) -> dict:
    """Read a workbook written by `questionnaire_template_export_xlsx` (or by hand, same layout) into JSON form."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise ValidationError({"file": [gettext("Not a readable XLSX file.")]})
    if "template" not in wb.sheetnames or "questions" not in wb.sheetnames:
        raise ValidationError({"file": [gettext("The workbook needs the sheets 'template' and 'questions'.")]})
    data: dict = {}
    for row in _xlsx_text_rows(wb["template"]):
        if row and row[0] in _XLSX_HEADER:
            data[row[0]] = "" if len(row) < 2 or row[1] is None else row[1]
    rows = _xlsx_text_rows(wb["questions"])
    header = [str(c or "").strip() for c in next(rows, ())]
    missing = [c for c in _XLSX_COLUMNS if c not in header]
    if missing:
        raise ValidationError({"questions": [gettext("Missing columns: %(cols)s") % {"cols": ", ".join(missing)}]})
    factors: dict[str, dict] = {}
    for n, row in enumerate(rows, start=2):
        rec = dict(zip(header, row, strict=False))
        if not any(v not in (None, "") for v in rec.values()):
            continue
        fcode = str(rec["factor_code"] or "").strip()
        factor = factors.setdefault(
            fcode,
            {
                "code": fcode,
                "name_zh": rec["factor_name_zh"] or "",
                "name_en": rec["factor_name_en"] or "",
                "weight": str(rec["factor_weight"] if rec["factor_weight"] is not None else 1),
                "questions": [],
            },
        )
        try:
            choices = json.loads(rec["choices"]) if rec["choices"] else []
        except json.JSONDecodeError:
            raise ValidationError({f"questions.row {n}.choices": [gettext("Not valid JSON.")]})
        limit = rec["dissatisfied_at_or_below"]
        factor["questions"].append(
            {
                "code": str(rec["code"] or "").strip(),
                "type": str(rec["type"] or "").strip(),
                "text_zh": rec["text_zh"] or "",
                "text_en": rec["text_en"] or "",
                "weight": str(rec["weight"] if rec["weight"] is not None else 1),
                "required": str(rec["required"] or "yes").strip().lower() in {"yes", "true", "1", "是"},
                "dissatisfied_at_or_below": int(limit) if limit not in (None, "") else None,
                "choices": choices,
            }
        )
    data["factors"] = list(factors.values())
    return data
