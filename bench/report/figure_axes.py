"""Drawing helpers the report's figures share: panels per dataset, interval axes, scales, captions.

Runs that replayed the same dataset share one panel (colour = run); runs of different
datasets each get their own panel, never one set of axes. Figures carry their caption
drawn into the image, so a PNG pasted into slides still says what to read from it.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from typing import Any, Literal

import matplotlib
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.path import Path
from matplotlib.text import Annotation
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator
from matplotlib.transforms import Bbox, ScaledTranslation

from bench.results.run_set import RunSet
from bench.results.stats import Summary
from bench.units import interval_label

matplotlib.rcParams["svg.hashsalt"] = "catchup"  # stable SVG ids: the same run draws the same file

PANEL_SIZE = (7.5, 4.6)  # inches per panel
PNG_DPI = 150
_COLOURS = matplotlib.color_sequences["tab10"]
_CAPTION_WIDTH = 115  # characters per caption line for one panel's width


Panels = list[tuple[tuple[Axes, ...], list[int]]]  # each row of axes with the run indexes it draws


def panel_grid(runset: RunSet, title: str, *, by_run: bool = False, columns: int = 1) -> tuple[Figure, Panels]:
    """One row of ``columns`` axes per panel: all runs together when they share a dataset, else one per run."""
    overlay = (runset.single or runset.same_dataset) and not by_run
    groups = [list(range(len(runset.runs)))] if overlay else [[i] for i in range(len(runset.runs))]
    rows = len(groups)
    width = PANEL_SIZE[0] * (1 if columns == 1 else 0.8 * columns)  # side-by-side panels may be narrower
    figure = Figure(figsize=(width, PANEL_SIZE[1] * rows + 0.9), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    figure.suptitle(title, fontsize=13, fontweight="bold")
    panels: Panels = []
    for row, members in enumerate(groups):
        axes = tuple(grid[row])
        if len(groups) > 1 or by_run and not runset.single:
            axes[0].set_title(panel_title(runset, members[0]), fontsize=10, loc="left")
        for each in axes:
            each.grid(True, which="major", alpha=0.3)
        panels.append((axes, members))
    return figure, panels


def panel_title(runset: RunSet, index: int) -> str:
    run = runset.runs[index]
    title = f"{runset.names[index]}: {run.projection_name} on {run.store.get('backend', '?')}, {run.head:,} events"
    if run.live is not None:
        title += f" + {run.live.load}" + ("" if run.live.followed else " asked")
    return title


def errorbar(axes: Axes, ks: list[int], stats: list[Summary], style: str, colour: Any, label: str) -> None:
    medians = [s.median for s in stats]
    low = [max(m - s.ci_low, 0.0) for m, s in zip(medians, stats, strict=True)]
    high = [max(s.ci_high - m, 0.0) for m, s in zip(medians, stats, strict=True)]
    axes.errorbar(ks, medians, yerr=[low, high], fmt=style, color=colour, capsize=3, markersize=5, label=label)


def interval_axis(axes: Axes, ks: list[int], empty: str = "no snapshot intervals in this run (k=0 only)") -> None:
    """k on x, log when the intervals span a decade or more, ticks exactly at the measured k; ``empty`` if none."""
    axes.set_xlabel("snapshot interval k (events)")
    ticks = sorted(set(ks))
    if not ticks:
        axes.text(
            0.5,
            0.5,
            empty,
            ha="center",
            va="center",
            transform=axes.transAxes,
            fontsize=9,
            color="dimgray",
        )
        return
    if ticks[-1] / ticks[0] >= 10:
        axes.set_xscale("log")
        axes.xaxis.set_minor_locator(NullLocator())
    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: interval_label(int(round(value)))))
    if len(ticks) == 1:
        axes.set_xlim(ticks[0] / 2, ticks[0] * 2)


def legend_below(axes: Axes) -> None:
    """Under the axes, where it cannot hide a line; two columns keep it short."""
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)


def log_if_wide(axes: Axes, values: list[float], label: Callable[[float], str]) -> None:
    """Log y when the values span 20x or more, with plain tick labels (10 ms, not 10^-2) either way."""
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) >= 20:
        axes.set_yscale("log")
        axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes.yaxis.set_minor_formatter(NullFormatter())
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: signed(value, label)))


def signed(value: float, label: Callable[[float], str]) -> str:
    """``label`` of a positive value, '0', or '-' and the label of its size: two ticks never both read '0'."""
    if value == 0:
        return "0"
    return label(value) if value > 0 else "-" + label(-value)


def symlog_if_wide(axes: Axes, values: list[float], linthresh: float, label: Callable[[float], str]) -> None:
    """Symlog y (linear up to ``linthresh``, so 0 stays on the axis) when the values above it span 20x or more."""
    positive = [max(v, linthresh) for v in values if v > 0]
    if positive and max(positive) / min(positive) >= 20:
        axes.set_yscale("symlog", linthresh=linthresh, linscale=0.5)
        axes.yaxis.set_minor_formatter(NullFormatter())
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: label(value) if value > 0 else "0"))


def colour_of(index: int) -> Any:
    return _COLOURS[index % len(_COLOURS)]


def tint(colour: Any, amount: float) -> tuple[float, float, float]:
    """``colour`` mixed with white: 0 keeps it, 1 is white."""
    return tuple(c + (1.0 - c) * amount for c in colour[:3])


def add_caption(figure: Figure, caption: str) -> None:
    width = figure.get_figwidth() / PANEL_SIZE[0] * _CAPTION_WIDTH
    lines = textwrap.wrap(caption, width=int(width))
    height = (0.17 * len(lines) + 0.15) / figure.get_figheight()
    engine = figure.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):  # always, from panels; the check is for the type checker
        engine.set(rect=(0.0, height, 1.0, 1.0 - height))
    figure.text(0.01, 0.012, "\n".join(lines), fontsize=8.5, color="#333333", va="bottom", ha="left", wrap=False)


def encode(figure: Figure, kind: str) -> bytes:
    buffer = io.BytesIO()
    metadata = {"Date": None} if kind == "svg" else {"Software": "catchup"}
    figure.savefig(buffer, format=kind, dpi=PNG_DPI, metadata=metadata)
    return buffer.getvalue()


def mark_axis_break(axes: Axes, x: float) -> None:
    """'//' across both x spines at data ``x``: the scale changes there (a symlog axis turns from linear to log).

    A white gap in the spine with two slashes over it, the usual sign that the axis is not
    one scale throughout; drawn as artists of their own (gid ``axis-break``), so they move no limits.
    """
    where = axes.get_xaxis_transform()  # x in data, y in axes: 0 the bottom spine, 1 the top
    for y in (0.0, 1.0):
        gap = Line2D([x], [y], transform=where, marker=_GAP, markersize=7, color="white", linestyle="none")
        marks = [
            Line2D(
                [x],
                [y],
                transform=where + ScaledTranslation(dx / 72, 0, axes.figure.dpi_scale_trans),  # dx points
                marker=_SLASH,
                markersize=9,
                markeredgewidth=1.2,
                color="black",
                linestyle="none",
            )
            for dx in (-2.0, 2.0)
        ]
        for artist in (gap, *marks):
            artist.set_clip_on(False)
            artist.set_zorder(3)  # over the spine (2.5)
            artist.set_gid("axis-break")
            axes.add_artist(artist)


_GAP = Path([(-1.0, -0.6), (1.0, -0.6), (1.0, 0.6), (-1.0, 0.6), (-1.0, -0.6)], closed=True)  # wider than high
_SLASH = Path([(-0.5, -1.0), (0.5, 1.0)])


def place_labels(axes: Axes, labels: list[Annotation], points: list[tuple[float, float]], radius: float) -> None:
    """Keep ``labels`` (annotations of data points) clear of one another and of the ``points`` (data
    coordinates, drawn as markers of ``radius`` points): each is moved, when the figure is drawn, to the first
    spot around its point where it overlaps no placed label and no marker and stays inside the axes.
    """
    for label in labels:
        label.set_in_layout(False)  # the layout must not depend on where the labels land
    axes.add_artist(_LabelPlacer(axes, labels, points, radius))


# Where a label may go around its point: rings of growing distance (points), eight directions each, the
# up-and-right spot of the nearest ring first.
_Spot = tuple[float, float, Literal["left", "center", "right"], Literal["bottom", "center", "top"]]
_DIRECTIONS: tuple[_Spot, ...] = (
    (1, 1, "left", "bottom"),
    (1, -1, "left", "top"),
    (-1, 1, "right", "bottom"),
    (-1, -1, "right", "top"),
    (1, 0, "left", "center"),
    (-1, 0, "right", "center"),
    (0, 1, "center", "bottom"),
    (0, -1, "center", "top"),
)
_RINGS = (5.0, 10.0, 16.0, 24.0, 34.0)


class _LabelPlacer(Artist):
    """Places the labels at draw time, the only moment the axes' final size and a renderer are known.

    The layout, and a caption added afterwards, move the points on screen while a label's offset
    stays in points; placing once, before, would let labels placed apart overlap in the file.
    Drawn first among the axes' artists (zorder 0), so the labels it moves are drawn where it put them.
    """

    def __init__(self, axes: Axes, labels: list[Annotation], points: list[tuple[float, float]], radius: float):
        super().__init__()
        self._axes, self._labels, self._points, self._radius = axes, labels, points, radius
        self.set_zorder(0)
        self.set_in_layout(False)

    def draw(self, renderer: Any) -> None:
        pad = renderer.points_to_pixels(self._radius + 1.0)
        markers = [
            Bbox.from_extents(x - pad, y - pad, x + pad, y + pad)
            for x, y in self._axes.transData.transform(self._points)
        ]
        inside = self._axes.bbox
        placed: list[Bbox] = []
        for label in self._labels:
            best: tuple[float, _Spot] | None = None
            for ring in _RINGS:
                for dx, dy, ha, va in _DIRECTIONS:
                    spot = (dx * ring, dy * ring, ha, va)
                    box = _extent(label, spot, renderer)
                    clash = sum(_overlap(box, other) for other in placed + markers) + _outside(box, inside)
                    if best is None or clash < best[0]:
                        best = (clash, spot)
                    if clash == 0:
                        break
                if best is not None and best[0] == 0:
                    break
            assert best is not None  # there is always a first spot
            placed.append(_extent(label, best[1], renderer))

    def get_window_extent(self, renderer: Any = None) -> Bbox:
        return Bbox.null()  # draws nothing of its own


def _extent(label: Annotation, spot: _Spot, renderer: Any) -> Bbox:
    dx, dy, ha, va = spot
    label.xyann = (dx, dy)
    label.set_horizontalalignment(ha)
    label.set_verticalalignment(va)
    return label.get_window_extent(renderer)


def _overlap(a: Bbox, b: Bbox) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def _outside(box: Bbox, inside: Bbox) -> float:
    """The area of ``box`` outside ``inside``."""
    return box.width * box.height - _overlap(box, inside)
