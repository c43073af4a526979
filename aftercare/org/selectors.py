"""Reads for the organisation: stores in scope, staff, and the KPI catalogue's targets (`org/kpis.py`,
`KpiTarget`: anyone with a staff record reads the targets of the stores they may see). Business time and working
days: `org.calendar`."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import Http404

from .calendar import month_add
from .choices import KpiPeriodKind
from .kpis import Measure, Rollup, measure_get, period_bounds
from .models import KpiTarget, Staff, Store
from .scoping import visible_store_ids

# KPI targets: most specific first.
RESOLUTION_ORDER = (KpiPeriodKind.MONTH, KpiPeriodKind.QUARTER, KpiPeriodKind.YEAR)


def store_list(*, user):
    """Stores the user may see."""
    return Store.objects.filter(id__in=visible_store_ids(user)).select_related("region", "group")


def staff_list(*, user):
    """Staff working in the stores the user may see."""
    return Staff.objects.filter(stores__in=visible_store_ids(user)).select_related("user", "department").distinct()


def store_staff_choices(*, store_id: int):
    """Active staff of the store who can own a piece of work (any role: a department head, an advisor, a manager):
    the owners of rectification actions (reports) and of an evaluation's corrective actions (quality)."""
    return (
        get_user_model()
        .objects.filter(is_active=True, staff__stores=store_id)
        .select_related("staff")
        .order_by("staff__display_name", "username")
        .distinct()
    )


def works_in_store(*, user_id, store_id: int) -> bool:
    """Whether `user_id` is an active member of the store's staff (one query)."""
    return Staff.objects.filter(user_id=user_id, stores=store_id, user__is_active=True).exists()


def staff_mobiles(user_ids) -> dict[int, str]:
    """`{user id: mobile}` of the staff among `user_ids` who have one; core's SMS lookup (`OrgConfig.ready`)."""
    return dict(Staff.objects.filter(user_id__in=user_ids).exclude(mobile="").values_list("user_id", "mobile"))


def job_alert_recipients() -> list[tuple[int, list]]:
    """`[(store id, users)]`: active staff whose role may see the jobs page, each under their first store (else the
    first store of their group); who core's schedule tells of a failed or late job (`OrgConfig.ready`)."""
    from .permissions import ROLE_PERMISSIONS, Perm

    roles = [role for role, perms in ROLE_PERMISSIONS.items() if Perm.JOBS_VIEW in perms]
    first_of_group = {}
    for store_id, group_id in Store.objects.order_by("-id").values_list("id", "group_id"):
        first_of_group[group_id] = store_id
    by_store: dict[int, list] = {}
    staff = Staff.objects.filter(role__in=roles, user__is_active=True).select_related("user")
    for member in staff.prefetch_related("stores").order_by("pk"):
        store_ids = sorted(s.pk for s in member.stores.all())
        store_id = store_ids[0] if store_ids else first_of_group.get(member.group_id)
        if store_id is not None:
            by_store.setdefault(store_id, []).append(member.user)
    return sorted(by_store.items())


# ---- KPI targets -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedTarget:
    """The target that applies, and where it came from: `source` is month, quarter, year (a `KpiTarget` of that
    period, starting `period_start`) or default (the measure's default target; `period_start` None)."""

    value: Decimal
    source: str
    period_start: dt.date | None = None
    note: str = ""


def kpi_target_list(
    *, user, store_ids: Iterable[int] | None = None, measure_code: str | None = None, year: int | None = None
) -> QuerySet[KpiTarget]:
    """Targets of the stores in scope (optionally one measure and the periods starting in one year)."""
    visible = visible_store_ids(user)
    ids = visible if store_ids is None else visible & frozenset(store_ids)
    qs = KpiTarget.objects.filter(store_id__in=ids)
    if measure_code is not None:
        qs = qs.filter(measure_code=measure_code)
    if year is not None:
        qs = qs.filter(period_start__year=year)
    return qs.order_by("store_id", "measure_code", "period_start", "period_kind")


def kpi_target_of_period(measure: Measure, mine: dict, kind: str, start: dt.date) -> ResolvedTarget | None:
    """One store's target of `measure` for the period (`kind`, `start`) from its targets `mine`
    ({(period kind, period start): KpiTarget or its value}). A rate: the period's own, else the larger periods'
    (month → quarter → year), else the measure's default. A count or amount adds up (`rollup` sum): a month without
    one takes a third of its quarter's (a twelfth of its year's), a quarter or year without one the sum of its
    parts'; no default."""
    own = mine.get((kind, start))
    if own is not None:
        return ResolvedTarget(getattr(own, "value", own), kind, start, getattr(own, "note", ""))
    year = dt.date(start.year, 1, 1)
    quarter = period_bounds(KpiPeriodKind.QUARTER, start)[0]
    if measure.rollup == Rollup.SUM:
        if kind == KpiPeriodKind.MONTH:
            for fallback, fallback_start, parts in ((KpiPeriodKind.QUARTER, quarter, 3),
                                                    (KpiPeriodKind.YEAR, year, 12)):
                row = mine.get((fallback, fallback_start))
                if row is not None:
                    value = (Decimal(getattr(row, "value", row)) / parts).quantize(Decimal("0.01"))
                    return ResolvedTarget(value, fallback, fallback_start)
            return None
        if kind == KpiPeriodKind.QUARTER:
            found = [kpi_target_of_period(measure, mine, KpiPeriodKind.MONTH, month_add(start, i)) for i in range(3)]
        else:
            found = [kpi_target_of_period(measure, mine, KpiPeriodKind.QUARTER, month_add(start, 3 * i))
                     for i in range(4)]
        if any(t is None for t in found):
            return None
        return ResolvedTarget(sum(t.value for t in found), found[0].source, start)
    chain = {KpiPeriodKind.MONTH: [(KpiPeriodKind.QUARTER, quarter), (KpiPeriodKind.YEAR, year)],
             KpiPeriodKind.QUARTER: [(KpiPeriodKind.YEAR, year)]}
    for fallback, fallback_start in chain.get(kind, []):
        row = mine.get((fallback, fallback_start))
        if row is not None:
            return ResolvedTarget(getattr(row, "value", row), fallback, fallback_start, getattr(row, "note", ""))
    if measure.default_target is not None:
        return ResolvedTarget(measure.default_target, "default")
    return None


def kpi_targets_combined(measure: Measure, targets: list[tuple[ResolvedTarget | None, int | None]]):
    """Several stores' targets as one: summed (`rollup` sum), weighted by each store's denominator (ratio); none
    when a store has none, or for a measure that does not add up."""
    if not targets or measure.rollup == Rollup.NONE or any(t is None for t, _den in targets):
        return None
    if len(targets) == 1:
        return targets[0][0]
    if measure.rollup == Rollup.SUM:
        value = sum(t.value for t, _den in targets)
    else:
        total = sum(den or 0 for _t, den in targets)
        value = (sum(t.value * (den or 0) for t, den in targets) / total if total
                 else sum(t.value for t, _den in targets) / len(targets))
    sources = {t.source for t, _den in targets}
    source = "default" if sources == {"default"} else next(s for s in sorted(sources) if s != "default")
    return ResolvedTarget(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), source)


def kpi_target_for(*, user, store_id: int, measure: str, day: dt.date) -> ResolvedTarget | None:
    """The target of `store_id` for `measure` in the month containing `day`: the month's target, else the
    quarter's, else the year's, else the measure's default (None: no target at all). One query.

    A store outside the user's scope, or an unknown measure, is a 404."""
    found = measure_get(measure)
    if found is None or store_id not in visible_store_ids(user):
        raise Http404
    return kpi_targets_resolved(user=user, store_ids=[store_id], measures=[found], months=[day])[
        (store_id, found.code, day.replace(day=1))
    ]


def kpi_targets_resolved(
    *, user, store_ids: Iterable[int], measures: Iterable[Measure], months: Iterable[dt.date]
) -> dict[tuple[int, str, dt.date], ResolvedTarget | None]:
    """{(store id, measure code, month): resolved target} for every store in scope × measure × month, in one
    query whatever their number (stores outside the scope are left out)."""
    ids = visible_store_ids(user) & frozenset(store_ids)
    measures = list(measures)
    months = sorted({m.replace(day=1) for m in months})
    out: dict = {}
    if not ids or not measures or not months:
        return out
    starts: set[tuple[str, dt.date]] = set()
    for month in months:
        starts |= {(kind, period_bounds(kind, month)[0]) for kind in RESOLUTION_ORDER}
    cond = Q()
    for kind in RESOLUTION_ORDER:
        cond |= Q(period_kind=kind, period_start__in=sorted(s for k, s in starts if k == kind))
    rows: dict = {}
    for row in KpiTarget.objects.filter(store_id__in=ids, measure_code__in=[m.code for m in measures]).filter(cond):
        rows.setdefault((row.store_id, row.measure_code), {})[(row.period_kind, row.period_start)] = row
    for store_id in ids:
        for measure in measures:
            mine = rows.get((store_id, measure.code), {})
            for month in months:
                out[(store_id, measure.code, month)] = kpi_target_of_period(measure, mine, KpiPeriodKind.MONTH, month)
    return out


@dataclass(frozen=True)
class Judgement:
    """An actual figure beside its target: `state` is met, missed, running (the period is not over: not missed
    yet), or none (no figure or no target)."""

    target: ResolvedTarget | None
    gap: Decimal | None
    state: str
    running: bool = False

    @property
    def gap_display(self) -> str:
        """The gap with its sign, to 0.1 ("+2.5", "-45.0"); empty without one."""
        return "" if self.gap is None else f"{self.gap.quantize(Decimal('0.1')):+}"


def kpi_judge(measure: Measure, value, target: ResolvedTarget | None, *, running: bool) -> Judgement:
    """Compare an actual `value` with its resolved target in the measure's direction."""
    if target is None or value is None:
        return Judgement(target, None, "none", running)
    gap = measure.gap(value, target.value)
    if measure.met(value, target.value):
        return Judgement(target, gap, "met", running)
    return Judgement(target, gap, "running" if running else "missed", running)


def month_is_running(month: dt.date, today: dt.date) -> bool:
    """Whether the month of `month` has not ended by `today` (running, or still ahead)."""
    return today < period_bounds(KpiPeriodKind.MONTH, month)[1]
