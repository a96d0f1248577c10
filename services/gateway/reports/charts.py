"""Charts of the monthly report as inline SVG, drawn here (no JavaScript, nothing fetched):
the HTML page embeds them and WeasyPrint draws the same SVG into the PDF."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
BLUE = "#1f5fa8"
LIGHT_BLUE = "#9dbbe0"
GREY = "#8a8f98"
GRID = "#e3e6ea"
TEXT = "#222222"
MUTED = "#6b7079"
TARGET = "#d9822b"
GOOD = "#2e7d32"
BAD = "#c62828"
Format = Callable[[float], str]


@dataclass(frozen=True, slots=True)
class Point:
    label: str
    value: float | None
    low: float | None = None  # an interval around the value, drawn as a whisker
    high: float | None = None


@dataclass(frozen=True, slots=True)
class Interval:
    label: str
    value: float | None
    low: float | None
    high: float | None
    target: float | None
    note: str  # printed right of the row: the value and n, or why it is not shown


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float  # 0..1, the bar's length as a share of the axis
    text: str  # printed right of the bar
    highlighted: bool


def percent(value: float) -> str:
    return f"{value * 100:.0f} %"


def number(value: float) -> str:
    return f"{value:.0f}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high], about `count` of them."""
    if high <= low:
        high = low + 1
    raw = (high - low) / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value < high + step / 2:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'font-family="{FONT}" font-size="10" class="chart">'
        f"<title>{escape(title)}</title>"
        f'<text x="0" y="13" font-size="12" font-weight="bold" fill="{TEXT}">{escape(title)}'
        "</text>" + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", **attrs: str | float) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


@dataclass(frozen=True, slots=True)
class _Plot:
    """The plot area of a line chart: a slot per point on x, [lo, hi] on y."""

    left: float
    top: float
    width: float
    height: float
    lo: float
    hi: float
    count: int

    def x(self, i: int) -> float:
        return self.left + (self.width * (i + 0.5) / max(1, self.count))

    def y(self, v: float) -> float:
        return self.top + self.height * (1 - (v - self.lo) / (self.hi - self.lo))

    def rule(self, v: float, style: str) -> str:
        return (
            f'<line x1="{self.left}" x2="{self.left + self.width}" y1="{self.y(v):.1f}" '
            f'y2="{self.y(v):.1f}" {style}/>'
        )


def line_chart(
    title: str,
    points: Sequence[Point],
    fmt: Format,
    low: float | None = None,
    high: float | None = None,
    target: float | None = None,
    target_label: str = "target",
    width: int = 520,
    height: int = 210,
) -> str:
    """A value per period (a line broken where a value is missing), optional whiskers and a
    dashed target line; the y axis spans [low, high] widened to the data."""
    values = [v for p in points for v in (p.value, p.low, p.high) if v is not None]
    if target is not None:
        values.append(target)
    lo = min([*values, *([low] if low is not None else [])], default=0.0)
    hi = max([*values, *([high] if high is not None else [])], default=1.0)
    ticks = nice_ticks(lo, hi)
    left, right, top, bottom = 46, 92, 26, 34
    plot = _Plot(
        left, top, width - left - right, height - top - bottom, ticks[0], ticks[-1], len(points)
    )
    body: list[str] = []
    for tick in ticks:
        body.append(plot.rule(tick, f'stroke="{GRID}"'))
        body.append(_text(left - 5, plot.y(tick) + 3.5, fmt(tick), "end", fill=MUTED))
    for i, point in enumerate(points):
        body.append(_text(plot.x(i), height - bottom + 14, point.label, "middle", fill=MUTED))
    if target is not None:
        body.append(
            plot.rule(target, f'stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="5 3"')
        )
        label = f"{target_label} {fmt(target)}"
        body.append(_text(left + plot.width + 4, plot.y(target) + 3.5, label, fill=TARGET))
    body += _whiskers(plot, points) + _lines(plot, points) + _dots(plot, points, fmt)
    if not any(p.value is not None for p in points):
        middle = (left + plot.width / 2, top + plot.height / 2)
        body.append(_text(*middle, "no data", "middle", fill=MUTED))
    return _svg(width, height, title, body)


def _whiskers(plot: _Plot, points: Sequence[Point]) -> list[str]:
    paths = []
    for i, point in enumerate(points):
        if point.low is not None and point.high is not None:
            xi, low, high = plot.x(i), plot.y(point.low), plot.y(point.high)
            paths.append(
                f'<path d="M{xi - 3:.1f} {low:.1f}H{xi + 3:.1f}M{xi:.1f} '
                f"{low:.1f}V{high:.1f}M{xi - 3:.1f} {high:.1f}"
                f'H{xi + 3:.1f}" stroke="{LIGHT_BLUE}" stroke-width="1.5" fill="none"/>'
            )
    return paths


def _lines(plot: _Plot, points: Sequence[Point]) -> list[str]:
    """A polyline per run of consecutive values (of two points at least)."""
    runs: list[list[str]] = [[]]
    for i, point in enumerate(points):
        if point.value is None:
            runs.append([])
        else:
            runs[-1].append(f"{plot.x(i):.1f},{plot.y(point.value):.1f}")
    return [
        f'<polyline points="{" ".join(run)}" fill="none" stroke="{BLUE}" stroke-width="2"/>'
        for run in runs
        if len(run) > 1
    ]


def _dots(plot: _Plot, points: Sequence[Point], fmt: Format) -> list[str]:
    """A dot per value; the last period's larger and labelled."""
    dots = []
    for i, point in enumerate(points):
        if point.value is None:
            continue
        last = i == len(points) - 1
        dots.append(
            f'<circle cx="{plot.x(i):.1f}" cy="{plot.y(point.value):.1f}" '
            f'r="{3.5 if last else 2.5}" fill="{BLUE}"/>'
        )
        if last:
            label = fmt(point.value)
            dots.append(_text(plot.x(i) + 7, plot.y(point.value) - 5, label, font_weight="bold"))
    return dots


@dataclass(frozen=True, slots=True)
class IntervalLegend:
    target: str = "target"
    interval: str = "95 % interval"
    met: str = "met"
    missed: str = "not met"


LEGEND_CHAR = 6.2  # px a character of the legend's 11 px text takes, about


def _interval_legend(width: int, legend: IntervalLegend | None) -> list[str]:
    """Target tick, whisker, met and missed dots with their words, right-aligned."""
    words = legend or IntervalLegend()
    spans = [len(w) * LEGEND_CHAR for w in (words.target, words.interval, words.met, words.missed)]
    x = width - (sum(spans) + 4 * 30)
    tick, whisker = x, x + spans[0] + 30
    met = whisker + 25 + spans[1] + 20
    missed = met + 12 + spans[2] + 20
    return [
        f'<line x1="{tick:.1f}" x2="{tick:.1f}" y1="5" y2="15" stroke="{TARGET}" '
        'stroke-width="2"/>',
        _text(tick + 5, 13.5, words.target, fill=TARGET),
        f'<path d="M{whisker:.1f} 7V13M{whisker:.1f} 10H{whisker + 20:.1f}M{whisker + 20:.1f} 7V13"'
        f' stroke="{LIGHT_BLUE}" stroke-width="1.5" fill="none"/>',
        _text(whisker + 25, 13.5, words.interval, fill=MUTED),
        f'<circle cx="{met:.1f}" cy="10" r="4" fill="{GOOD}"/>',
        _text(met + 7, 13.5, words.met, fill=MUTED),
        f'<circle cx="{missed:.1f}" cy="10" r="4" fill="{BAD}"/>',
        _text(missed + 7, 13.5, words.missed, fill=MUTED),
    ]


def interval_chart(
    title: str,
    rows: Sequence[Interval],
    fmt: Format = number,
    width: int = 560,
    legend: IntervalLegend | None = None,
) -> str:
    """A dot per row with its interval as a whisker and the row's target as a tick; rows
    without a value show their note only."""
    label_w, note_w, row_h, top = 250, 118, 20, 24
    plot_w = width - label_w - note_w - 10
    bottom = top + row_h * max(1, len(rows))
    height = bottom + 20
    values = [v for r in rows for v in (r.value, r.low, r.high, r.target) if v is not None] or [
        0.0,
        100.0,
    ]
    ticks = nice_ticks(max(-100.0, min(values) - 5), min(100.0, max(values) + 5))
    lo, hi = ticks[0], ticks[-1]

    def x(v: float) -> float:
        return label_w + plot_w * (v - lo) / (hi - lo)

    body: list[str] = []
    for tick in ticks:
        body.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top}" '
            f'y2="{bottom}" stroke="{GRID}"/>'
        )
        body.append(_text(x(tick), bottom + 13, fmt(tick), "middle", fill=MUTED))
    body += _interval_legend(width, legend)
    for n, row in enumerate(rows):
        mid = top + row_h * n + row_h / 2
        label = row.label if len(row.label) <= 44 else row.label[:43] + "\u2026"
        body.append(_text(label_w - 8, mid + 3.5, label, "end", fill=TEXT))
        if row.target is not None:
            body.append(
                f'<line x1="{x(row.target):.1f}" x2="{x(row.target):.1f}" y1="{mid - 7:.1f}" '
                f'y2="{mid + 7:.1f}" stroke="{TARGET}" stroke-width="2"/>'
            )
        if row.low is not None and row.high is not None:
            low, high = max(lo, row.low), min(hi, row.high)
            body.append(
                f'<path d="M{x(low):.1f} {mid - 4:.1f}V{mid + 4:.1f}M{x(low):.1f} {mid:.1f}'
                f'H{x(high):.1f}M{x(high):.1f} {mid - 4:.1f}V{mid + 4:.1f}" '
                f'stroke="{LIGHT_BLUE}" stroke-width="1.5" fill="none"/>'
            )
        if row.value is not None:
            met = row.target is None or row.value >= row.target
            colour = GOOD if met else BAD
            body.append(f'<circle cx="{x(row.value):.1f}" cy="{mid:.1f}" r="4" fill="{colour}"/>')
        body.append(_text(label_w + plot_w + 10, mid + 3.5, row.note, fill=MUTED))
    if not rows:
        body.append(_text(label_w + plot_w / 2, top + 12, "no data", "middle", fill=MUTED))
    return _svg(width, height, title, body)


def bar_chart(
    title: str,
    bars: Sequence[Bar],
    legend: str,
    width: int = 560,
    others: str = "other channels",
) -> str:
    """Horizontal bars on a 0..100 % axis; highlighted bars in colour, the rest grey."""
    label_w, text_w, row_h, top = 110, 130, 20, 40
    plot_w = width - label_w - text_w
    height = top + row_h * max(1, len(bars)) + 10
    body = [
        f'<rect x="{label_w}" y="16" width="12" height="9" fill="{BLUE}"/>',
        _text(label_w + 17, 24.5, legend, fill=MUTED),
        f'<rect x="{label_w + 250}" y="16" width="12" height="9" fill="{GREY}"/>',
        _text(label_w + 267, 24.5, others, fill=MUTED),
    ]
    for n, bar in enumerate(bars):
        mid = top + row_h * n + row_h / 2
        length = max(0.0, min(1.0, bar.value)) * plot_w
        colour = BLUE if bar.highlighted else GREY
        body.append(_text(label_w - 8, mid + 3.5, bar.label, "end", fill=TEXT))
        body.append(
            f'<rect x="{label_w}" y="{mid - 6:.1f}" width="{max(length, 1):.1f}" height="12" '
            f'fill="{colour}"/>'
        )
        body.append(_text(label_w + length + 6, mid + 3.5, bar.text, fill=MUTED))
    if not bars:
        body.append(_text(label_w + plot_w / 2, top + 12, "no data", "middle", fill=MUTED))
    return _svg(width, height, title, body)
