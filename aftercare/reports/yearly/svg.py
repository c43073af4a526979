"""Static charts for the PDF: small SVG bar and line charts drawn server-side (the browser's charts are JS specs in
`core.charts`; WeasyPrint needs the picture itself). Values may be None (a gap); texts are escaped."""

from html import escape

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd")
FONT = 'font-family="Noto Sans CJK SC, sans-serif"'


def _num(value) -> float | None:
    return None if value is None else float(value)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"


def _frame(width: int, height: int, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><text x="4" y="13" font-size="11" font-weight="bold" {FONT}>'
            f'{escape(title)}</text>{"".join(body)}</svg>')


def _scale(values: list[float], *, zero: bool) -> tuple[float, float]:
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    if zero:
        low = min(0.0, low)
    if high == low:
        high = low + 1
    pad = (high - low) * 0.08
    return (low if zero else low - pad), high + pad


def _axes(width, height, left, top, bottom, low, high, labels) -> tuple[list[str], float, float]:
    plot_w, plot_h = width - left - 8, height - top - bottom
    out = [f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>']
    for k in range(5):
        v = low + (high - low) * k / 4
        y = top + plot_h - plot_h * k / 4
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text x="{left - 3}" y="{y + 3:.1f}" font-size="8" text-anchor="end" {FONT}>{_fmt(v)}</text>')
    step = plot_w / max(len(labels), 1)
    for i, label in enumerate(labels):
        x = left + step * (i + 0.5)
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 11}" font-size="8" text-anchor="middle" {FONT}>'
                   f'{escape(str(label))}</text>')
    return out, plot_w, plot_h


def bar_chart(labels: list[str], values: list, *, title: str, target=None, target_label: str = "",
              width: int = 640, height: int = 200) -> str:
    """Bars of `values` per label, a dashed line at `target` (if any), each bar's value above it."""
    nums = [_num(v) for v in values]
    shown = [v for v in nums if v is not None] + ([float(target)] if target is not None else [])
    low, high = _scale(shown, zero=True)
    left, top, bottom = 36, 22, 16
    body, plot_w, plot_h = _axes(width, height, left, top, bottom, low, high, labels)

    def y(v: float) -> float:
        return top + plot_h - (v - low) / (high - low) * plot_h

    step = plot_w / max(len(labels), 1)
    for i, v in enumerate(nums):
        if v is None:
            continue
        x = left + step * i + step * 0.15
        body.append(f'<rect x="{x:.1f}" y="{min(y(v), y(0)):.1f}" width="{step * 0.7:.1f}" '
                    f'height="{abs(y(0) - y(v)):.1f}" fill="{COLOURS[0]}"/>'
                    f'<text x="{x + step * 0.35:.1f}" y="{y(v) - 2:.1f}" font-size="7" text-anchor="middle" '
                    f'{FONT}>{_fmt(v)}</text>')
    if target is not None:
        ty = y(float(target))
        body.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{left + plot_w}" y2="{ty:.1f}" stroke="#d62728" '
                    f'stroke-dasharray="4 3"/><text x="{left + plot_w}" y="{ty - 2:.1f}" font-size="8" '
                    f'text-anchor="end" fill="#d62728" {FONT}>{escape(target_label)} {_fmt(float(target))}</text>')
    return _frame(width, height, title, body)


def line_chart(labels: list[str], series: list[tuple[str, list]], *, title: str, width: int = 640,
               height: int = 200) -> str:
    """One line per `(name, values)` (gaps where None), a legend at the top right."""
    all_values = [_num(v) for _n, values in series for v in values if v is not None]
    low, high = _scale(all_values, zero=False)
    left, top, bottom = 36, 22, 16
    body, plot_w, plot_h = _axes(width, height, left, top, bottom, low, high, labels)
    step = plot_w / max(len(labels), 1)
    for k, (name, values) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        points, runs = [], []
        for i, v in enumerate(values):
            if v is None:
                if points:
                    runs.append(points)
                points = []
                continue
            points.append((left + step * (i + 0.5), top + plot_h - (float(v) - low) / (high - low) * plot_h))
        if points:
            runs.append(points)
        for run in runs:
            body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="'
                        + " ".join(f"{x:.1f},{y:.1f}" for x, y in run) + '"/>')
            body.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}"/>' for x, y in run)
        lx = width - 8 - 110 * (len(series) - k)
        body.append(f'<rect x="{lx}" y="5" width="10" height="6" fill="{colour}"/><text x="{lx + 13}" y="11" '
                    f'font-size="8" {FONT}>{escape(name)}</text>')
    return _frame(width, height, title, body)

