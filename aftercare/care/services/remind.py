"""Care reminders (issue 18, "Reminders"; docs/care.md): the stores' reminder rules, each vehicle's mileage rate
and projected due dates, the daily generation of reminders (a call task of the follow-up rule CARE, or an SMS) and
the measure of whether they worked.

Generation (`care_reminders_generate`) makes each store's reminders set-based on PostgreSQL: one `INSERT … SELECT
… ON CONFLICT DO NOTHING` (`_INSERT_SQL`), mileage rates and km dates included (the model medians, once a run per
dealer group, passed in). Elsewhere (SQLite) `reminders_plan` reads the store's
vehicles, owners and repair orders in a constant number of queries and computes the due dates in Python (calendar
months, so 31 January + 1 month is the 28th / 29th of February), written in one `bulk_create(ignore_conflicts=True)`.
A reminder is unique per vehicle, kind and due date (per customer, kind and due date for birthdays), so a rerun, or a
run after a killed one, makes nothing twice; reminders left without their task or their SMS by a killed run get
them on the next run.
"""

import calendar
import datetime as dt
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.choices import RepairKind
from aftercare.customers.models import Customer, Ownership, RepairOrder
from aftercare.followups.choices import (
    LetterChannel,
    LetterKind,
    LetterStatus,
    MessagePurpose,
    SubjectType,
    Trigger,
)
from aftercare.followups.models import LetterLog
from aftercare.followups.services.generation import TaskSubject, followup_task_create
from aftercare.followups.services.outbound import letter_deliver
from aftercare.followups.services.rules import followup_rule_get
from aftercare.org.calendar import add_months, business_date, business_day_start
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..choices import ReminderAction, ReminderKind, ReminderState
from ..models import Reminder, ReminderRule

# ---- rates --------------------------------------------------------------------------------------------------------

DEFAULT_KM_PER_DAY = 40.0  # no reading and no model rate: about 14,600 km a year (docs/care.md)
RATE_YEARS = 2  # readings of the last two years
RATE_MIN_SPAN_DAYS = 60  # at least two readings this far apart
# a reminder whose due date passed at most this long ago is still made (a job down for a few days)
CATCH_UP_DAYS = 7
# repair orders that are a maintenance visit (the anchor of periodic maintenance)
MAINTENANCE_KINDS = (RepairKind.MAINTENANCE, RepairKind.FIRST_FREE_MAINTENANCE)


class RateSource:
    OWN = "own"
    MODEL = "model"
    DEFAULT = "default"


@dataclass(frozen=True)
class Rate:
    km_per_day: float
    source: str  # RateSource
    last_on: dt.date | None = None  # the latest reading
    last_km: int | None = None


def slope(points: list[tuple[dt.date, int]]) -> float | None:
    """Least-squares km per day over `(date, km)` readings; None with fewer than two, readings less than 60 days
    apart, or a slope that is not positive (a wrong reading)."""
    if len(points) < 2:
        return None
    xs = [p[0].toordinal() for p in points]
    if max(xs) - min(xs) < RATE_MIN_SPAN_DAYS:
        return None
    ys = [p[1] for p in points]
    # exact integer sums, one float division: bit for bit what the set-based generation computes in PostgreSQL
    n, sx, sy = len(xs), sum(xs), sum(ys)
    sxx, sxy = sum(x * x for x in xs), sum(x * y for x, y in zip(xs, ys, strict=True))
    rate = float(n * sxy - sx * sy) / float(n * sxx - sx * sx)
    return rate if rate > 0 else None


def _readings(vehicle_ids, today: dt.date) -> dict[int, list[tuple[dt.date, int]]]:
    since = business_day_start(today - dt.timedelta(days=365 * RATE_YEARS))
    out: dict[int, list[tuple[dt.date, int]]] = defaultdict(list)
    qs = RepairOrder.objects.filter(settled_at__gte=since, settled_at__lt=business_day_start(today + dt.timedelta(1)),
                                    mileage__isnull=False, vehicle_id__in=list(vehicle_ids))
    for vid, at, km in qs.values_list("vehicle_id", "settled_at", "mileage").iterator(chunk_size=5000):
        out[vid].append((business_date(at), km))
    return out


def mileage_rates(*, vehicles: dict[int, str], today: dt.date, group_vehicles=None,
                  model_cache: dict | None = None) -> dict[int, Rate]:
    """Each vehicle's km per day: its own (least-squares slope of its repair orders' mileage over the last two
    years), else the median own rate of the vehicles of its model (`group_vehicles`: vehicle id → model of the
    dealer group, or a function of the models wanted giving that; default `vehicles`), else 40 km a day.
    `vehicles`: vehicle id → model. The medians are computed only for the models of vehicles lacking their own
    rate; `model_cache` (model → median or None) keeps them for a run over several stores of one group."""
    readings = _readings(set(vehicles), today)
    own = {vid: slope(sorted(pts)) for vid, pts in readings.items()}
    lacking = {m for vid, m in vehicles.items() if m and not own.get(vid)}
    model_rate: dict[str, float | None] = {}
    if model_cache is not None:
        model_rate = {m: model_cache[m] for m in lacking if m in model_cache}
    wanted = lacking - set(model_rate)
    if wanted:
        if group_vehicles is None:
            group = {vid: m for vid, m in vehicles.items() if m in wanted}
        elif callable(group_vehicles):
            group = group_vehicles(wanted)
        else:
            group = {vid: m for vid, m in group_vehicles.items() if m in wanted}
        extra = _readings(set(group) - set(readings), today)
        group_own = {**own, **{vid: slope(sorted(pts)) for vid, pts in extra.items()}}
        by_model: dict[str, list[float]] = defaultdict(list)
        for vid, model in group.items():
            if model and group_own.get(vid):
                by_model[model].append(group_own[vid])
        for m in wanted:
            model_rate[m] = statistics.median(by_model[m]) if by_model.get(m) else None
            if model_cache is not None:
                model_cache[m] = model_rate[m]
    out = {}
    for vid, model in vehicles.items():
        last = max(readings.get(vid, []), default=None)
        last_on, last_km = (last if last else (None, None))
        if own.get(vid):
            out[vid] = Rate(own[vid], RateSource.OWN, last_on, last_km)
        elif model_rate.get(model) is not None:
            out[vid] = Rate(model_rate[model], RateSource.MODEL, last_on, last_km)
        else:
            out[vid] = Rate(DEFAULT_KM_PER_DAY, RateSource.DEFAULT, last_on, last_km)
    return out


# ---- due dates ----------------------------------------------------------------------------------------------------


def km_due_on(*, anchor_on: dt.date, anchor_km: int, target_km: int, rate: Rate) -> dt.date:
    """The day the odometer reaches `target_km` at `rate`, projected from the latest reading at or after the
    anchor (the anchor itself when there is none)."""
    base_on, base_km = anchor_on, anchor_km
    if rate.last_on is not None and rate.last_km is not None and rate.last_on >= anchor_on:
        base_on, base_km = rate.last_on, rate.last_km
    if base_km >= target_km:
        return base_on
    return base_on + dt.timedelta(days=math.ceil((target_km - base_km) / rate.km_per_day))


@dataclass(frozen=True)
class VehicleFacts:
    vehicle_id: int
    model: str
    delivery_date: dt.date | None
    warranty_end: dt.date | None
    interval_km: int | None
    interval_months: int | None
    last_maintenance_on: dt.date | None = None
    last_maintenance_km: int | None = None


def vehicle_dues(facts: VehicleFacts, rules: dict[str, ReminderRule], rate: Rate, today: dt.date
                 ) -> dict[str, dt.date]:
    """The projected due dates of a vehicle (by kind; periodic maintenance also by time and by km): first
    maintenance while it has had none, the next maintenance after the last one, the warranty end, and the next
    inspection (the delivery's anniversary on or after `today`)."""
    out: dict[str, dt.date] = {}
    first = rules.get(ReminderKind.FIRST_MAINTENANCE)
    if facts.delivery_date and facts.last_maintenance_on is None and first is not None:
        dues = []
        if first.months:
            dues.append(add_months(facts.delivery_date, first.months))
        if first.km:
            dues.append(km_due_on(anchor_on=facts.delivery_date, anchor_km=0, target_km=first.km, rate=rate))
        if dues:
            out[ReminderKind.FIRST_MAINTENANCE] = min(dues)
    periodic = rules.get(ReminderKind.MAINTENANCE)
    if facts.last_maintenance_on is not None and periodic is not None:
        months = facts.interval_months or periodic.months
        km = facts.interval_km or periodic.km
        if months:
            out["maintenance_by_time"] = add_months(facts.last_maintenance_on, months)
        if km and facts.last_maintenance_km is not None:
            out["maintenance_by_km"] = km_due_on(anchor_on=facts.last_maintenance_on,
                                                 anchor_km=facts.last_maintenance_km,
                                                 target_km=facts.last_maintenance_km + km, rate=rate)
        elif km:  # mileage at the visit unknown: the interval at the vehicle's rate
            out["maintenance_by_km"] = facts.last_maintenance_on + dt.timedelta(
                days=math.ceil(km / rate.km_per_day))
        by = [out[k] for k in ("maintenance_by_time", "maintenance_by_km") if k in out]
        if by:
            out[ReminderKind.MAINTENANCE] = min(by)
    if facts.warranty_end:
        out[ReminderKind.WARRANTY_END] = facts.warranty_end
    if facts.delivery_date:
        years = max(1, today.year - facts.delivery_date.year)
        due = add_months(facts.delivery_date, 12 * years)
        if due < today - dt.timedelta(days=CATCH_UP_DAYS):
            due = add_months(facts.delivery_date, 12 * (years + 1))
        out[ReminderKind.INSPECTION] = due
    return out


def birthday_on(birthday: dt.date, year: int) -> dt.date:
    """The birthday in `year` (29 February: the 28th in a common year)."""
    return dt.date(year, birthday.month, min(birthday.day, calendar.monthrange(year, birthday.month)[1]))


# ---- rules --------------------------------------------------------------------------------------------------------

DEFAULT_RULES = {
    ReminderKind.FIRST_MAINTENANCE: {"lead_days": 14, "came_days": 30, "months": 3, "km": 5000},
    ReminderKind.MAINTENANCE: {"lead_days": 14, "came_days": 30, "months": 6, "km": 10000},
    ReminderKind.WARRANTY_END: {"lead_days": 30, "came_days": 30},
    ReminderKind.INSPECTION: {"lead_days": 30, "came_days": 30, "action": ReminderAction.SMS},
    ReminderKind.BIRTHDAY: {"lead_days": 1, "came_days": 30, "action": ReminderAction.SMS},
}


def reminder_rules_ensure(store_ids) -> None:
    """Give each store the default rule of every kind it lacks (idempotent; a racing run adds none)."""
    store_ids = list(store_ids)
    have = set(ReminderRule.objects.filter(store_id__in=store_ids).values_list("store_id", "kind"))
    new = [ReminderRule(store_id=sid, kind=kind, **spec) for sid in store_ids for kind, spec in DEFAULT_RULES.items()
           if (sid, kind) not in have]
    if new:
        ReminderRule.objects.bulk_create(new, ignore_conflicts=True)


def reminder_rules_map(store_ids) -> dict[int, dict[str, ReminderRule]]:
    """store id → kind → rule, the defaults seeded first."""
    reminder_rules_ensure(store_ids)
    out: dict[int, dict[str, ReminderRule]] = defaultdict(dict)
    for rule in ReminderRule.objects.filter(store_id__in=list(store_ids)):
        out[rule.store_id][rule.kind] = rule
    return out


def reminder_rules_read(store_id: int) -> dict[str, ReminderRule]:
    """kind → the store's rule, the default (unsaved) for a kind it has none of yet: a pure read (the customer-360
    panel); rules are seeded when a store is created (`store_created`) and by the daily run."""
    saved = {r.kind: r for r in ReminderRule.objects.filter(store_id=store_id)}
    return {kind: saved.get(kind) or ReminderRule(store_id=store_id, kind=kind, **spec)
            for kind, spec in DEFAULT_RULES.items()}


RULE_FIELDS = {"is_active", "lead_days", "action", "came_days", "months", "km"}


def reminder_rule_update(*, actor, rule: ReminderRule, **fields) -> ReminderRule:
    """Edit a reminder rule of the actor's own store (`care.manage`). Reminders already made keep theirs."""
    require_perm(actor, Perm.CARE_MANAGE)
    if rule.store_id not in own_store_ids(actor):
        raise PermissionDenied
    if set(fields) - RULE_FIELDS:
        raise TypeError(f"unknown rule fields: {sorted(set(fields) - RULE_FIELDS)}")
    with transaction.atomic():
        for key, value in fields.items():
            setattr(rule, key, value)
        rule.full_clean()
        rule.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=rule, changed_fields=fields)
    return rule


# ---- generation ---------------------------------------------------------------------------------------------------


def _store_facts(store_id: int, customer_id: int | None = None) -> tuple[dict[int, int], dict[int, VehicleFacts]]:
    """The store's vehicles with a current owner of the store (or of the customer): vehicle → customer, and their
    facts."""
    owners: dict[int, int] = {}
    facts: dict[int, VehicleFacts] = {}
    rows = Ownership.objects.filter(store_id=store_id, valid_to__isnull=True, vehicle__store_id=store_id)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    rows = rows.values_list(
        "vehicle_id", "customer_id", "vehicle__model", "vehicle__delivery_date", "vehicle__warranty_end",
        "vehicle__maintenance_interval_km", "vehicle__maintenance_interval_months")
    for vid, cid, model, delivery, warranty, ikm, imonths in rows.iterator(chunk_size=5000):
        owners[vid] = cid
        facts[vid] = VehicleFacts(vid, model, delivery, warranty, ikm, imonths)
    last: dict[int, tuple] = {}
    visits = RepairOrder.objects.filter(store_id=store_id, kind__in=MAINTENANCE_KINDS)
    if customer_id is not None:
        visits = visits.filter(vehicle_id__in=list(facts))
    visits = visits.values_list("vehicle_id", "settled_at", "pk", "mileage")
    for vid, at, pk, km in visits.iterator(chunk_size=5000):  # the latest; of equal times the first made
        if vid in facts and (vid not in last or (at, -pk) > last[vid][:2]):
            last[vid] = (at, -pk, km)
    for vid, (at, _pk, km) in last.items():
        f = facts[vid]
        facts[vid] = VehicleFacts(f.vehicle_id, f.model, f.delivery_date, f.warranty_end, f.interval_km,
                                  f.interval_months, business_date(at), km)
    return owners, facts


def _group_models(store_id: int, today: dt.date):
    """A function of a set of models giving vehicle id → model of the vehicles of the store's dealer group of those
    models that may have their own rate (readings at least 59 days apart in the last two years: a superset of those
    `slope` gives a rate), for `mileage_rates`."""
    from django.db.models import Count, DurationField, ExpressionWrapper, Max, Min

    from aftercare.customers.models import Vehicle

    def read(models: set[str]) -> dict[int, str]:
        group_id = Store.objects.filter(pk=store_id).values_list("group_id", flat=True).first()
        since = business_day_start(today - dt.timedelta(days=365 * RATE_YEARS))
        spans = (RepairOrder.objects.filter(settled_at__gte=since, mileage__isnull=False,
                                            settled_at__lt=business_day_start(today + dt.timedelta(1)),
                                            vehicle__store__group_id=group_id, vehicle__model__in=models)
                 .values("vehicle_id")
                 .annotate(n=Count("pk"), span=ExpressionWrapper(Max("settled_at") - Min("settled_at"),
                                                                   output_field=DurationField()))
                 .filter(n__gte=2, span__gte=dt.timedelta(days=RATE_MIN_SPAN_DAYS - 1))
                 .values("vehicle_id"))
        qs = Vehicle.objects.filter(store__group_id=group_id, model__in=models, pk__in=spans)
        return dict(qs.values_list("id", "model"))

    return read


def vehicle_projections(*, user, customer, today: dt.date | None = None) -> list[dict] | None:
    """The customer-360 panel: per current vehicle, its mileage rate (and where it comes from) and the projected
    due dates by the store's rules (first maintenance, next maintenance by km and by time, warranty end, next
    inspection). The customer was opened through its scoped page; None for a user without `care.work` /
    `care.manage`."""
    from aftercare.org.permissions import has_perm

    if not (has_perm(user, Perm.CARE_WORK) or has_perm(user, Perm.CARE_MANAGE)):
        return None
    today = today or business_date()
    owners, facts = _store_facts(customer.store_id, customer_id=customer.pk)
    if not facts:
        return []
    rules = reminder_rules_read(customer.store_id)
    models = {vid: f.model for vid, f in facts.items()}
    rates = mileage_rates(vehicles=models, today=today, group_vehicles=_group_models(customer.store_id, today))
    from aftercare.customers.models import Vehicle

    plates = dict(Vehicle.objects.filter(pk__in=list(facts)).values_list("pk", "plate"))
    out = []
    for vid in sorted(facts):
        dues = vehicle_dues(facts[vid], rules, rates[vid], today)
        out.append({"vehicle_id": vid, "plate": plates.get(vid, ""), "model": facts[vid].model, "rate": rates[vid],
                    "first_maintenance": dues.get(ReminderKind.FIRST_MAINTENANCE),
                    "maintenance_by_km": dues.get("maintenance_by_km"),
                    "maintenance_by_time": dues.get("maintenance_by_time"),
                    "warranty_end": dues.get(ReminderKind.WARRANTY_END),
                    "inspection": dues.get(ReminderKind.INSPECTION)})
    return out


def _due_window(rule: ReminderRule, due: dt.date, today: dt.date) -> bool:
    return due - dt.timedelta(days=rule.lead_days) <= today <= due + dt.timedelta(days=CATCH_UP_DAYS)


def _state(rule: ReminderRule, consent: bool) -> str:
    if not consent:
        return ReminderState.NO_CONSENT
    return ReminderState.CALL if rule.action == ReminderAction.CALL else ReminderState.SMS_PENDING


def _active_rules(store_id: int) -> dict[str, ReminderRule]:
    return {r.kind: r for r in ReminderRule.objects.filter(store_id=store_id, is_active=True)}


def _vehicle_reminders(store_id: int, today: dt.date, rules: dict[str, ReminderRule], *,
                       model_cache: dict | None = None) -> list[Reminder]:
    """The vehicle reminders of the store due to be made on `today`, computed in Python."""
    owners, facts = _store_facts(store_id)
    if not facts:
        return []
    models = {vid: f.model for vid, f in facts.items()}
    rates = mileage_rates(vehicles=models, today=today, group_vehicles=_group_models(store_id, today),
                          model_cache=model_cache)
    consent = dict(Customer.objects.filter(store_id=store_id).values_list("pk", "consent_service_calls"))
    out = []
    for vid, f in facts.items():
        for kind, due in vehicle_dues(f, rules, rates[vid], today).items():
            rule = rules.get(kind)
            if rule is None or not _due_window(rule, due, today):
                continue
            out.append(_reminder(store_id, owners[vid], vid, rule, due, today, consent.get(owners[vid], False)))
    return out


def reminders_plan(*, store_id: int, today: dt.date, model_cache: dict | None = None) -> list[Reminder]:
    """The reminders of the store due to be made on `today` (not saved), computed in Python (the portable way;
    `_reminders_insert` is PostgreSQL's): vehicle kinds for the current owners, birthdays for the store's
    customers."""
    rules = _active_rules(store_id)
    if not rules:
        return []
    out = _vehicle_reminders(store_id, today, rules, model_cache=model_cache)
    birthday = rules.get(ReminderKind.BIRTHDAY)
    if birthday is not None:
        # customers of the store with a vehicle or not: every customer file has one owner store
        for cid, born, consent in Customer.objects.filter(store_id=store_id, birthday__isnull=False).values_list(
                "pk", "birthday", "consent_service_calls").iterator(chunk_size=5000):
            for year in (today.year, today.year + 1):
                due = birthday_on(born, year)
                if _due_window(birthday, due, today):
                    out.append(_reminder(store_id, cid, None, birthday, due, today, consent))
    return out


# The store's reminders computed and inserted in the server (PostgreSQL), by the same rules as `vehicle_dues` and
# `mileage_rates`: PostgreSQL's `date + n months` keeps month ends like `add_months`, `birthday + n years` makes 29
# February the 28th like `birthday_on`; a rate is the same float division of exact integer sums as `slope` and a km
# date the same `ceil` of a float division as `km_due_on`, so the dates are the same to the day. The model medians
# come in as parameters (`_model_medians`, computed as `statistics.median` of the group's own rates).
_RATE_SQL = """
    SELECT ro.vehicle_id, COUNT(*) AS n, SUM(x) AS sx, SUM(ro.mileage::bigint) AS sy, SUM(x * x) AS sxx,
        SUM(x * ro.mileage::bigint) AS sxy, MAX(x) - MIN(x) AS span,
        (ARRAY_AGG(x ORDER BY x DESC, ro.mileage DESC))[1] AS last_x,
        (ARRAY_AGG(ro.mileage ORDER BY x DESC, ro.mileage DESC))[1] AS last_km
    FROM customers_repairorder ro
    CROSS JOIN LATERAL (SELECT ((ro.settled_at AT TIME ZONE %(tz)s)::date - DATE '0001-01-01' + 1)::bigint AS x) d
    WHERE ro.settled_at >= %(since)s AND ro.settled_at < %(until)s AND ro.mileage IS NOT NULL
"""
_SLOPE_SQL = """CASE WHEN rd.n >= 2 AND rd.span >= %(min_span)s
    AND (rd.n * rd.sxy - rd.sx * rd.sy)::float8 / (rd.n * rd.sxx - rd.sx * rd.sx)::float8 > 0
    THEN (rd.n * rd.sxy - rd.sx * rd.sy)::float8 / (rd.n * rd.sxx - rd.sx * rd.sx)::float8 END"""

_MEDIAN_SQL = f"""
WITH rd AS ({_RATE_SQL}
      AND ro.vehicle_id IN (SELECT v.id FROM customers_vehicle v JOIN org_store s ON s.id = v.store_id
                            WHERE s.group_id = %(group)s AND v.model = ANY(%(models)s))
    GROUP BY ro.vehicle_id
)
SELECT v.model, {_SLOPE_SQL} AS rate
FROM rd JOIN customers_vehicle v ON v.id = rd.vehicle_id
"""

_INSERT_SQL = f"""
WITH r AS (
    SELECT kind, lead_days, came_days, action, NULLIF(months, 0) AS months, NULLIF(km, 0) AS km
    FROM care_reminderrule WHERE store_id = %(store)s AND is_active
), o AS (
    SELECT o.vehicle_id, o.customer_id, v.model, v.delivery_date, v.warranty_end,
        NULLIF(v.maintenance_interval_months, 0) AS own_months, NULLIF(v.maintenance_interval_km, 0) AS own_km,
        COALESCE(c.store_id = %(store)s AND c.consent_service_calls, false) AS consent,
        (lm.settled_at AT TIME ZONE %(tz)s)::date AS last_m, lm.mileage AS last_m_km
    FROM customers_ownership o
    JOIN customers_vehicle v ON v.id = o.vehicle_id AND v.store_id = %(store)s
    LEFT JOIN customers_customer c ON c.id = o.customer_id
    LEFT JOIN LATERAL (SELECT ro.settled_at, ro.mileage FROM customers_repairorder ro
        WHERE ro.vehicle_id = o.vehicle_id AND ro.store_id = %(store)s AND ro.kind = ANY(%(kinds)s)
        ORDER BY ro.settled_at DESC, ro.id LIMIT 1) lm ON true
    WHERE o.store_id = %(store)s AND o.valid_to IS NULL
), rd AS ({_RATE_SQL}
      AND %(km)s AND ro.vehicle_id IN (
        SELECT o.vehicle_id FROM o JOIN r ON r.kind = CASE WHEN o.last_m IS NULL THEN 'first_maintenance'
            ELSE 'maintenance' END
        WHERE COALESCE(CASE WHEN o.last_m IS NOT NULL THEN o.own_km END, r.km) IS NOT NULL)
    GROUP BY ro.vehicle_id
), m AS (
    SELECT * FROM UNNEST(%(models)s::text[], %(medians)s::float8[]) AS m(model, rate)
), v AS (
    SELECT o.*, COALESCE({_SLOPE_SQL}, m.rate, %(default_rate)s::float8) AS rate,
        DATE '0001-01-01' + (rd.last_x - 1)::int AS last_on, rd.last_km
    FROM o LEFT JOIN rd ON rd.vehicle_id = o.vehicle_id LEFT JOIN m ON m.model = o.model AND o.model <> ''
), d AS (
    SELECT v.vehicle_id, v.customer_id, v.consent, r.kind, r.lead_days, r.came_days, r.action,
        LEAST((v.delivery_date + make_interval(months => r.months))::date,
              CASE WHEN r.km IS NOT NULL THEN {{km_due_first}} END) AS due
    FROM v JOIN r ON r.kind = 'first_maintenance'
    WHERE v.last_m IS NULL AND v.delivery_date IS NOT NULL
    UNION ALL
    SELECT v.vehicle_id, v.customer_id, v.consent, r.kind, r.lead_days, r.came_days, r.action,
        LEAST((v.last_m + make_interval(months => COALESCE(v.own_months, r.months)))::date,
              CASE WHEN COALESCE(v.own_km, r.km) IS NULL THEN NULL
                   WHEN v.last_m_km IS NULL THEN v.last_m + ceil(COALESCE(v.own_km, r.km)::float8 / v.rate)::int
                   ELSE {{km_due_next}} END)
    FROM v JOIN r ON r.kind = 'maintenance'
    WHERE v.last_m IS NOT NULL
    UNION ALL
    SELECT v.vehicle_id, v.customer_id, v.consent, r.kind, r.lead_days, r.came_days, r.action, v.warranty_end
    FROM v JOIN r ON r.kind = 'warranty_end' WHERE v.warranty_end IS NOT NULL
    UNION ALL
    SELECT v.vehicle_id, v.customer_id, v.consent, r.kind, r.lead_days, r.came_days, r.action,
        CASE WHEN y.due < %(today)s::date - %(catch_up)s
            THEN (v.delivery_date + make_interval(years => y.years + 1))::date ELSE y.due END
    FROM v JOIN r ON r.kind = 'inspection'
    CROSS JOIN LATERAL (SELECT (v.delivery_date + make_interval(years => y.years))::date AS due, y.years
        FROM (SELECT GREATEST(1, %(year)s - EXTRACT(YEAR FROM v.delivery_date)::int) AS years) y) y
    WHERE v.delivery_date IS NOT NULL
    UNION ALL
    SELECT NULL, c.id, c.consent_service_calls, r.kind, r.lead_days, r.came_days, r.action,
        (c.birthday + make_interval(years => y.year - EXTRACT(YEAR FROM c.birthday)::int))::date
    FROM customers_customer c JOIN r ON r.kind = 'birthday'
    CROSS JOIN (VALUES (%(year)s), (%(year)s + 1)) y(year)
    WHERE c.store_id = %(store)s AND c.birthday IS NOT NULL
)
INSERT INTO care_reminder (store_id, customer_id, vehicle_id, kind, due_on, made_on, action, state, came_until,
    task_id, letter_id, created_at, updated_at)
SELECT %(store)s, customer_id, vehicle_id, kind, due, %(today)s, action,
    CASE WHEN NOT consent THEN 'no_consent' WHEN action = 'call' THEN 'call' ELSE 'sms_pending' END,
    due + came_days, NULL, NULL, now(), now()
FROM d
WHERE due - lead_days <= %(today)s::date AND %(today)s::date <= due + %(catch_up)s
ON CONFLICT DO NOTHING
"""


def _km_due_sql(anchor_on: str, anchor_km: str, target_km: str) -> str:
    """`km_due_on` in SQL: from the latest reading when it is on or after the anchor, else from the anchor."""
    base_on = f"(CASE WHEN v.last_on >= {anchor_on} THEN v.last_on ELSE {anchor_on} END)"
    base_km = f"(CASE WHEN v.last_on >= {anchor_on} THEN v.last_km ELSE {anchor_km} END)"
    return (f"(CASE WHEN {base_km} >= {target_km} THEN {base_on} "
            f"ELSE {base_on} + ceil(({target_km} - {base_km})::float8 / v.rate)::int END)")


_INSERT_SQL = _INSERT_SQL.replace("{km_due_first}", _km_due_sql("v.delivery_date", "0", "r.km")).replace(
    "{km_due_next}", _km_due_sql("v.last_m", "v.last_m_km", "(v.last_m_km + COALESCE(v.own_km, r.km))"))


def _model_medians(store_id: int, today: dt.date, cache: dict | None) -> dict[str, float | None]:
    """model → the median own rate of the dealer group's vehicles of that model (None: none has one), for the
    models of the store's vehicles; from `cache` (a run's, per group) when there."""
    from django.db import connection

    from aftercare.customers.models import Vehicle

    cache = {} if cache is None else cache
    models = set(Vehicle.objects.filter(store_id=store_id).exclude(model="").values_list("model", flat=True)
                 .distinct()) - set(cache)
    if models:
        group_id = Store.objects.filter(pk=store_id).values_list("group_id", flat=True).first()
        with connection.cursor() as cur:
            cur.execute(_MEDIAN_SQL, _rate_params(today) | {"group": group_id, "models": sorted(models)})
            by_model: dict[str, list[float]] = defaultdict(list)
            for model, rate in cur.fetchall():
                if rate is not None:
                    by_model[model].append(rate)
        for model in models:
            cache[model] = statistics.median(by_model[model]) if by_model.get(model) else None
    return cache


def _rate_params(today: dt.date) -> dict:
    from aftercare.org.calendar import business_tz

    return {"tz": str(business_tz()), "since": business_day_start(today - dt.timedelta(days=365 * RATE_YEARS)),
            "until": business_day_start(today + dt.timedelta(1)), "min_span": RATE_MIN_SPAN_DAYS}


def _reminders_insert(store_id: int, today: dt.date, model_cache: dict | None = None) -> int:
    """PostgreSQL: the store's reminders due to be made on `today`, in one statement (`_INSERT_SQL`). Returns how
    many are new. Inside the caller's transaction."""
    from django.db import connection

    from aftercare.customers.models import Vehicle

    medians = {}
    active = ReminderRule.objects.filter(store_id=store_id, is_active=True)
    km = active.filter(kind__in=[ReminderKind.FIRST_MAINTENANCE, ReminderKind.MAINTENANCE], km__gt=0).exists() or (
        active.filter(kind=ReminderKind.MAINTENANCE).exists()
        and Vehicle.objects.filter(store_id=store_id, maintenance_interval_km__gt=0).exists())
    if km:  # some due date depends on a mileage rate
        medians = {m: r for m, r in _model_medians(store_id, today, model_cache).items() if r is not None}
    params = _rate_params(today) | {
        "store": store_id, "today": today, "year": today.year, "catch_up": CATCH_UP_DAYS,
        "kinds": list(MAINTENANCE_KINDS), "models": list(medians), "medians": list(medians.values()),
        "default_rate": DEFAULT_KM_PER_DAY, "km": km}
    with connection.cursor() as cur:
        cur.execute(_INSERT_SQL, params)
        return cur.rowcount


def _reminder(store_id, customer_id, vehicle_id, rule, due, today, consent) -> Reminder:
    return Reminder(store_id=store_id, customer_id=customer_id, vehicle_id=vehicle_id, kind=rule.kind, due_on=due,
                    made_on=today, action=rule.action, state=_state(rule, consent),
                    came_until=due + dt.timedelta(days=rule.came_days))


def _calls_make(store_id: int) -> int:
    """A call task (follow-up rule CARE) for each call reminder of the store that has none yet."""
    pending = list(Reminder.objects.filter(store_id=store_id, state=ReminderState.CALL, task__isnull=True)
                   .values_list("pk", "customer_id", "vehicle_id", "made_on"))
    if not pending:
        return 0
    rule = followup_rule_get(store=Store.objects.get(pk=store_id), trigger=Trigger.CARE_REMINDER_DUE)
    if rule is None:
        return 0
    subjects = [TaskSubject(SubjectType.CARE_REMINDER, pk, cid, vid, business_day_start(made))
                for pk, cid, vid, made in pending]
    with transaction.atomic():
        followup_task_create(actor=None, rule=rule, subjects=subjects, detail={"care_reminders": True})
        # the tasks of these reminders, made now or by a killed run before it could link them
        from aftercare.followups.models import FollowupTask

        task_of = dict(FollowupTask.objects.filter(rule=rule, subject_type=SubjectType.CARE_REMINDER,
                                                   subject_id__in=[p[0] for p in pending])
                       .values_list("subject_id", "pk"))
        linked = [Reminder(pk=pk, task_id=task_of[pk]) for pk, *_rest in pending if pk in task_of]
        Reminder.objects.bulk_update(linked, ["task"], batch_size=2000)
    return len(linked)


SMS_TEXTS = {
    ReminderKind.FIRST_MAINTENANCE: gettext_noop(
        "Your vehicle {plate} is due for its first maintenance around {due}. Reply or call us to book."),
    ReminderKind.MAINTENANCE: gettext_noop(
        "Your vehicle {plate} is due for maintenance around {due}. Reply or call us to book."),
    ReminderKind.WARRANTY_END: gettext_noop(
        "The warranty of your vehicle {plate} ends on {due}: a check-up before then is covered."),
    ReminderKind.INSPECTION: gettext_noop("The annual inspection of your vehicle {plate} is due around {due}."),
    ReminderKind.BIRTHDAY: gettext_noop("Happy birthday from all of us at {store}!"),
}


def _sms_text(kind: str, plate: str, due: dt.date, store: str) -> str:
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):  # the customer reads the site's language
        return gettext(SMS_TEXTS[kind]).format(plate=plate or "", due=due.isoformat(), store=store)


def _sms_make_and_send(store_id: int) -> int:
    """A letter (SMS, a service message) for each SMS reminder of the store without one, then send the pending ones
    through the one sending path (`letter_deliver`: service consent checked again when sent)."""
    rows = list(Reminder.objects.filter(store_id=store_id, state=ReminderState.SMS_PENDING, letter__isnull=True)
                .values_list("pk", "customer_id", "kind", "due_on", "vehicle__plate"))
    store_name = Store.objects.filter(pk=store_id).values_list("name", flat=True).first() or ""
    with transaction.atomic():
        letters = LetterLog.objects.bulk_create([
            LetterLog(store_id=store_id, customer_id=cid, kind=LetterKind.NOTICE, channel=LetterChannel.SMS,
                      purpose=MessagePurpose.SERVICE, status=LetterStatus.PENDING,
                      text=_sms_text(kind, plate, due, store_name))
            for _pk, cid, kind, due, plate in rows
        ])
        Reminder.objects.bulk_update([Reminder(pk=r[0], letter_id=letter.pk) for r, letter in
                                      zip(rows, letters, strict=True)], ["letter"], batch_size=2000)
    sent = 0
    for pk, letter_id in Reminder.objects.filter(store_id=store_id, state=ReminderState.SMS_PENDING,
                                                 letter__status=LetterStatus.PENDING).values_list("pk", "letter_id"):
        if letter_deliver(letter_id=letter_id):
            Reminder.objects.filter(pk=pk).update(state=ReminderState.SMS_SENT, updated_at=timezone.now())
            sent += 1
    return sent


FAST_PATH = True  # PostgreSQL's set-based generation (tests turn it off to compare it with the Python plan)


def reminders_make(*, store_id: int, today: dt.date, model_cache: dict | None = None) -> int:
    """Write the store's reminders due to be made on `today` (those already there are left alone); returns how many
    are new. On PostgreSQL set-based in the server (`_reminders_insert`), elsewhere planned in Python."""
    from django.db import connection

    with transaction.atomic():
        if connection.vendor == "postgresql" and FAST_PATH:
            n = _reminders_insert(store_id, today, model_cache)
        else:
            planned = reminders_plan(store_id=store_id, today=today, model_cache=model_cache)
            before = Reminder.objects.filter(store_id=store_id, made_on=today).count()
            Reminder.objects.bulk_create(planned, ignore_conflicts=True, batch_size=2000)
            n = Reminder.objects.filter(store_id=store_id, made_on=today).count() - before
        if n:
            audit_event_record(actor=None, action=AuditAction.CREATE, object_type=Reminder._meta.label_lower,
                               store_id=store_id, detail={"made": n, "today": str(today)})
    return n


def reminders_generate(*, store_id: int | None = None, today: dt.date | None = None) -> dict[str, int]:
    """The daily run for every store (or one): make the reminders due, their call tasks and SMS. Idempotent."""
    today = today or business_date()
    stores = Store.objects.all() if store_id is None else Store.objects.filter(pk=store_id)
    totals = {"reminders": 0, "calls": 0, "sms": 0}
    store_ids = list(stores.values_list("pk", flat=True))
    reminder_rules_ensure(store_ids)  # stores made before their rules were seeded at creation
    caches: dict[int, dict] = defaultdict(dict)  # dealer group → model → median rate, once a run
    group_of = dict(Store.objects.filter(pk__in=store_ids).values_list("pk", "group_id"))
    for sid in store_ids:
        totals["reminders"] += reminders_make(store_id=sid, today=today, model_cache=caches[group_of[sid]])
        totals["calls"] += _calls_make(sid)
        totals["sms"] += _sms_make_and_send(sid)
    return totals
