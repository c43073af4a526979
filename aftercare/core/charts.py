"""Charts: a view builds a chart's spec here, a template draws it with `{% chart spec %}`.

The spec is plain JSON data (no function, no HTML): the template tag (`core/templatetags/charts.py`) writes it into
the page with `json_script` next to a `<canvas>`, and `core/static/core/charts.js` draws every such canvas with the
vendored Chart.js (`core/static/core/vendor/chartjs/`, ~210 kB, offline). The page adds both scripts with
`{% chart_scripts %}`.

- Axes are scaled to the data (and the target) with a margin and round steps, not always 0–100; a percentage axis
  (`y_unit="%"`) and percentage values stay within 0–100. A bar chart's axis starts at zero (bars measure from it).
- `None` (or NaN) is a gap: the line breaks there.
- A target is a series of its own, drawn as a dashed line across the chart.
- Labels are forced to text in the active language when the spec is built, so `gettext_lazy` labels come out in
  Chinese in the Chinese UI.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext

Number = int | float | Decimal

PERCENT = "%"
STEPS = (1, 2, 2.5, 5, 10)  # round steps of an axis, times a power of ten
TICKS = 5  # about this many steps between an axis' ends
MARGIN = 0.1  # of the data's span, above and below it
MIN_PERCENT_SPAN = 5.0  # points: two rates 0.3 points apart do not fill the chart's height


@dataclass(frozen=True)
class Series:
    """One line (or one colour of bars): a label and one value per x label; `None` is no value."""

    label: str
    values: Sequence[Number | None]
    unit: str | None = None  # shown after each value; the chart's y unit when None


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    target: Number | None = None,
    target_label: str | None = None,
    y_unit: str = PERCENT,
) -> dict:
    """A line chart's spec: one line per series over `x_labels`, gaps at `None`, and an optional dashed target."""
    return _spec("line", title, x_labels, series, target=target, target_label=target_label, y_unit=y_unit)


def bar_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    target: Number | None = None,
    target_label: str | None = None,
    y_unit: str = "",
) -> dict:
    """A bar chart's spec: one group of bars per x label, one bar per series; the axis starts at zero."""
    return _spec("bar", title, x_labels, series, target=target, target_label=target_label, y_unit=y_unit)


def _spec(kind, title, x_labels, series, *, target, target_label, y_unit) -> dict:
    labels = [str(x) for x in x_labels]
    percent = y_unit == PERCENT
    out = []
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {str(s.label)!r} has {len(s.values)} values for {len(labels)} x labels")
        out.append(
            {
                "label": str(s.label),
                "values": [_number(v, percent=percent) for v in s.values],
                "unit": str(y_unit if s.unit is None else s.unit),
                "target": False,
            }
        )
    empty = all(v is None for s in out for v in s["values"])
    target_value = _number(target, percent=percent)
    if target_value is not None:
        if target_label is None:
            shown = _format(target_value)
            target_label = gettext("target %(t)s %%") % {"t": shown} if percent else f"{gettext('target')} {shown}"
        out.append(
            {
                "label": str(target_label),
                "values": [target_value] * len(labels),
                "unit": str(y_unit),
                "target": True,
            }
        )
    values = [v for s in out for v in s["values"] if v is not None]
    return {
        "type": kind,
        "title": str(title),
        "labels": labels,
        "series": out,
        "y": {**_axis(values, percent=percent, from_zero=kind == "bar"), "unit": str(y_unit)},
        "empty": empty,
    }


def _number(value, *, percent: bool) -> float | None:
    if value is None:
        return None
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return None
    if percent:
        number = min(100.0, max(0.0, number))
    return round(number, 2)


def _format(value: float) -> str:
    return f"{value:g}"


def _nice_step(rough: float) -> float:
    power = 10 ** math.floor(math.log10(rough))
    return next(step * power for step in STEPS if step * power >= rough)


def _axis(values: list[float], *, percent: bool, from_zero: bool) -> dict:
    """Ends of the y axis: the data's range widened by a margin, rounded out to a round step."""
    if not values:
        return {"min": 0, "max": 100 if percent else 1, "step": 20 if percent else 0.2}
    low, high = min(values), max(values)
    if from_zero:
        low, high = min(low, 0.0), max(high, 0.0)
        if high == low:
            high = low + (MIN_PERCENT_SPAN if percent else 1.0)
    else:
        least = MIN_PERCENT_SPAN if percent else (max(abs(low), abs(high)) * 0.1 or 1.0)
        if high - low < least:  # widen around the middle (a percentage's window kept within 0–100)
            middle = (low + high) / 2
            low, high = middle - least / 2, middle + least / 2
            if percent:
                shift = max(0.0, high - 100.0) - max(0.0, -low)
                low, high = low - shift, high - shift
    span = high - low
    step = _nice_step(span * (1 + 2 * MARGIN) / TICKS)
    bottom = 0.0 if from_zero and low >= 0 else math.floor((low - span * MARGIN) / step + 1e-9) * step
    top = 0.0 if from_zero and high <= 0 else math.ceil((high + span * MARGIN) / step - 1e-9) * step
    if percent:
        bottom, top = max(bottom, 0.0), min(top, 100.0)
    digits = max(0, -math.floor(math.log10(step)) + 1)
    return {"min": _tidy(bottom, digits), "max": _tidy(top, digits), "step": _tidy(step, digits)}


def _tidy(value: float, digits: int) -> int | float:
    value = round(value, digits)
    return int(value) if value == int(value) else value
