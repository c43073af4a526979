"""Writes that make follow-up tasks: set-based from events (deliveries, repair orders, completed calls), and
one by one for the apps that own other events (`followup_task_create`).

Deadlines (see docs/kpis.md): `due_at` is a half-open bound in UTC; a task is on time when closed before it.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.models import Customer, RepairOrder, SalesDelivery
from aftercare.org.calendar import business_date, business_day_start, business_tz, working_deadline

from ..choices import DeadlineUnit, StoreDayUnit, SubjectType, TaskStatus, Trigger
from ..models import FollowupRule, FollowupTask, StoreFollowupSettings
from .rules import followup_rule_due_at


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
        offset = dt.datetime.now(business_tz()).utcoffset() or dt.timedelta(0)
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
        moment = dt.datetime.combine(day, dt.time(12), tzinfo=business_tz())
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
