"""The managers' "store at a glance" card of the start page: the key KPIs of the catalogue (`org/kpis.py`) for the
month so far against their target (`selectors.kpi_targets_resolved`; the running month is marked running, never
missed), and today's figure of those measured per day. The overdue work and the unassigned tasks are the apps' own
manager cards (the stores' calls, forms, renewal cases, actions).

An app names its key measures once, in `ready()`, with the page that lists the rows behind the figure:

    register_glance(GlanceKpi(code="followups.return_visit_rate", url_name="followups:manage", order=10))

Org knows no measure: it computes each one through the catalogue (`Measure.compute`) over the stores given. That
costs 50–70 ms on the demo (most of the managers' start page), so the rows are kept `CACHE_SECONDS` in Django's
cache per language, set of stores and business day: the figures of the glance may be up to five minutes old (a new
target too); the work cards below it are always counted afresh.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.urls import reverse
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from .calendar import business_date
from .choices import Role
from .kpis import Level, Period, Unit, measure_get, period_bounds, rate
from .selectors import kpi_judge, kpi_targets_resolved, month_is_running
from .start import CardData, CardRow, StartCard, register_card

MANAGERS = (Role.CS_MANAGER, Role.STORE_MANAGER, Role.GROUP_ADMIN)
CACHE_SECONDS = 300


@dataclass(frozen=True)
class GlanceKpi:
    """A measure shown at a glance: `url_name` lists the rows behind its figure; `today` also shows today's."""

    code: str
    url_name: str
    order: int = 100
    today: bool = False


_glance: dict[str, GlanceKpi] = {}


def register_glance(kpi: GlanceKpi) -> None:
    _glance[kpi.code] = kpi


def unregister_glance(code: str) -> None:
    _glance.pop(code, None)


def _figure(measure, *, user, store_ids, start: dt.date, end: dt.date):
    """The measure over the stores together: rates from the summed numerators and denominators, counts summed."""
    values = measure.compute(user=user, store_ids=store_ids, period_start=start, period_end=end)
    if measure.unit == Unit.COUNT:
        return sum(v.value or 0 for v in values)
    with_den = [v for v in values if v.denominator is not None]
    if with_den:
        return rate(sum(v.numerator or 0 for v in with_den), sum(v.denominator for v in with_den))
    known = [v.value for v in values if v.value is not None]
    return known[0] if len(known) == 1 else None


def _display(measure, value) -> str:
    if value is None:
        return "—"
    return f"{value}%" if measure.unit == Unit.PERCENT else str(value)


def _target(measure, targets: dict, store_ids, month):
    """One store's resolved target; several stores: their common target, else the measure's default."""
    found = {targets.get((sid, measure.code, month)) for sid in store_ids}
    if len(found) == 1:
        return found.pop()
    return next((t for t in found if t is not None and t.source == "default"), None)


def kpi_glance(*, user, store_ids, now) -> CardData:
    """The glance of `store_ids` (already scoped to `user` by the page: the figures depend on the stores alone),
    from the cache when computed in the last `CACHE_SECONDS` for the same stores and day."""
    key = f"org.glance:{get_language()}:{business_date(now)}:{','.join(map(str, sorted(store_ids)))}"
    rows = cache.get(key)
    if rows is None:
        rows = _glance_rows(user=user, store_ids=store_ids, now=now)
        cache.set(key, rows, CACHE_SECONDS)
    return CardData(rows=rows)


def _glance_rows(*, user, store_ids, now) -> tuple[CardRow, ...]:
    today = business_date(now)
    month, month_end = period_bounds(Period.MONTH, today)
    chosen = [(k, measure_get(k.code)) for k in sorted(_glance.values(), key=lambda k: (k.order, k.code))]
    chosen = [(k, m) for k, m in chosen if m is not None and m.compute is not None]
    if not store_ids or not chosen:
        return ()
    targets = kpi_targets_resolved(
        user=user, store_ids=store_ids, measures=[m for _k, m in chosen if Level.STORE in m.levels], months=[month]
    )
    running = month_is_running(month, today)
    rows = []
    for kpi, measure in chosen:
        url = reverse(kpi.url_name)
        if kpi.today and Period.DAY in measure.periods:
            value = _figure(measure, user=user, store_ids=store_ids, start=today, end=today + dt.timedelta(days=1))
            rows.append(CardRow(gettext("%(name)s, today") % {"name": measure.name}, 0, url,
                                display=_display(measure, value)))
        value = _figure(measure, user=user, store_ids=store_ids, start=month, end=month_end)
        target = _target(measure, targets, store_ids, month) if Level.STORE in measure.levels else None
        judge = kpi_judge(measure, value, target, running=running)
        severity = "danger" if judge.state == "missed" else ""
        rows.append(CardRow(gettext("%(name)s, this month") % {"name": measure.name}, 0, url, severity,
                            display=_display(measure, value), judge=judge))
    return tuple(rows)


def register() -> None:
    register_card(StartCard(key="org.kpi_glance", title=_("The store at a glance"), order=2, roles=MANAGERS,
                            data=kpi_glance))
