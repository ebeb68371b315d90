"""The trade-off frontier: expected catch-up against snapshot overhead, one point per interval.

Its own module because its axis (linear near 0%, logarithmic above, with the break marked),
its labels placed apart and its Pareto rule change for reasons of their own; the report's
answer in brief reads the same Pareto points (``frontier_points``).
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bench.report.figure_axes import (
    colour_of,
    legend_below,
    log_if_wide,
    mark_axis_break,
    panel_grid,
    place_labels,
)
from bench.results import Run
from bench.results.run_set import RunSet
from bench.units import format_seconds, interval_label

_FRONTIER_LINEAR_TO = 1.0  # percent: the overhead axis is linear from 0 to here, then logarithmic
_MARKER_SIZE = 8.0  # points


def frontier_figure(runset: RunSet) -> Figure:
    """Catch-up time against snapshot overhead, one point per interval, the Pareto-optimal ones filled."""
    figure, panels = panel_grid(runset, "Trade-off: catch-up time against snapshot overhead")
    for (axes,), members in panels:
        times: list[float] = []
        labels, where = [], []
        for index in members:
            run, colour, name = runset.runs[index], colour_of(index), runset.names[index]
            points = frontier_points(run)
            # One artist per kind, so the legend is drawn from what is plotted and says what each looks like.
            for pareto, style, face, what in (
                (True, "o-", colour, "Pareto-optimal (filled)"),
                (False, "o", "white", "beaten on both counts (hollow)"),
            ):
                kind = [p for p in points if p.pareto is pareto]
                if kind:
                    axes.plot(
                        [p.overhead_pct for p in kind],
                        [p.catchup_s for p in kind],
                        style,
                        color=(*colour[:3], 0.5),  # the frontier's line, faint
                        markersize=_MARKER_SIZE,
                        markeredgecolor=colour,
                        markerfacecolor=face,
                        label=f"{name}: {what}",
                    )
            for point in points:
                labels.append(
                    axes.annotate(
                        interval_label(point.interval),
                        (point.overhead_pct, point.catchup_s),
                        textcoords="offset points",
                        xytext=(5, 5),
                        fontsize=8,
                        color=colour,
                    )
                )
                where.append((point.overhead_pct, point.catchup_s))
            times += [p.catchup_s for p in points]
        axes.set_xscale("symlog", linthresh=_FRONTIER_LINEAR_TO)  # 0% (no snapshots) must stay on the axis
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}%"))
        log_if_wide(axes, times, format_seconds)
        left, right = axes.get_xlim()
        if left <= 0 and right > _FRONTIER_LINEAR_TO:  # both scales on the axis: mark where one ends
            mark_axis_break(axes, _FRONTIER_LINEAR_TO / 2)
        place_labels(axes, labels, where, _MARKER_SIZE / 2)
        axes.set_xlabel("snapshot overhead (% of replay time; lower is cheaper)")
        axes.set_ylabel("expected catch-up time (lower is faster)")
        legend_below(axes)
    return figure


_BREAK_NOTE = (
    f"The overhead axis is linear from 0% to {_FRONTIER_LINEAR_TO:g}% and logarithmic above, where the // marks "
    "the change, so that 0% (no snapshots) stays on it."
)


def axis_break_note(runset: RunSet, figure: Figure) -> list[str]:
    """The caption's sentence on the axis break, when the figure marked one."""
    marked = any(artist.get_gid() == "axis-break" for axes in figure.axes for artist in axes.get_children())
    return [_BREAK_NOTE] if marked else []


@dataclass(frozen=True)
class FrontierPoint:
    interval: int
    overhead_pct: float
    catchup_s: float
    pareto: bool  # no other interval is at least as cheap and as fast, and better in one


def frontier_points(run: Run, *, within_head: bool = False) -> list[FrontierPoint]:
    """One point per interval: median overhead against median expected catch-up.

    ``within_head``: only intervals at or below the head. A larger one took no snapshot, so it
    is a replay from event 0 under another name, and by noise alone it may "beat" k = 0.
    """
    rows = [row for row in run.summary if not within_head or row.interval <= run.head]
    raw = [(row.interval, row.overhead_pct.median, row.expected.catchup_s.median) for row in rows]
    points = []
    for k, overhead, catchup in raw:
        dominated = any(
            o <= overhead and c <= catchup and (o < overhead or c < catchup) for other, o, c in raw if other != k
        )
        points.append(FrontierPoint(k, overhead, catchup, not dominated))
    return sorted(points, key=lambda p: (p.overhead_pct, p.catchup_s))
