"""The batch-defect alarm job and the alarm workflow (docs/quality.md).

**The job** (`quality_alarm_run`, daily; `manage.py quality_alarm_run`, the task `quality_alarm_run_daily`): for
each dealer group, every part family × build month is one series, pooled across the group's stores, over the
complete months from the build month to last month:

* x[t]: the submitted parts-quality reports of the family among the vehicles of that build month whose failure
  date falls in month t;
* μ0[t] = N_b · r_f(t − b): the vehicles of the build month (from the vehicle file: the month of the delivery date,
  or of the first sales delivery, is the build month) times the family's baseline failure rate at that many months
  in service. The baseline is the pooled rate by months in service (failures at age a over vehicle-months at risk at
  age a) of the family's *other* build months (leave one out: a defective build month does not raise its own
  baseline), shrunk towards the family's overall rate by ten pseudo-failures (ages with few vehicles at risk), never
  below `RATE_FLOOR`. statsmodels is not a dependency, so the Poisson GLM of the docs is this pooled rate (it is
  that GLM's estimate with one factor level per age and no other covariate).

The history starts at the month of the group's first submitted report (`history_start`): a vehicle file older than
the reports has vehicle-months nobody reported on, which are not at risk; a series begins at its build month or
there, whichever is later.

`alarm.monitor` runs on each series without the head start (docs/quality.md: with 168 young series at once its
early false alarms add up); h is chosen per series for the group's
false-alarm budget: an in-control run length of at least `n_series × 12 / FALSE_ALARMS_PER_YEAR` months (and at
least 150), at the series' median expected count. An alarm month opens an alarm, or joins the series' open one
(one open alarm per series, a partial unique constraint); rerun, nothing is added twice (the unique episode key), and
a job killed midway leaves whole alarms (each written in its own transaction).

The vehicle file does not say which supplier batch a vehicle carries, so batch series have no vehicles at risk:
every series is family × build month (`supplier_batch` empty); the alarm lists the batches among its failures.
"""

import datetime as dt
import functools
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Min, OuterRef
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils.translation import gettext, override
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.exports import xlsx_bytes
from aftercare.core.services import audit_event_record, notification_send
from aftercare.customers.models import SalesDelivery, Vehicle
from aftercare.org.calendar import business_date, business_tz, month_add, month_start
from aftercare.org.models import DealerGroup, Store
from aftercare.org.permissions import Perm, require_perm

from .. import alarm as stat
from ..choices import OPEN_ALARM_STATUSES, AlarmStatus, ReportStatus
from ..models import PartFamily, QualityAlarm, QualityAlarmEvent, QualityReport
from ..selectors import quality_alarm_recipients

FALSE_ALARMS_PER_YEAR = 2.0  # the group's budget of false alarms a year over all its series
RATE_FLOOR = 1e-5  # failures per vehicle-month: a family without history still expects some
PSEUDO_FAILURES = 10.0  # shrinkage of the rate at one age towards the family's overall rate
HEAD_START = 0.0  # no head start in the job: docs/quality.md, "The alarm job"

# the workflow: from → the steps allowed
STEPS = {
    AlarmStatus.NEW: (AlarmStatus.ACKNOWLEDGED, AlarmStatus.INVESTIGATING, AlarmStatus.DISMISSED),
    AlarmStatus.ACKNOWLEDGED: (AlarmStatus.INVESTIGATING, AlarmStatus.DISMISSED),
    AlarmStatus.INVESTIGATING: (AlarmStatus.CONFIRMED, AlarmStatus.DISMISSED),
    AlarmStatus.CONFIRMED: (),
    AlarmStatus.DISMISSED: (),
}


def _index(month: dt.date) -> int:
    return month.year * 12 + month.month - 1


def _month(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


@functools.lru_cache(maxsize=512)
def _h_for(mu_key: float, target: float) -> float:
    # the run length of the tests the job runs: the tail test at the job's α (`tail_alpha`), not at alarm.ALPHA,
    # whose false jumps alone (P(X >= c) up to 0.001 a month) make a target above 1,000 months unreachable
    return stat.h_for_arl(mu_key, target, alpha=tail_alpha(target), head_start=HEAD_START)


def series_threshold(mu0: np.ndarray, target: float) -> float:
    """h for one series: `h_for_arl` at its median positive expected count, rounded to 1/8 of a decade (cached)."""
    positive = mu0[mu0 > 0]
    typical = float(np.median(positive)) if len(positive) else RATE_FLOOR
    key = round(10 ** (round(math.log10(max(typical, 1e-4)) * 8) / 8), 6)
    return _h_for(key, round(target))


def arl_target(n_series: int) -> float:
    """The in-control run length each series needs for the group's budget of false alarms a year."""
    return max(stat.ARL0_TARGET, n_series * 12 / FALSE_ALARMS_PER_YEAR)


def tail_alpha(target: float) -> float:
    """The tail test's level, cut as the run length asked for grows (α = 0.001 at 150 months)."""
    return stat.ALPHA * stat.ARL0_TARGET / target


@dataclass
class Series:
    family_id: int
    build_month: dt.date
    months: list[dt.date]
    observed: np.ndarray
    expected: np.ndarray
    vehicles: int
    store_ids: list[int] = field(default_factory=list)
    batches: dict[str, int] = field(default_factory=dict)


def vehicles_by_build_month(store_ids) -> Counter:
    """Vehicles of the stores by build month: the month of the vehicle file's delivery date, else of the vehicle's
    first sales delivery in the stores (one aggregate each, grouped by month in the database)."""
    counts: Counter = Counter()
    rows = (
        Vehicle.objects.filter(store_id__in=store_ids, delivery_date__isnull=False)
        .annotate(m=TruncMonth("delivery_date"))
        .values("m")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        counts[month_start(row["m"])] += row["n"]
    # a vehicle's first delivery: none of its deliveries in the stores is earlier (ties in one month count once)
    earlier = SalesDelivery.objects.filter(
        store_id__in=store_ids, vehicle_id=OuterRef("vehicle_id"), delivered_at__lt=OuterRef("delivered_at")
    )
    firsts = (
        SalesDelivery.objects.filter(store_id__in=store_ids, vehicle__delivery_date__isnull=True)
        .filter(~Exists(earlier))
        .annotate(m=TruncMonth("delivered_at", tzinfo=business_tz()))
        .values("m")
        .annotate(n=Count("vehicle_id", distinct=True))
    )
    for row in firsts:
        counts[month_start(row["m"])] += row["n"]
    return counts


def failures(store_ids, last: dt.date):
    """Submitted reports of the stores up to the end of month `last`: {(family, build month): {month: n}}, the
    stores and batches of each (three small aggregates: one over every column would return a row per store ×
    batch × month, most of the job's read time at 10 M repair orders)."""
    reports = QualityReport.objects.filter(
        store_id__in=store_ids, status=ReportStatus.SUBMITTED, failure_date__lt=month_add(last, 1)
    ).order_by()
    counts: dict = defaultdict(Counter)
    stores: dict = defaultdict(set)
    batches: dict = defaultdict(Counter)
    by_month = reports.annotate(m=TruncMonth("failure_date")).values("part_family_id", "build_month", "m")
    for row in by_month.annotate(n=Count("pk")):
        counts[(row["part_family_id"], month_start(row["build_month"]))][month_start(row["m"])] += row["n"]
    for row in reports.values("part_family_id", "build_month", "store_id").distinct():
        stores[(row["part_family_id"], month_start(row["build_month"]))].add(row["store_id"])
    by_batch = reports.exclude(supplier_batch="").values("part_family_id", "build_month", "supplier_batch")
    for row in by_batch.annotate(n=Count("pk")):
        batches[(row["part_family_id"], month_start(row["build_month"]))][row["supplier_batch"]] += row["n"]
    return counts, stores, batches


def history_start(store_ids) -> dt.date | None:
    """The month of the stores' first submitted failure: the reports start there (one aggregate)."""
    first = QualityReport.objects.filter(store_id__in=store_ids, status=ReportStatus.SUBMITTED).aggregate(
        first=Min("failure_date")
    )["first"]
    return month_start(first) if first else None


def build_series(*, store_ids, last: dt.date, family_ids) -> list[Series]:
    """Every family × build month series of the stores, with its expected counts (module docstring)."""
    vehicles = vehicles_by_build_month(store_ids)
    counts, stores, batches = failures(store_ids, last)
    return series_from_counts(
        vehicles, counts, last=last, family_ids=family_ids, stores=stores, batches=batches,
        start=history_start(store_ids),
    )


def series_from_counts(vehicles, counts, *, last: dt.date, family_ids, stores=None, batches=None,
                       start: dt.date | None = None) -> list[Series]:
    """The series from the vehicles by build month and the failures {(family, build month): {month: n}} (pure: the
    simulations of the tests and the docs call it without a database).

    `start`: the first month of the failure history (the job: the month of the group's first report). A vehicle file
    older than the reports has vehicle-months before it that nobody reported on: they are not at risk, and a series
    begins at its build month or at `start`, whichever is later. None: every build month from its start."""
    stores = stores or {}
    batches = batches or {}
    build_months = sorted(b for b in vehicles if b <= last)
    if not build_months:
        return []
    last_i = _index(last)
    start_i = _index(start) if start is not None else _index(build_months[0])
    if start_i > last_i:
        return []
    max_age = last_i - _index(build_months[0])
    first_age = {b: max(0, start_i - _index(b)) for b in build_months}  # the first age of b in the history
    # vehicle-months at risk by age over all build months, within the history
    exposure = np.zeros(max_age + 1)
    for b in build_months:
        exposure[first_age[b] : last_i - _index(b) + 1] += vehicles[b]
    out = []
    for family_id in family_ids:
        fails = np.zeros(max_age + 1)
        per_build = {}
        for b in build_months:
            x = np.zeros(last_i - _index(b) + 1)
            for m, n in counts.get((family_id, b), {}).items():
                age = _index(m) - _index(b)
                if 0 <= age < len(x):
                    x[age] += n
            per_build[b] = x
            fails[: len(x)] += x
        for b in build_months:
            x = per_build[b]
            ages, a0 = len(x), first_age[b]
            own = np.zeros(ages)
            own[a0:] = vehicles[b]  # the build month's own vehicle-months at risk, left out
            f_other = fails[:ages] - x
            e_other = exposure[:ages] - own
            total_e = float(exposure.sum() - own.sum())
            overall = max(float(fails.sum() - x.sum()) / total_e if total_e > 0 else 0.0, RATE_FLOOR)
            pseudo = PSEUDO_FAILURES / overall
            rate = np.maximum((f_other + PSEUDO_FAILURES) / (np.maximum(e_other, 0) + pseudo), RATE_FLOOR)
            out.append(
                Series(
                    family_id=family_id,
                    build_month=b,
                    months=[_month(_index(b) + a) for a in range(a0, ages)],
                    observed=x[a0:],
                    expected=vehicles[b] * rate[a0:],
                    vehicles=vehicles[b],
                    store_ids=sorted(stores.get((family_id, b), ())),
                    batches=dict(batches.get((family_id, b), {})),
                )
            )
    return out


def _series_json(series: Series, s_values) -> list[dict]:
    return [
        {"month": m.strftime("%Y-%m"), "observed": int(o), "expected": round(float(e), 3), "s": round(float(s), 3)}
        for m, o, e, s in zip(series.months, series.observed, series.expected, s_values, strict=True)
    ]


def _notify(alarm: QualityAlarm, family: PartFamily, recipients: list) -> None:
    store_id = (alarm.store_ids or [None])[0] or Store.objects.filter(group_id=alarm.group_id).values_list(
        "pk", flat=True
    ).order_by("pk").first()
    if not recipients or store_id is None:
        return
    with override("zh-hans"):
        title = gettext("Batch-defect alarm: %(family)s, build month %(month)s") % {
            "family": family.name_zh,
            "month": alarm.build_month.strftime("%Y-%m"),
        }
        body = gettext(
            "Failures observed up to %(month)s: %(observed)s; expected: %(expected)s; vehicles of the build month: "
            "%(vehicles)s."
        ) % {
            "observed": alarm.observed,
            "expected": f"{alarm.expected:.1f}",
            "month": alarm.first_alarm_month.strftime("%Y-%m"),
            "vehicles": alarm.vehicle_count,
        }
    notification_send(
        store_id=store_id,
        recipients=recipients,
        title=title,
        body=body,
        link=reverse("quality:alarm_detail", args=[alarm.pk]),
    )


def _alarm_target(existing: list[QualityAlarm], month: dt.date) -> QualityAlarm | None:
    """The alarm of the series an alarm month belongs to: the open one, else the one whose months cover it."""
    open_alarm = next((a for a in existing if a.status in OPEN_ALARM_STATUSES), None)
    return open_alarm or next((a for a in existing if a.first_alarm_month <= month <= a.last_alarm_month), None)


def _alarm_changes(target: QualityAlarm, month: dt.date, json_series: list[dict]) -> list[str]:
    """The fields an alarm month changes on its alarm: a later last month, a new series (none once it is closed)."""
    if target.status not in OPEN_ALARM_STATUSES:
        return []
    changed = ["last_alarm_month"] if month > target.last_alarm_month else []
    if target.series != json_series:
        changed += ["series", "store_ids", "batches"]
    return changed


def _needs_write(existing: list[QualityAlarm], month: dt.date, json_series: list[dict]) -> bool:
    """Whether the alarm month would open an alarm or change one, judged on the series' alarms `existing`."""
    target = _alarm_target(existing, month)
    return target is None or bool(_alarm_changes(target, month, json_series))


def _record(group_id: int, series: Series, result: dict, h: float, family: PartFamily,
            known: list[QualityAlarm] | None, recipients) -> tuple[int, int]:
    """Write the series' alarm months: (alarms created, alarms updated). `known`: the series' alarms as read at the
    start of the run (unlocked); an alarm month they show nothing to write for is passed over without a query (a
    rerun), the others are written under the series' lock as before. `recipients`: a function giving who is told
    of a new alarm (read once a group, and only when an alarm is opened)."""
    created = updated = 0
    s_values = result["S"]
    json_series = _series_json(series, s_values)
    key = {
        "group_id": group_id,
        "part_family_id": series.family_id,
        "build_month": series.build_month,
        "supplier_batch": "",
    }
    # an open alarm takes every later alarm month of the series (`_alarm_target`): written once, up to the last
    final = series.months[result["alarms"][-1][0]]
    for t, reason in result["alarms"]:
        month = series.months[t]
        if known is not None and not _needs_write(known, month, json_series):
            continue
        known = None  # written from here on: the series' alarms are read under the lock
        with transaction.atomic():
            existing = list(QualityAlarm.objects.select_for_update().filter(**key).order_by("first_alarm_month"))
            target = _alarm_target(existing, month)
            if target is not None:
                changed = _alarm_changes(target, final, json_series)
                if "last_alarm_month" in changed:
                    target.last_alarm_month = final
                if "series" in changed:
                    target.series, target.store_ids, target.batches = json_series, series.store_ids, series.batches
                if changed:
                    target.save(update_fields=[*changed, "updated_at"])
                    updated += 1
                if target.status in OPEN_ALARM_STATUSES:
                    break
                continue
            upto = t + 1
            alarm = QualityAlarm(
                **key,
                first_alarm_month=month,
                last_alarm_month=final,
                observed=int(series.observed[:upto].sum()),
                expected=round(float(series.expected[:upto].sum()), 3),
                statistic=round(float(s_values[t]), 3),
                threshold=h,
                p_value=float(result["p"][t]),
                test=reason,
                store_ids=series.store_ids,
                batches=series.batches,
                vehicle_count=series.vehicles,
                series=json_series,
            )
            # the fields are checked here; the keys and constraints (unique per month, one open alarm a series,
            # the status and month checks) are the database's: their Python checks cost four queries an alarm
            alarm.full_clean(exclude=["group", "part_family"], validate_unique=False, validate_constraints=False)
            try:
                with transaction.atomic():
                    alarm.save()
            except IntegrityError:
                if QualityAlarm.objects.filter(**key, first_alarm_month=month).exists():
                    continue  # another run wrote it meanwhile
                raise
            QualityAlarmEvent.objects.create(alarm=alarm, actor=None, from_status="", to_status=AlarmStatus.NEW)
            audit_event_record(
                actor=None,
                action=AuditAction.CREATE,
                obj=alarm,
                detail={
                    "family": family.code,
                    "build_month": series.build_month.isoformat(),
                    "first_alarm_month": month.isoformat(),
                    "test": reason,
                },
            )
            _notify(alarm, family, recipients())
            created += 1
            break
    return created, updated


def quality_alarm_run(*, today: dt.date | None = None, group_ids=None) -> dict:
    """Run the alarm over every series of every group (or of `group_ids`); returns counts. Idempotent."""
    today = today or business_date()
    last = month_add(month_start(today), -1)  # the last complete month
    families = {f.pk: f for f in PartFamily.objects.filter(active=True)}
    groups = DealerGroup.objects.all() if group_ids is None else DealerGroup.objects.filter(pk__in=group_ids)
    totals = Counter()
    for group in groups.order_by("pk"):
        store_ids = list(Store.objects.filter(group=group).values_list("pk", flat=True))
        if not store_ids:
            continue
        all_series = build_series(store_ids=store_ids, last=last, family_ids=list(families))
        known = defaultdict(list)  # the group's alarms, one query: a rerun writes nothing and reads no more
        for a in QualityAlarm.objects.filter(group=group, supplier_batch="").order_by("first_alarm_month"):
            known[(a.part_family_id, a.build_month)].append(a)
        recipients = functools.cache(functools.partial(quality_alarm_recipients, group_id=group.pk))
        target = arl_target(len(all_series))
        alpha = tail_alpha(target)
        for series in all_series:
            h = series_threshold(series.expected, target)
            result = stat.monitor(series.observed, series.expected, h, alpha=alpha, head_start=HEAD_START)
            totals["series"] += 1
            if result["alarms"]:
                created, updated = _record(group.pk, series, result, h, families[series.family_id],
                                           known[(series.family_id, series.build_month)], recipients)
                totals["created"] += created
                totals["updated"] += updated
    return dict(totals)


# ---- the workflow ----------------------------------------------------------------------------------------------


def quality_alarm_step(*, actor, alarm: QualityAlarm, to_status: str, note: str = "") -> QualityAlarm:
    """Move an alarm one step (`STEPS`): acknowledged, under investigation, confirmed, or dismissed with a reason."""
    require_perm(actor, Perm.QUALITY_MANAGE)
    note = (note or "").strip()
    with transaction.atomic():
        alarm = QualityAlarm.objects.select_for_update().get(pk=alarm.pk)
        if to_status not in STEPS.get(alarm.status, ()):
            raise ValidationError({"to_status": [_("This step is not possible from the alarm's present status.")]})
        if to_status == AlarmStatus.DISMISSED and not note:
            raise ValidationError({"note": [_("Give the reason for dismissing the alarm.")]})
        from_status = alarm.status
        alarm.status = to_status
        if note and to_status in (AlarmStatus.DISMISSED, AlarmStatus.CONFIRMED):
            alarm.reason = note
        alarm.full_clean()
        alarm.save(update_fields=["status", "reason", "updated_at"])
        QualityAlarmEvent.objects.create(
            alarm=alarm, actor=actor, from_status=from_status, to_status=to_status, note=note
        )
        audit_event_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=alarm,
            changed_fields=["status"],
            detail={"from": from_status, "to": to_status},
        )
    return alarm


def quality_alarm_vehicles(alarm: QualityAlarm):
    """The vehicles of the alarm's build month in the group (the campaign / recall candidates), with their reports of
    the family: (vehicle, [reports]) by store and VIN. Only VIN, model, store and dates: no owner."""
    store_ids = list(Store.objects.filter(group_id=alarm.group_id).values_list("pk", flat=True))
    end = month_add(alarm.build_month, 1)
    first_delivery = SalesDelivery.objects.filter(vehicle__delivery_date__isnull=True).values("vehicle_id")
    vehicles = list(
        Vehicle.objects.filter(store_id__in=store_ids, delivery_date__gte=alarm.build_month, delivery_date__lt=end)
        .select_related("store")
        .order_by("store__code", "vin")
    )
    known = {v.pk for v in vehicles}
    extra = (
        SalesDelivery.objects.filter(store_id__in=store_ids, vehicle_id__in=first_delivery)
        .values("vehicle_id")
        .annotate(first=Min("delivered_at"))
    )
    extra_ids = [r["vehicle_id"] for r in extra if month_start(business_date(r["first"])) == alarm.build_month]
    vehicles += [v for v in Vehicle.objects.filter(pk__in=extra_ids).select_related("store") if v.pk not in known]
    reports = defaultdict(list)
    for r in QualityReport.objects.filter(
        store_id__in=store_ids,
        part_family_id=alarm.part_family_id,
        build_month=alarm.build_month,
        status=ReportStatus.SUBMITTED,
    ).select_related("symptom"):
        reports[r.vehicle_id].append(r)
    return [(v, reports.get(v.pk, [])) for v in vehicles]


def quality_alarm_vins_export(*, actor, alarm: QualityAlarm) -> tuple[bytes, int]:
    """The affected VINs as XLSX (core.exports), audited; for an alarm under investigation or confirmed."""
    require_perm(actor, Perm.QUALITY_MANAGE)
    if alarm.status not in (AlarmStatus.INVESTIGATING, AlarmStatus.CONFIRMED):
        raise ValidationError(_("Export the VINs once the alarm is under investigation or confirmed."))
    header = [
        gettext("VIN"),
        gettext("Model"),
        gettext("Store"),
        gettext("Delivery date"),
        gettext("Build month"),
        gettext("Failures reported"),
        gettext("First failure date"),
        gettext("Supplier batches"),
    ]
    rows = []
    for vehicle, reports in quality_alarm_vehicles(alarm):
        dates = sorted(r.failure_date for r in reports if r.failure_date)
        rows.append(
            [
                vehicle.vin,
                vehicle.model,
                vehicle.store.code,
                vehicle.delivery_date,
                alarm.build_month.strftime("%Y-%m"),
                len(reports),
                dates[0] if dates else None,
                ", ".join(sorted({r.supplier_batch for r in reports if r.supplier_batch})),
            ]
        )
    content, n = xlsx_bytes(gettext("Affected vehicles"), header, rows)
    audit_event_record(actor=actor, action=AuditAction.EXPORT, obj=alarm, detail={"rows": n})
    return content, n
