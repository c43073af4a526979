"""Set-based writes of the daily renewal run (`manage.py renewals_generate`) and of a policy import.

1. `renewal_cases_generate`: a case per policy expiring in the store's window, and per vehicle serviced here
   whose policy is not on file (estimated expiry) — one `INSERT … SELECT … ON CONFLICT DO NOTHING` each.
2. `renewal_cases_match_renewals`: a policy of ours for the vehicle starting near the expiry closes the case as
   renewed here (the outcome a specialist recorded stays beside it).
3. `renewal_cases_lapse`: open cases past the chase end become `lapsed`.
4. `renewal_contacts_plan`: the contact due on each open case becomes a follow-up task of the renewal rule.

Every step is idempotent (unique keys and state conditions), so a rerun, or a run after a killed one, makes
nothing twice. Definitions: docs/kpis.md ("Renewal segments"), docs/renewals.md.
"""

import datetime as dt
from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.choices import PolicyKind, RepairKind
from aftercare.customers.models import InsurancePolicy, Ownership, RepairOrder, Vehicle
from aftercare.followups.choices import ACTIVE_STATUSES, SubjectType, TaskStatus, Trigger
from aftercare.followups.models import FollowupTask
from aftercare.followups.services.generation import TaskSubject, followup_task_create
from aftercare.followups.services.rules import followup_rule_get
from aftercare.org.calendar import business_date, business_day_start
from aftercare.org.models import Store

from ..choices import SEGMENT_PRIORITY, CaseState, Segment
from ..models import RenewalCase, RenewalContact, RenewalSettings
from ..selectors import renewal_settings_map

# a case's vehicle has no second case with an expiry this close (an estimated and a filed one of one year)
SAME_YEAR_DAYS = 60
# a policy of ours for the vehicle starting this close to the expiry is its renewal
RENEWAL_MATCH_DAYS = 90
# "came back": a repair order (not internal) this recent; "lapsed": at most this many policy years missed
VISIT_DAYS = 365
LAPSED_YEARS_MAX = 3
# a later contact is due no sooner than this after the previous one closed
CONTACT_GAP_DAYS = 3
# contacts beyond the store's contact days are due on the expiry day and every week after, while chased
EXTRA_CONTACT_EVERY_DAYS = 7


def contact_due_on(settings: RenewalSettings, expiry: dt.date, number: int) -> dt.date:
    """The day contact `number` (1-based) of a case expiring on `expiry` is due by the store's settings."""
    days = settings.contact_days
    if number <= len(days):
        return expiry - dt.timedelta(days=days[number - 1])
    return expiry + dt.timedelta(days=EXTRA_CONTACT_EVERY_DAYS * (number - len(days) - 1))


class _Sql:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self):
        self.pg = connection.vendor == "postgresql"

    def add_days(self, expr: str, days: str) -> str:
        return f"({expr} + ({days}) * INTERVAL '1 day')::date" if self.pg else f"date({expr}, ({days}) || ' days')"

    def add_years(self, expr: str, years: str) -> str:
        return f"({expr} + make_interval(years => ({years})))::date" if self.pg else (
            f"date({expr}, '+' || ({years}) || ' years')"
        )

    def year(self, expr: str) -> str:
        return f"CAST(EXTRACT(YEAR FROM {expr}) AS integer)" if self.pg else f"CAST(strftime('%%Y', {expr}) AS integer)"

    def not_feb29(self, expr: str) -> str:
        """29 February as the 28th, so adding years gives the same day on both databases."""
        md = f"to_char({expr}, 'MM-DD')" if self.pg else f"strftime('%%m-%%d', {expr})"
        return f"(CASE WHEN {md} = '02-29' THEN {self.add_days(expr, '-1')} ELSE {expr} END)"

    def false(self) -> str:
        return "FALSE" if self.pg else "0"


def _segment_case(column: str) -> str:
    return "CASE " + " ".join(f"WHEN {column} = '{s.value}' THEN {p}" for s, p in SEGMENT_PRIORITY.items()) + " END"


def _windows(store_ids, today: dt.date, since: dt.date | None) -> dict[tuple[dt.date, dt.date], list[int]]:
    """Stores grouped by their window `[today − chase, today + opens]` of expiry dates (half-open end)."""
    groups: dict[tuple[dt.date, dt.date], list[int]] = defaultdict(list)
    for sid, s in renewal_settings_map(store_ids).items():
        start = today - dt.timedelta(days=s.lapse_chase_days)
        if since is not None:
            start = min(start, since)
        groups[(start, today + dt.timedelta(days=s.list_opens_days + 1))].append(sid)
    return groups


def _store_ids(store_id: int | None) -> list[int]:
    qs = Store.objects.all() if store_id is None else Store.objects.filter(pk=store_id)
    return list(qs.values_list("pk", flat=True))


def _policy_cases_sql(sql: _Sql, store_ids: list[int]) -> str:
    t = {
        "case": RenewalCase._meta.db_table,
        "p": InsurancePolicy._meta.db_table,
        "o": Ownership._meta.db_table,
    }
    stores = ", ".join(str(int(s)) for s in store_ids)
    segment = (f"CASE WHEN p.kind = '{PolicyKind.NEW_CAR.value}' THEN '{Segment.NEW_CAR_FIRST.value}' "
               f"ELSE '{Segment.RENEWED_HERE.value}' END")
    return f"""
INSERT INTO {t['case']} (store_id, customer_id, vehicle_id, policy_id, expiry_date, expiry_estimated, segment,
    priority, previous_insurer, previous_premium, state, contacts_made, attempts, outcome, outcome_insurer,
    outcome_policy_number, outcome_reason, outcome_reason_text, created_at, updated_at)
SELECT p.store_id,
    COALESCE((SELECT o.customer_id FROM {t['o']} o WHERE o.vehicle_id = p.vehicle_id AND o.valid_to IS NULL
              AND o.store_id = p.store_id), p.customer_id),
    p.vehicle_id, p.id, p.expiry_date, {sql.false()}, {segment},
    CASE WHEN p.kind = '{PolicyKind.NEW_CAR.value}' THEN {SEGMENT_PRIORITY[Segment.NEW_CAR_FIRST]}
         ELSE {SEGMENT_PRIORITY[Segment.RENEWED_HERE]} END,
    p.insurer, p.premium, '{CaseState.OPEN.value}', 0, 0, '', '', '', '', '', %(now)s, %(now)s
FROM {t['p']} p
WHERE p.store_id IN ({stores}) AND p.expiry_date >= %(ws)s AND p.expiry_date < %(we)s
  AND NOT EXISTS (SELECT 1 FROM {t['case']} c WHERE c.vehicle_id = p.vehicle_id
                  AND c.expiry_date > {sql.add_days('p.expiry_date', f'-{SAME_YEAR_DAYS}')}
                  AND c.expiry_date < {sql.add_days('p.expiry_date', str(SAME_YEAR_DAYS))})
ON CONFLICT DO NOTHING
"""


def _estimated_cases_sql(sql: _Sql, store_ids: list[int]) -> str:
    t = {
        "case": RenewalCase._meta.db_table,
        "p": InsurancePolicy._meta.db_table,
        "o": Ownership._meta.db_table,
        "v": Vehicle._meta.db_table,
        "ro": RepairOrder._meta.db_table,
    }
    stores = ", ".join(str(int(s)) for s in store_ids)
    anchor = sql.not_feb29(f"COALESCE(last_expiry, {sql.add_days('delivery_date', '-1')})")
    years = f"({sql.year('%(ws)s')} - {sql.year('anchor')})"
    first = sql.add_years("anchor", years)
    estimate = f"(CASE WHEN {first} >= %(ws)s THEN {first} ELSE {sql.add_years('anchor', f'{years} + 1')} END)"
    lapsed = f"(last_expiry IS NOT NULL AND {sql.year('expiry')} - {sql.year('anchor')} <= {LAPSED_YEARS_MAX})"
    visited = "last_visit >= %(visit_since)s"
    segment = (f"CASE WHEN {lapsed} AND {visited} THEN '{Segment.LAPSED_RETURNED.value}' "
               f"WHEN {lapsed} THEN '{Segment.LAPSED_LOST.value}' ELSE '{Segment.INSURED_ELSEWHERE.value}' END")
    return f"""
WITH cand AS MATERIALIZED (
    SELECT v.id AS vehicle_id, v.store_id, o.customer_id, v.delivery_date,
        (SELECT MAX(p.expiry_date) FROM {t['p']} p WHERE p.vehicle_id = v.id) AS last_expiry,
        (SELECT MAX(r.settled_at) FROM {t['ro']} r WHERE r.vehicle_id = v.id
            AND r.kind <> '{RepairKind.INTERNAL.value}') AS last_visit
    FROM {t['v']} v JOIN {t['o']} o ON o.vehicle_id = v.id AND o.valid_to IS NULL AND o.store_id = v.store_id
    WHERE v.store_id IN ({stores})
), anchored AS (
    SELECT cand.*, {anchor} AS anchor FROM cand
    WHERE (last_expiry IS NULL OR last_expiry < %(ws)s) AND (last_expiry IS NOT NULL OR delivery_date IS NOT NULL)
), estimated AS (
    SELECT anchored.*, {estimate} AS expiry FROM anchored
), segmented AS (
    SELECT estimated.*, {segment} AS segment FROM estimated
    WHERE expiry < %(we)s AND ({lapsed} OR {visited})
)
INSERT INTO {t['case']} (store_id, customer_id, vehicle_id, policy_id, expiry_date, expiry_estimated, segment,
    priority, previous_insurer, previous_premium, state, contacts_made, attempts, outcome, outcome_insurer,
    outcome_policy_number, outcome_reason, outcome_reason_text, created_at, updated_at)
SELECT s.store_id, s.customer_id, s.vehicle_id, NULL, s.expiry, {'TRUE' if sql.pg else '1'}, s.segment,
    {_segment_case('s.segment')}, '', NULL, '{CaseState.OPEN.value}', 0, 0, '', '', '', '', '', %(now)s, %(now)s
FROM segmented s
WHERE NOT EXISTS (SELECT 1 FROM {t['case']} c WHERE c.vehicle_id = s.vehicle_id
                  AND c.expiry_date > {sql.add_days('s.expiry', f'-{SAME_YEAR_DAYS}')}
                  AND c.expiry_date < {sql.add_days('s.expiry', str(SAME_YEAR_DAYS))})
ON CONFLICT DO NOTHING
"""


def _params(**values) -> dict:
    """Query parameters as the database takes them (SQLite keeps dates and UTC instants as text)."""
    ops = connection.ops
    return {
        k: ops.adapt_datetimefield_value(v) if isinstance(v, dt.datetime) else ops.adapt_datefield_value(v)
        for k, v in values.items()
    }


def _ts(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def renewal_cases_generate(
    *, store_id: int | None = None, today: dt.date | None = None, since: dt.date | None = None,
    estimated: bool = True,
) -> int:
    """Make the missing renewal cases of the stores' windows (and back to `since` for a backfill); returns how many.

    Filed policies expiring in `[today − chase days, today + list-opens days]` get a case each; vehicles with no
    policy of ours in force get one from the estimated expiry (the anniversary of the last policy's expiry, or
    of the delivery) when they came for service in the last year or lapsed at most three policy years ago.
    """
    today = today or business_date()
    now = timezone.now()
    sql = _Sql()
    made = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for (ws, we), ids in _windows(_store_ids(store_id), today, since).items():
            params = _params(ws=ws, we=we, now=now,
                             visit_since=business_day_start(today - dt.timedelta(days=VISIT_DAYS)))
            cursor.execute(_policy_cases_sql(sql, ids), params)
            made += max(cursor.rowcount, 0)
            if estimated:
                cursor.execute(_estimated_cases_sql(sql, ids), params)
                made += max(cursor.rowcount, 0)
        if made:
            audit_event_record(actor=None, action=AuditAction.CREATE, object_type=RenewalCase._meta.label_lower,
                               store_id=store_id, detail={"generated": made, "today": str(today)})
    return made


def _cancel_closed_tasks(cursor, store_ids: list[int], now: dt.datetime) -> int:
    stores = ", ".join(str(int(s)) for s in store_ids)
    active = ", ".join(f"'{s}'" for s in ACTIVE_STATUSES)
    cursor.execute(
        f"""UPDATE {FollowupTask._meta.db_table} SET status = %s, status_reason = %s, completed_at = %s,
            updated_at = %s
        WHERE store_id IN ({stores}) AND status IN ({active}) AND id IN (
            SELECT k.task_id FROM {RenewalContact._meta.db_table} k JOIN {RenewalCase._meta.db_table} c
                ON c.id = k.case_id
            WHERE k.task_id IS NOT NULL AND c.state <> %s AND c.store_id IN ({stores}))""",
        [TaskStatus.CANCELLED.value, "renewal_case_closed", _ts(now), _ts(now), CaseState.OPEN.value],
    )
    return max(cursor.rowcount, 0)


def renewal_cases_match_renewals(*, store_id: int | None = None, since: dt.date | None = None) -> int:
    """Close as renewed here every case (whatever its state) whose vehicle has a policy of ours starting within
    90 days of the expiry and ending after it; the specialist's recorded outcome is kept. Returns how many."""
    ids = _store_ids(store_id)
    if not ids:
        return 0
    sql, now = _Sql(), timezone.now()
    case, p = RenewalCase._meta.db_table, InsurancePolicy._meta.db_table
    stores = ", ".join(str(int(s)) for s in ids)
    # one join of cases and policies by vehicle (a hash or merge join whatever the planner knows), each case's
    # earliest matching policy, each policy given to one case
    pairs = f"""SELECT c.id AS case_id, p.id AS policy_id,
            ROW_NUMBER() OVER (PARTITION BY c.id ORDER BY p.start_date, p.id) AS by_case,
            ROW_NUMBER() OVER (PARTITION BY p.id ORDER BY c.expiry_date, c.id) AS by_policy
        FROM {case} c JOIN {p} p ON p.vehicle_id = c.vehicle_id AND p.store_id = c.store_id
        WHERE c.store_id IN ({stores}) AND c.renewed_policy_id IS NULL AND c.expiry_date >= %s
          AND p.start_date > {sql.add_days('c.expiry_date', f'-{RENEWAL_MATCH_DAYS}')}
          AND p.start_date <= {sql.add_days('c.expiry_date', str(RENEWAL_MATCH_DAYS))}
          AND p.expiry_date > c.expiry_date
          AND (c.policy_id IS NULL OR p.id <> c.policy_id)
          AND NOT EXISTS (SELECT 1 FROM {case} c2 WHERE c2.renewed_policy_id = p.id)"""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""WITH pairs AS ({pairs})
            UPDATE {case} SET renewed_policy_id = pairs.policy_id, state = %s,
                closed_at = COALESCE(closed_at, %s), updated_at = %s
            FROM pairs WHERE {case}.id = pairs.case_id AND pairs.by_case = 1 AND pairs.by_policy = 1
            RETURNING {case}.id""",
            [connection.ops.adapt_datefield_value(since or dt.date(1900, 1, 1)),
             CaseState.RENEWED_HERE.value, _ts(now), _ts(now)],
        )
        matched = len(cursor.fetchall())  # SQLite counts no rows of an UPDATE … FROM with a CTE
        if matched:
            _cancel_closed_tasks(cursor, ids, now)
            audit_event_record(actor=None, action=AuditAction.UPDATE, object_type=RenewalCase._meta.label_lower,
                               store_id=store_id, detail={"renewed_by_import": matched})
    return matched


def renewal_cases_lapse(*, store_id: int | None = None, today: dt.date | None = None) -> int:
    """Open cases whose chase ended (expiry + chase days before `today`) become `lapsed`; their calls cancelled."""
    today = today or business_date()
    now = timezone.now()
    lapsed = 0
    ids = _store_ids(store_id)
    with transaction.atomic():
        for sid, s in renewal_settings_map(ids).items():
            lapsed += RenewalCase.objects.filter(
                store_id=sid, state=CaseState.OPEN, expiry_date__lt=today - dt.timedelta(days=s.lapse_chase_days)
            ).update(state=CaseState.LAPSED, closed_at=now, updated_at=now)
        if lapsed:
            with connection.cursor() as cursor:
                _cancel_closed_tasks(cursor, ids, now)
            audit_event_record(actor=None, action=AuditAction.UPDATE, object_type=RenewalCase._meta.label_lower,
                               store_id=store_id, detail={"lapsed": lapsed})
    return lapsed


def renewal_contacts_plan(*, store_id: int | None = None, today: dt.date | None = None) -> int:
    """Give each open case whose next contact is due by `today`, and that has none in progress, that contact and
    its follow-up task (renewal rule; the case's holder keeps it). Customers who refused service calls get no
    calls. Returns how many contacts were planned."""
    today = today or business_date()
    planned = 0
    for sid, s in renewal_settings_map(_store_ids(store_id)).items():
        planned += _plan_store(sid, s, today)
    return planned


def _plan_store(store_id: int, settings: RenewalSettings, today: dt.date) -> int:
    horizon = today + dt.timedelta(days=settings.contact_days[0])
    cases = list(
        RenewalCase.objects.filter(
            store_id=store_id, state=CaseState.OPEN, expiry_date__lte=horizon, customer__consent_service_calls=True
        ).values("pk", "customer_id", "vehicle_id", "expiry_date", "holder_id")
    )
    if not cases:
        return 0
    slots: dict[int, list[dict]] = defaultdict(list)
    for row in RenewalContact.objects.filter(case_id__in=[c["pk"] for c in cases]).values(
        "case_id", "number", "task__status", "task__completed_at"
    ):
        slots[row["case_id"]].append(row)
    new: list[RenewalContact] = []
    holders: dict[int, int] = {}
    for c in cases:
        mine = slots.get(c["pk"], [])
        if len(mine) >= settings.max_contacts or any(r["task__status"] in ACTIVE_STATUSES for r in mine):
            continue
        number = len(mine) + 1
        due = contact_due_on(settings, c["expiry_date"], number)
        closed = [business_date(r["task__completed_at"]) for r in mine if r["task__completed_at"]]
        if closed:
            due = max(due, max(closed) + dt.timedelta(days=CONTACT_GAP_DAYS))
        if due > today:
            continue
        new.append(RenewalContact(store_id=store_id, case_id=c["pk"], number=number, due_on=due))
        if c["holder_id"]:
            holders[c["pk"]] = c["holder_id"]
    if not new:
        return 0
    rule = followup_rule_get(store=Store.objects.get(pk=store_id), trigger=Trigger.RENEWAL_DUE)
    by_case = {c["pk"]: c for c in cases}
    with transaction.atomic():
        made = RenewalContact.objects.bulk_create(new, ignore_conflicts=True)
        contacts = {
            (k.case_id, k.number): k
            for k in RenewalContact.objects.filter(case_id__in=[k.case_id for k in made], task__isnull=True,
                                                   imported=False)  # not the history of a follow-up sheet
        }
        subjects = []
        for k in contacts.values():
            c = by_case[k.case_id]
            subjects.append(TaskSubject(SubjectType.RENEWAL_CONTACT, k.pk, c["customer_id"], c["vehicle_id"],
                                        business_day_start(k.due_on)))
        tasks = followup_task_create(actor=None, rule=rule, subjects=subjects, detail={"renewal_contacts": True})
        task_of = {t.subject_id: t for t in tasks}
        linked = []
        for k in contacts.values():
            task = task_of.get(k.pk)
            if task is not None:
                k.task = task
                linked.append(k)
        RenewalContact.objects.bulk_update(linked, ["task"])
        for case_id, holder in holders.items():
            k = next((k for k in linked if k.case_id == case_id), None)
            if k is not None:
                FollowupTask.objects.filter(pk=k.task_id, status=TaskStatus.OPEN).update(
                    status=TaskStatus.CLAIMED, claimed_by_id=holder, claimed_at=timezone.now()
                )
    return len(linked)


def renewals_daily(*, store_id: int | None = None, today: dt.date | None = None) -> dict[str, int]:
    """The whole daily run: cases, imported renewals, lapses, then the contacts due. Idempotent."""
    today = today or business_date()
    return {
        "cases": renewal_cases_generate(store_id=store_id, today=today),
        "renewed": renewal_cases_match_renewals(store_id=store_id, since=today - dt.timedelta(days=400)),
        "lapsed": renewal_cases_lapse(store_id=store_id, today=today),
        "contacts": renewal_contacts_plan(store_id=store_id, today=today),
    }
