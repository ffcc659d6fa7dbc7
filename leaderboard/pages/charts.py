"""The site's charts: matplotlib figures rendered to CSP-clean SVG.

Every chart takes plain data (landscapes, series) and returns SVG text; views cache it
per snapshot. matplotlib's SVG carries `style="..."` attributes and a `<style>` element,
both of which a strict `style-src 'self'` policy forbids, so `clean_svg` rewrites them as
presentation attributes (fill="...", font-size="...") that need no style permission at
all. Text stays text (`svg.fonttype: none`): small files, selectable, searchable.

Labels on the landscape charts are placed by `repel_labels`, a small deterministic
greedy-then-relax placement (no extra dependency): the same data always draws the same
picture, which keeps charts cacheable and testable.
"""

from __future__ import annotations

import contextlib
import html
import io
import math
import re
import textwrap
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import matplotlib

matplotlib.use("Agg")

from matplotlib import dates as mdates  # noqa: E402
from matplotlib import ticker  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from leaderboard.pages.landscape import METRICS, Landscape  # noqa: E402

_DRAW_LOCK = threading.Lock()
DPI = 72  # 1 px = 1 pt, so label boxes measured on screen are the SVG's own units
INK = "#1a1a24"
MUTED = "#55566a"
GRID = "#e3e4ec"
POINT = "#5a6486"
FRONTIER = "#b4440e"  # Okabe-Ito vermilion, darkened for contrast on white
HIGHLIGHT = "#1d4fd8"
SERIES = ("#0a62a8", "#b4440e", "#007a5a", "#a3407e", "#8a6100", "#3d7fb0", "#444444")
RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "pairwise",  # stable ids: identical data gives identical bytes
    # Names come from the catalog: "$...$" in one must print as typed, not as mathtext
    # (an unknown TeX command there used to raise while drawing).
    "text.parse_math": False,
    "text.usetex": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial"],
    "font.size": 10,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
# Log-axis ticks: 1-2-5 steps, or 1-1.5-2-3-5-7 when the data spans less than 10x.
COST_TICKS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5)
SECOND_TICKS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)
DENSE_STEPS = (1, 1.5, 2, 3, 5, 7)


@dataclass(frozen=True)
class ChartSize:
    """A chart's canvas (inches; 1 in = 72 SVG units) and its font sizes (SVG units).

    A phone shows a chart about 340 px wide; the wide chart (490 units) would shrink its
    8-unit legend to 5.5 px there. The phone chart is drawn 310 units wide with no text
    under 11 units, so at 360-390 px viewports every letter renders at 11 px or more.
    """

    name: str
    width_in: float
    height_in: float
    text: float  # ticks and axis labels
    small: float  # legends, annotations, point labels
    left: float  # subplot margins, figure fractions
    right: float
    bottom: float
    top: float
    legend_columns: int


WIDE = ChartSize("wide", 6.8, 4.4, 10, 8, 0.11, 0.97, 0.13, 0.95, legend_columns=4)
PHONE = ChartSize("phone", 4.3, 4.3, 11.5, 11, 0.2, 0.95, 0.15, 0.95, legend_columns=2)
CHART_SIZES = {size.name: size for size in (WIDE, PHONE)}


@dataclass(frozen=True)
class Series:
    """One line: a label and its (x, y) points; `key` names its SVG group (`series-<key>`)."""

    key: str
    label: str
    points: tuple[tuple, ...]
    is_emphasised: bool = False


def landscape_svg(
    landscape: Landscape, *, title: str, highlight: str | None = None, size: ChartSize = WIDE
) -> str:
    """Rating (with its 95% interval as an error bar) against price or speed, log x axis.

    Each model is an SVG group `point-<slug>`; the frontier line is `pareto-frontier`,
    and its models are named under the plot.

    Long on purpose: one figure drawn step by step (points, error bars, frontier,
    labels, axes), each step needing the ones before.
    """
    with _drawing(size):
        is_wide = size is WIDE
        fig, ax = _figure(size, bottom=0.2, top=0.9 if is_wide else 0.83)
        points = landscape.points
        if not points:
            _empty(ax, "No rated model has a price or a timing yet.")
            return _finish(fig, title)
        frontier = landscape.frontier_slugs
        xs = [p.x for p in points]
        x_low, x_high = min(xs) / 1.6, max(xs) * 1.6
        y_low = min(p.low for p in points)
        y_high = max(p.high for p in points)
        pad = max(15.0, (y_high - y_low) * 0.08)
        ax.set_xscale("log")
        ax.set_xlim(x_low, x_high)
        ax.set_ylim(y_low - pad, y_high + pad)
        ticks = COST_TICKS if landscape.metric == "cost" else SECOND_TICKS
        ax.xaxis.set_major_locator(ticker.FixedLocator(_ticks(x_low, x_high, ticks)))
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.xaxis.set_major_formatter(
            ticker.FuncFormatter(_usd_tick if landscape.metric == "cost" else _seconds_tick)
        )
        axis = METRICS[landscape.metric]["axis"]
        ax.set_xlabel(axis if is_wide else textwrap.fill(axis, 40))
        ax.set_ylabel("Rating (Elo scale, 95% interval)")
        ax.grid(True, color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)

        if len(landscape.frontier) > 1:
            ax.plot(
                [p.x for p in landscape.frontier],
                [p.y for p in landscape.frontier],
                drawstyle="steps-post",
                color=FRONTIER,
                linewidth=1.6,
                linestyle="--",
                gid="pareto-frontier",
                zorder=2,
            )
        for point in points:
            is_highlight = point.slug == highlight
            colour = HIGHLIGHT if is_highlight else FRONTIER if point.slug in frontier else POINT
            marker, _caps, (bars,) = ax.errorbar(
                [point.x],
                [point.y],
                yerr=[[point.y - point.low], [point.high - point.y]],
                fmt="o",
                markersize=9 if is_highlight else 6,
                color=colour,
                markerfacecolor="white" if point.is_provisional else colour,
                markeredgewidth=1.6,
                ecolor=colour,
                elinewidth=1.2,
                capsize=2.5,
                zorder=4 if is_highlight else 3,
            )
            marker.set_gid(f"point-{point.slug}")
            bars.set_gid(f"interval-{point.slug}")
        _place_labels(
            fig,
            ax,
            [(p.x, p.y) for p in points],
            [p.name for p in points],
            bold={i for i, p in enumerate(points) if p.slug == highlight},
            fontsize=size.small + 1 if is_wide else size.small,
        )
        # Above the plot, not in it: a legend inside the axes hides points and labels.
        ax.legend(
            handles=_legend_handles(bool(highlight), any(p.is_provisional for p in points)),
            loc="lower left",
            # A phone's legend starts at the figure's edge: from the axes it would not fit.
            bbox_to_anchor=(0.0, 1.0) if is_wide else (0.0, 0.84),
            bbox_transform=ax.transAxes if is_wide else fig.transFigure,
            ncols=size.legend_columns,
            fontsize=size.small,
            frameon=False,
            handletextpad=0.3,
            columnspacing=1.0,
        )
        if not is_wide:  # the caption under the chart names the frontier
            return _finish(fig, title)
        names = " → ".join(p.name for p in landscape.frontier)
        fig.text(
            0.01,
            0.015,
            f"Pareto frontier ({METRICS[landscape.metric]['better']} and better rated): {names}",
            fontsize=8.5,
            color=FRONTIER,
            gid="frontier-names",
        )
        return _finish(fig, title)


def history_svg(series: Sequence[Series], *, title: str, size: ChartSize = WIDE) -> str:
    """Online Elo over time: one line per series of (datetime, rating) points."""
    with _drawing(size):
        fig, ax = _figure(size)
        drawn = [s for s in series if s.points]
        if not drawn:
            _empty(ax, "No rating history yet.")
            return _finish(fig, title)
        for index, line in enumerate(drawn):
            xs = [_as_datetime(x) for x, _ in line.points]
            ys = [y for _, y in line.points]
            ax.plot(
                xs,
                ys,
                color=SERIES[index % len(SERIES)],
                linewidth=2.0,
                label=line.label,
                gid=f"series-{line.key}",
            )
            ax.annotate(
                f"{ys[-1]:.0f}",
                (xs[-1], ys[-1]),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=size.small + 1 if size is WIDE else size.small,
                color=SERIES[index % len(SERIES)],
            )
        _date_axis(ax)
        ax.set_ylabel("Online Elo rating")
        ax.grid(True, color=GRID, linewidth=0.8)
        ax.legend(loc="best", fontsize=size.small)
        return _finish(fig, title)


def latency_cdf_svg(series: Sequence[Series], *, title: str, size: ChartSize = WIDE) -> str:
    """Cumulative share of successful requests (y, %) finished within x seconds (log)."""
    with _drawing(size):
        fig, ax = _figure(size)
        drawn = [s for s in series if s.points]
        if not drawn:
            _empty(ax, "No successful benchmark samples in the window.")
            return _finish(fig, title)
        all_x = [x for s in drawn for x, _ in s.points if x > 0]
        for index, line in enumerate(drawn):
            colour = SERIES[index % len(SERIES)]
            xs = [max(x, 1e-3) for x, _ in line.points]
            ys = [y * 100 for _, y in line.points]
            ax.plot(
                xs,
                ys,
                drawstyle="steps-post",
                color=colour,
                linewidth=2.2 if line.is_emphasised else 1.6,
                label=line.label,
                gid=f"series-{line.key}",
            )
            median = _interpolate_x(line.points, 0.5)
            ax.plot([median], [50], "o", color=colour, markersize=5)
        ax.axhline(50, color=MUTED, linewidth=0.8, linestyle=":")
        ax.axhline(95, color=MUTED, linewidth=0.8, linestyle=":")
        ax.set_xscale("log")
        ax.set_xlim(min(all_x) / 1.3, max(all_x) * 1.3)
        ax.xaxis.set_major_locator(
            ticker.FixedLocator(_ticks(min(all_x) / 1.3, max(all_x) * 1.3, SECOND_TICKS))
        )
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(_seconds_tick))
        ax.set_ylim(0, 101)
        ax.yaxis.set_major_formatter(ticker.PercentFormatter())
        ax.set_xlabel("Generation time (seconds, log scale)")
        ax.set_ylabel("Successful requests done")
        ax.grid(True, color=GRID, linewidth=0.8)
        ax.legend(loc="lower right", fontsize=size.small)
        return _finish(fig, title)


def success_svg(series: Sequence[Series], *, title: str, size: ChartSize = WIDE) -> str:
    """Daily success rate (0-100%) per line of (date, fraction) points."""
    with _drawing(size):
        fig, ax = _figure(size)
        drawn = [s for s in series if s.points]
        if not drawn:
            _empty(ax, "No benchmark requests in the window.")
            return _finish(fig, title)
        for index, line in enumerate(drawn):
            xs = [_as_datetime(x) for x, _ in line.points]
            ys = [y * 100 for _, y in line.points]
            colour = INK if line.is_emphasised else SERIES[index % len(SERIES)]
            ax.plot(
                xs,
                ys,
                marker="o",
                markersize=3.5 if not line.is_emphasised else 5,
                color=colour,
                linewidth=2.4 if line.is_emphasised else 1.2,
                label=line.label,
                gid=f"series-{line.key}",
                zorder=3 if line.is_emphasised else 2,
            )
        _date_axis(ax)
        ax.set_ylim(-2, 102)
        ax.yaxis.set_major_formatter(ticker.PercentFormatter())
        ax.set_ylabel("Success rate per day")
        ax.grid(True, color=GRID, linewidth=0.8)
        ax.legend(loc="lower left", fontsize=size.small, ncols=2)
        return _finish(fig, title)


def repel_labels(
    anchors: Sequence[tuple[float, float]],
    sizes: Sequence[tuple[float, float]],
    bounds: tuple[float, float, float, float],
    *,
    gap: float = 5.0,
    marker: float = 5.0,
    iterations: int = 200,
) -> list[tuple[float, float]]:
    """Lower-left corners for label boxes `sizes` (w, h) near `anchors`, without overlaps.

    Display units (y up). Greedy first: each label, in a fixed order (top to bottom,
    then left to right), takes the first of eight spots around its anchor (right, left,
    above, below, then the diagonals) with the least overlap with the labels already
    placed, the markers and the outside of `bounds` (x0, y0, x1, y1). Then a few
    relaxation passes push any labels that still overlap apart vertically, each by half
    the overlap, staying within bounds. Deterministic: same input, same output.
    """
    x0, y0, x1, y1 = bounds
    markers = [(ax - marker, ay - marker, ax + marker, ay + marker) for ax, ay in anchors]
    order = sorted(range(len(anchors)), key=lambda i: (-anchors[i][1], anchors[i][0], i))
    placed: dict[int, list[float]] = {}
    for i in order:
        ax, ay = anchors[i]
        w, h = sizes[i]
        spots = [
            (ax + gap, ay - h / 2),
            (ax - gap - w, ay - h / 2),
            (ax - w / 2, ay + gap),
            (ax - w / 2, ay - gap - h),
            (ax + gap, ay + gap),
            (ax - gap - w, ay + gap),
            (ax + gap, ay - gap - h),
            (ax - gap - w, ay - gap - h),
        ]
        best, best_cost = None, math.inf
        for sx, sy in spots:
            box = (sx, sy, sx + w, sy + h)
            cost = sum(_overlap(box, _box(p, sizes[j])) for j, p in placed.items())
            cost += sum(_overlap(box, m) for m in markers)
            cost += 10 * (w * h - _overlap(box, bounds))  # outside the plot is worst
            if cost < best_cost - 1e-9:
                best, best_cost = [sx, sy], cost
        placed[i] = best
    for _ in range(iterations):
        moved = False
        for a_index, i in enumerate(order):
            for j in order[a_index + 1 :]:
                box_i, box_j = _box(placed[i], sizes[i]), _box(placed[j], sizes[j])
                if _overlap(box_i, box_j) <= 0:
                    continue
                push = (min(box_i[3], box_j[3]) - max(box_i[1], box_j[1])) / 2 + 0.5
                upper, lower = (i, j) if box_i[1] + box_i[3] >= box_j[1] + box_j[3] else (j, i)
                placed[upper][1] += push
                placed[lower][1] -= push
                moved = True
        for i in order:
            w, h = sizes[i]
            placed[i][0] = min(max(placed[i][0], x0), x1 - w)
            placed[i][1] = min(max(placed[i][1], y0), y1 - h)
        if not moved:
            break
    return [(placed[i][0], placed[i][1]) for i in range(len(anchors))]


def clean_svg(svg: str, *, title: str = "") -> str:
    """matplotlib SVG without style attributes, <style> or metadata; with a <title>."""
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<style[^>]*>.*?</style>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\sstyle="([^"]*)"', _style_to_attributes, svg)
    # The removed <style> set these defaults for every element; attributes inherit.
    root_defaults = ' stroke-linejoin="round" stroke-linecap="butt"'
    title_element = f"\n <title>{html.escape(title)}</title>" if title else ""
    return re.sub(
        r"(<svg\b[^>]*?)(\s*>)",
        lambda m: f'{m.group(1)}{root_defaults} role="img"{m.group(2)}{title_element}',
        svg,
        count=1,
    )


def _style_to_attributes(match: re.Match) -> str:
    attributes = []
    for declaration in match.group(1).split(";"):
        name, _, value = declaration.partition(":")
        if name.strip() and value.strip():
            attributes.append(f'{name.strip()}="{html.escape(value.strip(), quote=True)}"')
    return " " + " ".join(attributes) if attributes else ""


@contextlib.contextmanager
def _drawing(size: ChartSize):
    # rcParams are process-global: two threads drawing at once (runserver, threaded
    # workers) would restore each other's settings mid-draw, and text became paths.
    with _DRAW_LOCK, matplotlib.rc_context({**RC, "font.size": size.text}):
        yield


def _figure(size: ChartSize, bottom: float | None = None, top: float | None = None):
    fig = Figure(figsize=(size.width_in, size.height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    # Fixed margins (no tight_layout): label placement measures the final layout.
    fig.subplots_adjust(
        left=size.left, right=size.right, top=top or size.top, bottom=bottom or size.bottom
    )
    return fig, fig.add_subplot()


def _finish(fig: Figure, title: str) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return clean_svg(out.getvalue(), title=title)


def _empty(ax, message: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", color=MUTED, transform=ax.transAxes)


def _place_labels(fig, ax, anchors_data, names, *, bold=frozenset(), fontsize=9.0) -> None:
    renderer = fig.canvas.get_renderer()
    to_display = ax.transData
    anchors = [tuple(to_display.transform(point)) for point in anchors_data]
    texts = [
        ax.text(
            0,
            0,
            name,
            fontsize=fontsize,
            fontweight="bold" if i in bold else "normal",
            color=INK,
            ha="left",
            va="bottom",
            zorder=5,
            # A white backing keeps a label readable where a line or error bar crosses it.
            bbox={
                "boxstyle": "square,pad=0.05",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.85,
            },
        )
        for i, name in enumerate(names)
    ]
    sizes = []
    for text in texts:
        extent = text.get_window_extent(renderer)
        sizes.append((extent.width, extent.height))
    box = ax.get_window_extent(renderer)
    corners = repel_labels(anchors, sizes, (box.x0, box.y0, box.x1, box.y1))
    to_data = to_display.inverted()
    for text, (x, y), (w, h), (ax_x, ax_y) in zip(texts, corners, sizes, anchors, strict=True):
        text.set_position(to_data.transform((x, y)))
        # A label pushed away from its point gets a thin leader line back to it.
        nearest_x, nearest_y = min(max(ax_x, x), x + w), min(max(ax_y, y), y + h)
        if math.hypot(nearest_x - ax_x, nearest_y - ax_y) > 14:
            ax.plot(
                *zip(
                    to_data.transform((ax_x, ax_y)),
                    to_data.transform((nearest_x, nearest_y)),
                    strict=True,
                ),
                color=MUTED,
                linewidth=0.6,
                zorder=1,
            )


def _legend_handles(has_highlight: bool, has_provisional: bool) -> list:
    handles = [
        Line2D([], [], color=FRONTIER, linestyle="--", label="Pareto frontier"),
        Line2D([], [], color=POINT, marker="o", linestyle="", label="Model (95% interval)"),
    ]
    if has_highlight:
        handles.append(
            Line2D(
                [], [], color=HIGHLIGHT, marker="o", markersize=8, linestyle="", label="This model"
            )
        )
    if has_provisional:
        handles.append(
            Line2D(
                [],
                [],
                color=POINT,
                marker="o",
                markerfacecolor="white",
                linestyle="",
                label="Provisional (few votes)",
            )
        )
    return handles


def _date_axis(ax) -> None:
    # Span only the data's dates: with one day of data matplotlib's default spans years.
    days = [x for line in ax.get_lines() for x in mdates.date2num(line.get_xdata())]
    if days:
        pad = max(0.5, (max(days) - min(days)) * 0.03)
        ax.set_xlim(min(days) - pad, max(days) + pad)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _as_datetime(value):
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(value)


def _interpolate_x(points, y: float) -> float:
    for (x_a, y_a), (x_b, y_b) in zip(points, points[1:], strict=False):
        if y_a <= y <= y_b:
            return x_a if y_b == y_a else x_a + (x_b - x_a) * (y - y_a) / (y_b - y_a)
    return points[-1][0]


def _ticks(low: float, high: float, sparse: Sequence[float]) -> list[float]:
    if high / low >= 10:
        return list(sparse)
    dense = [step * 10**power for power in range(-3, 4) for step in DENSE_STEPS]
    return [tick for tick in dense if low <= tick <= high]


def _usd_tick(value, _position) -> str:
    return f"${value:g}" if value >= 0.01 else f"${value:.3f}"


def _seconds_tick(value, _position) -> str:
    return f"{value:g} s"


def _box(corner, size):
    return (corner[0], corner[1], corner[0] + size[0], corner[1] + size[1])


def _overlap(a, b) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width * height if width > 0 and height > 0 else 0.0
