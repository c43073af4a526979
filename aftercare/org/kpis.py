"""The KPI catalogue: every measure registered once, by the app that owns it, in its `AppConfig.ready()`.

Org owns the catalogue because targets are per store (`org.models.KpiTarget`, set with
`org.services.kpi_target_set`, resolved by `org.selectors.kpi_target_for`); org imports no app above it, so the
apps register their measures here:

    from aftercare.org.kpis import Direction, Measure, Unit, register
    register(Measure(code="followups.return_visit_rate", app="followups", name=_("Return-visit rate"), …,
                     compute=return_visit_rate_values))

A measure's `compute(user, store_ids, period_start, period_end)` returns its `KpiValue` rows (one per store, or per
member of staff for a staff grain) over the half-open Shanghai days `[period_start, period_end)`, scoped to `user`.
A measure's optional `drill(store_id, start, end)` answers the `Drill`: the URLs of the app's lists that show
exactly the rows its numerator and denominator count for that store and period (the measures pages link each
figure to them). Definitions in full: docs/kpis.md (a test keeps the codes there and here equal).
"""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

_CODE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


class Unit(models.TextChoices):
    PERCENT = "percent", "%"
    COUNT = "count", _("count")
    MINUTES = "minutes", _("minutes")
    HOURS = "hours", _("hours")
    SCORE = "score", _("score (0–1000)")
    YUAN_10K = "yuan_10k", _("¥10,000 (万元)")  # amounts, e.g. premiums: a store's quarter fits the target bounds


# The values a target of each unit may take (inclusive); KpiTarget's CHECK holds the widest.
UNIT_BOUNDS: dict[str, tuple[Decimal, Decimal]] = {
    Unit.PERCENT: (Decimal(0), Decimal(100)),
    Unit.COUNT: (Decimal(0), Decimal(1_000_000)),
    Unit.MINUTES: (Decimal(0), Decimal(1_000_000)),
    Unit.HOURS: (Decimal(0), Decimal(1_000_000)),
    Unit.SCORE: (Decimal(0), Decimal(1000)),
    Unit.YUAN_10K: (Decimal(0), Decimal(1_000_000)),
}
KPI_TARGET_MIN, KPI_TARGET_MAX = Decimal(0), Decimal(1_000_000)


class Direction(models.TextChoices):
    HIGHER = "higher", _("higher is better")
    LOWER = "lower", _("lower is better")


class Level(models.TextChoices):
    """Whose figure: a store, a region (大区), the dealer group, or one member of staff."""

    STORE = "store", _("store")
    REGION = "region", _("region")
    GROUP = "group", _("dealer group")
    STAFF = "staff", _("staff member")


class Rollup(models.TextChoices):
    """How a store measure adds up over several stores (a region, the group)."""

    RATIO = "ratio", _("numerators and denominators summed")
    SUM = "sum", _("values summed")
    NONE = "none", _("per store only (a median or percentile does not add up)")


class Period(models.TextChoices):
    DAY = "day", _("day")
    MONTH = "month", _("month")
    QUARTER = "quarter", _("quarter")
    YEAR = "year", _("year")


@dataclass(frozen=True)
class KpiValue:
    """One computed figure. `numerator` / `denominator` are None for a plain count (then `value` is the count);
    `value` is None when the denominator is 0. Provisional: it can still change (work within its deadline).
    `label` names the subject of a staff row that has no user (a sales consultant known only by the name on the
    delivery); staff rows of a store-bound person carry their `store_id` too."""

    store_id: int | None
    period_start: dt.date
    period_end: dt.date
    value: Decimal | int | None
    numerator: int | None = None
    denominator: int | None = None
    provisional: bool = False
    user_id: int | None = None
    label: str = ""


def rate(numerator: int, denominator: int) -> Decimal | None:
    """A rate of the catalogue: numerator / denominator in %, half-up to 0.1; None without a denominator."""
    if not denominator:
        return None
    return (Decimal(numerator) * 100 / denominator).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


Compute = Callable[..., list[KpiValue]]  # (user, store_ids, period_start, period_end) -> [KpiValue]


@dataclass(frozen=True)
class Drill:
    """Where a figure's rows are listed: the URL of the rows its numerator counts and of those its denominator
    counts ("" where there is no such list)."""

    numerator: str = ""
    denominator: str = ""


# (store_id, start, end) -> Drill: the lists of one store's rows over the half-open Shanghai days [start, end)
DrillFor = Callable[..., Drill]


@dataclass(frozen=True)
class Measure:
    """A KPI: what it counts (both languages through gettext), its unit, grain and direction, its default target."""

    code: str  # "<app>.<name>", stable: targets and reports store it
    app: str
    name: str | Promise
    definition: str | Promise
    numerator: str | Promise
    denominator: str | Promise
    unit: str = Unit.PERCENT
    direction: str = Direction.HIGHER
    levels: tuple[str, ...] = (Level.STORE,)
    periods: tuple[str, ...] = (Period.MONTH,)
    default_target: Decimal | None = None
    compute: Compute | None = field(default=None, compare=False)
    # the app's lists of the rows behind a store's figure (`Drill`); None: no list counts this measure's rows
    drill: DrillFor | None = field(default=None, compare=False)
    # How the store figures add up to a region's or the group's; None: a percentage sums its numerators and
    # denominators, any other unit its values.
    rollup: str | None = None

    def __post_init__(self):
        if not _CODE.match(self.code):
            raise ValueError(f"measure code {self.code!r}: expected '<app>.<name>' in lower case")
        if not self.code.startswith(f"{self.app}."):
            raise ValueError(f"measure code {self.code!r} does not start with its app {self.app!r}")
        if self.unit not in Unit.values or self.direction not in Direction.values:
            raise ValueError(f"measure {self.code}: unknown unit or direction")
        if not self.levels or set(self.levels) - set(Level.values):
            raise ValueError(f"measure {self.code}: levels must be some of {Level.values}")
        if not self.periods or set(self.periods) - set(Period.values):
            raise ValueError(f"measure {self.code}: periods must be some of {Period.values}")
        if self.rollup is None:
            object.__setattr__(self, "rollup", Rollup.RATIO if self.unit == Unit.PERCENT else Rollup.SUM)
        if self.rollup not in Rollup.values:
            raise ValueError(f"measure {self.code}: rollup must be one of {Rollup.values}")
        if self.default_target is not None:
            object.__setattr__(self, "default_target", Decimal(self.default_target))
            low, high = self.bounds
            if not low <= self.default_target <= high:
                raise ValueError(f"measure {self.code}: default target outside {low}–{high}")

    @property
    def grain_levels(self) -> tuple[str, ...]:
        """The levels a figure exists for: the measure's own, and region and group for a store measure that adds
        up (`rollup` not none)."""
        levels = list(self.levels)
        if Level.STORE in levels and self.rollup != Rollup.NONE:
            levels += [level for level in (Level.REGION, Level.GROUP) if level not in levels]
        return tuple(levels)

    @property
    def grains(self) -> tuple[tuple[str, str], ...]:
        """Every (level, period) this measure has a figure for, e.g. ("region", "quarter")."""
        return tuple((level, period) for level in self.grain_levels for period in self.periods)

    @property
    def unit_label(self):
        return Unit(self.unit).label

    @property
    def direction_label(self):
        return Direction(self.direction).label

    @property
    def bounds(self) -> tuple[Decimal, Decimal]:
        """The smallest and largest target this measure's unit allows."""
        return UNIT_BOUNDS[self.unit]

    @property
    def targetable(self) -> bool:
        """Targets are per store and month, quarter or year: only measures with a store grain take one."""
        return Level.STORE in self.levels

    def met(self, value, target) -> bool | None:
        """Whether `value` meets `target` in this measure's direction (None when either is missing)."""
        if value is None or target is None:
            return None
        return value >= target if self.direction == Direction.HIGHER else value <= target

    def gap(self, value, target) -> Decimal | None:
        """value − target (negative = below); None when either is missing."""
        if value is None or target is None:
            return None
        return Decimal(value) - Decimal(target)


def months_query(start: dt.date, end: dt.date) -> dict[str, str] | None:
    """The drill lists' period parameters for whole months `[start, end)`: `month` (the first, YYYY-MM) and, for
    more than one month, `until` (the month after the last, not included); None when the period is not whole
    months (a day: the lists filter by month)."""
    from .calendar import month_add

    if start.day != 1 or end.day != 1 or end <= start:
        return None
    query = {"month": f"{start:%Y-%m}"}
    if end != month_add(start, 1):
        query["until"] = f"{end:%Y-%m}"
    return query


def list_drill(url_name: str, numerator: dict | None, denominator: dict | None, *, one_month: bool = False
               ) -> DrillFor:
    """A measure's drill-down to the app's list `url_name`: for one store and the months of the period
    (`months_query`), the list filtered with the numerator's and the denominator's query parameters (None: no such
    list). `one_month`: the list shows one month only, so a longer period has no drill-down."""

    def drill(*, store_id: int, start: dt.date, end: dt.date) -> Drill:
        period = months_query(start, end)
        if period is None or (one_month and "until" in period):
            return Drill()
        base = reverse(url_name)

        def url(filters: dict | None) -> str:
            return "" if filters is None else f"{base}?{urlencode({**filters, 'store': store_id, **period})}"

        return Drill(url(numerator), url(denominator))

    return drill


def drill_for(measure: Measure, *, store_id: int, start: dt.date, end: dt.date) -> Drill:
    """The lists of the rows behind `measure`'s figure of one store over `[start, end)`; empty without a drill."""
    if measure.drill is None:
        return Drill()
    return measure.drill(store_id=store_id, start=start, end=end)


_MEASURES: dict[str, Measure] = {}


def register(measure: Measure) -> Measure:
    """Add `measure` to the catalogue (apps call this in `ready()`). The same object again is a no-op (ready() run
    twice); another measure with a code already registered is refused with ValueError."""
    known = _MEASURES.get(measure.code)
    if known is not None and known is not measure:
        raise ValueError(f"KPI {measure.code} is already registered (by {known.app})")
    _MEASURES[measure.code] = measure
    return measure


def unregister(code: str) -> None:
    """Remove a measure (tests that register their own)."""
    _MEASURES.pop(code, None)


def measures(*, app: str | None = None) -> list[Measure]:
    """Every registered measure in registration order (apps in INSTALLED_APPS order), optionally one app's."""
    return [m for m in _MEASURES.values() if app is None or m.app == app]


def measure_get(code: str) -> Measure | None:
    """The measure with `code`, or None."""
    return _MEASURES.get(code)


def period_bounds(kind: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The half-open `[start, end)` of the month, quarter or year that contains `day`."""
    from .calendar import month_add  # org.models imports this module; org.calendar imports org.models

    if kind == Period.MONTH:
        start = day.replace(day=1)
        return start, month_add(start, 1)
    if kind == Period.QUARTER:
        start = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        return start, month_add(start, 3)
    if kind == Period.YEAR:
        return dt.date(day.year, 1, 1), dt.date(day.year + 1, 1, 1)
    if kind == Period.DAY:
        return day, day + dt.timedelta(days=1)
    raise ValueError(f"unknown period {kind!r}")

