"""The report's figures, drawn with matplotlib from the runs' summaries.

Each figure has a title, axes labelled with units, and a caption drawn into the image,
so a PNG pasted into slides still says what to read from it. Runs that replayed the same
dataset share one panel (colour = run); runs of different datasets each get their own
panel, never one set of axes. Catch-up figures draw only the catch-up runs of a set and
the staleness figure only its live runs; ``figures_for`` names the figures a set has data
for. matplotlib's object API (``Figure``, not ``pyplot``) keeps
no global state, so drawing needs no display and leaks no figures.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator

from bench.results import Run
from bench.run_set import RunSet
from bench.units import format_interval, format_rate, format_seconds
from stores.errors import InvalidParameter

matplotlib.rcParams["svg.hashsalt"] = "catchup"  # stable SVG ids: the same run draws the same file

PANEL_SIZE = (7.5, 4.6)  # inches per panel
PNG_DPI = 150
_COLOURS = matplotlib.color_sequences["tab10"]
_CAPTION_WIDTH = 115  # characters per caption line for one panel's width


@dataclass(frozen=True)
class RenderedFigure:
    name: str  # file stem in figures/
    title: str
    caption: str
    png: bytes  # the file: caption drawn in, so it stands alone in slides
    svg: bytes
    embedded_png: bytes  # for a report, whose own caption sits under it


@dataclass(frozen=True)
class _Spec:
    name: str
    title: str
    caption: str
    draw: Callable[[RunSet], Figure]


CATCHUP_FIGURE_NAMES = ("catchup_vs_interval", "throughput", "snapshot_cost", "frontier")
LIVE_FIGURE_NAMES = ("staleness",)
FIGURE_NAMES = CATCHUP_FIGURE_NAMES + LIVE_FIGURE_NAMES
SAMPLING_PERIOD_S = 0.1  # how often a live run samples its lag, unless its timeseries says otherwise


def figures_for(runset: RunSet) -> list[str]:
    """The figures ``runset`` has data for: the catch-up ones if it has a catch-up run, staleness if a live one."""
    names: list[str] = []
    if runset.catchup_runs is not None:
        names += CATCHUP_FIGURE_NAMES
    if runset.live_runs is not None:
        names += LIVE_FIGURE_NAMES
    return names


def draw_figure(runset: RunSet, name: str) -> Figure:
    """One figure, drawn but not captioned or encoded; ``name`` is one of FIGURE_NAMES."""
    return _SPEC_BY_NAME[name].draw(_runs_for(runset, name))


def render_figures(runset: RunSet) -> list[RenderedFigure]:
    """The figures the runs have data for, drawn and encoded: PNG and SVG with the caption, and a PNG for embedding."""
    rendered = []
    for name in figures_for(runset):
        spec = _SPEC_BY_NAME[name]
        figure = spec.draw(_runs_for(runset, name))
        embedded = _encode(figure, "png")
        _add_caption(figure, spec.caption)
        png, svg = _encode(figure, "png"), _encode(figure, "svg")
        rendered.append(RenderedFigure(spec.name, spec.title, spec.caption, png, svg, embedded))
    return rendered


def write_figures(figures: Sequence[RenderedFigure], folder: Path) -> list[Path]:
    """Write NAME.png and NAME.svg for each figure into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for figure in figures:
        for suffix, content in (("png", figure.png), ("svg", figure.svg)):
            path = folder / f"{figure.name}.{suffix}"
            path.write_bytes(content)
            written.append(path)
    return written


def _runs_for(runset: RunSet, name: str) -> RunSet:
    """The runs figure ``name`` draws: the live runs for staleness, the catch-up runs for the others."""
    live = name in LIVE_FIGURE_NAMES
    subset = runset.live_runs if live else runset.catchup_runs
    if subset is None:
        raise InvalidParameter(
            f"figure {name} draws {'live' if live else 'catch-up'} runs and these runs have none; "
            f"draw one of {', '.join(figures_for(runset))}"
        )
    return subset


# --- the figures -------------------------------------------------------------------------


def _catchup_figure(runset: RunSet) -> Figure:
    figure, panels = _panels(runset, "Catch-up time after a restart, by snapshot interval")
    for (axes,), members in panels:
        times: list[float] = []
        for index in members:
            run, colour, name = runset.runs[index], _colour(index), runset.names[index]
            rows = _snapshot_rows(run)
            if rows:
                ks = [int(row["interval"]) for row in rows]
                for case, style, what in (
                    ("expected", "o-", "expected (tail k/2)"),
                    ("worst", "s--", "worst (tail k-1)"),
                ):
                    stats = [row["catchup"][case]["catchup_s"] for row in rows]
                    _errorbar(axes, ks, stats, style, colour, f"{name}: {what}")
                    times += [s["ci_low"] for s in stats] + [s["ci_high"] for s in stats]
            full = _full_replay_s(run)
            if full:
                axes.axhline(full, color=colour, linestyle=":", linewidth=1.5, label=f"{name}: full replay from 0")
                times.append(full)
        _interval_axis(axes, [int(r["interval"]) for i in members for r in _snapshot_rows(runset.runs[i])])
        _log_if_wide(axes, times, format_seconds)
        axes.set_ylabel("catch-up time")
        _legend_below(axes)
    return figure


def _throughput_figure(runset: RunSet) -> Figure:
    figure, panels = _panels(runset, "Replay throughput per snapshot interval, split into fetch and apply", by_run=True)
    for (axes,), members in panels:
        (index,) = members
        run = runset.runs[index]
        rows = run.summary
        positions = range(len(rows))
        head = runset.head(run)
        series = (
            ("replay (fetch + apply)", [row["events_per_s"]["median"] for row in rows], 0.0),
            ("fetch alone", [head / max(row["fetch_s"]["median"], 1e-12) for row in rows], 0.55),
            ("apply alone", [head / max(row["apply_s"]["median"], 1e-12) for row in rows], 0.8),
        )
        width = 0.26
        for offset, (what, rates, shade) in zip((-width, 0.0, width), series, strict=True):
            bars = axes.bar(
                [p + offset for p in positions],
                [rate / 1e6 for rate in rates],
                width,
                color=_tint(_colour(index), shade),
                edgecolor=_colour(index),
                label=what,
            )
            axes.bar_label(bars, [format_rate(rate).replace(" events/s", "") for rate in rates], fontsize=7, padding=2)
            if what.startswith("replay"):  # the measured rate gets its confidence interval
                low = [(r - row["events_per_s"]["ci_low"]) / 1e6 for r, row in zip(rates, rows, strict=True)]
                high = [(row["events_per_s"]["ci_high"] - r) / 1e6 for r, row in zip(rates, rows, strict=True)]
                axes.errorbar(
                    [b.get_x() + b.get_width() / 2 for b in bars],
                    [r / 1e6 for r in rates],
                    yerr=[low, high],
                    fmt="none",
                    ecolor="black",
                    capsize=3,
                    linewidth=1,
                )
        axes.set_xticks(list(positions), [_interval_label(int(row["interval"])) for row in rows])
        axes.set_xlabel("snapshot interval k (events)")
        axes.set_ylabel("million events per second")
        axes.margins(y=0.12)  # room for the value labels
        axes.legend(fontsize=8, loc="best")
    return figure


def _snapshot_cost_figure(runset: RunSet) -> Figure:
    figure, panels = _panels(runset, "What snapshots cost, by snapshot interval", columns=2)
    for (overhead_axes, bytes_axes), members in panels:
        ks_all: list[int] = []
        overheads: list[float] = []
        sizes: list[float] = []
        for index in members:
            run, colour, name = runset.runs[index], _colour(index), runset.names[index]
            rows = _snapshot_rows(run)
            ks = [int(row["interval"]) for row in rows]
            ks_all += ks
            stats = [row["overhead_pct"] for row in rows]
            if rows:
                _errorbar(overhead_axes, ks, stats, "o-", colour, name)
                megabytes = [row["snapshot_bytes"] / 1e6 for row in rows]
                bytes_axes.plot(ks, megabytes, "o-", color=colour, label=name)
                sizes += megabytes
                overheads += [s["median"] for s in stats]
        for axes in (overhead_axes, bytes_axes):
            _interval_axis(axes, ks_all)
            if ks_all:
                axes.legend(fontsize=8, loc="best")
        _log_if_wide(overhead_axes, overheads, lambda value: f"{value:g}%")
        overhead_axes.set_ylabel("snapshot time, % of replay time")
        if len(panels) == 1:  # else the run names the panel there
            overhead_axes.set_title("time overhead", fontsize=10)
        bytes_axes.set_ylabel("snapshot bytes written per pass (MB)")
        if len(panels) == 1:  # else the run names the panel there
            bytes_axes.set_title("storage", fontsize=10)
        _log_if_wide(bytes_axes, sizes, lambda value: f"{value:g}")
    return figure


def _frontier_figure(runset: RunSet) -> Figure:
    figure, panels = _panels(runset, "Trade-off: catch-up time against snapshot overhead")
    for (axes,), members in panels:
        times: list[float] = []
        for index in members:
            run, colour, name = runset.runs[index], _colour(index), runset.names[index]
            points = frontier_points(run)
            optimal = [p for p in points if p.pareto]
            axes.plot([p.overhead_pct for p in optimal], [p.catchup_s for p in optimal], "-", color=colour, alpha=0.5)
            for point in points:
                axes.plot(
                    point.overhead_pct,
                    point.catchup_s,
                    "o",
                    markersize=8,
                    color=colour,
                    markerfacecolor=colour if point.pareto else "white",
                )
                axes.annotate(
                    _interval_label(point.interval),
                    (point.overhead_pct, point.catchup_s),
                    textcoords="offset points",
                    xytext=(6, 5),
                    fontsize=8,
                    color=colour,
                )
            axes.plot([], [], "o-", color=colour, label=f"{name}: Pareto-optimal (filled)")
            times += [p.catchup_s for p in points]
        axes.set_xscale("symlog", linthresh=1.0)  # 0% (no snapshots) must stay on the axis
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}%"))
        _log_if_wide(axes, times, format_seconds)
        axes.set_xlabel("snapshot overhead (% of replay time; lower is cheaper)")
        axes.set_ylabel("expected catch-up time (lower is faster)")
        _legend_below(axes)
    return figure


def _staleness_figure(runset: RunSet) -> Figure:
    figure, panels = _panels(runset, "Staleness over time while events keep arriving", columns=2)
    for (seconds_axes, events_axes), members in panels:
        lags_s: list[float] = []
        lags_events: list[float] = []
        periods: list[float] = []
        notes: list[tuple[Any, str]] = []
        for index in members:
            run, colour, name = runset.runs[index], _colour(index), runset.names[index]
            live = run.live or {}
            table = run.timeseries
            if table is not None and table.num_rows:
                t = table.column("t_s").to_pylist()
                lag_s = table.column("lag_s").to_pylist()
                lag_events = table.column("lag_events").to_pylist()
                seconds_axes.plot(t, lag_s, "-", color=colour, linewidth=1.4, label=f"{name}: lag")
                events_axes.plot(t, lag_events, "-", color=colour, linewidth=1.4, label=f"{name}: lag")
                lags_s += lag_s
                lags_events += lag_events
                periods.append(sampling_period(run))
            caught_up_s = live.get("caught_up_s")
            if live.get("caught_up") and caught_up_s is not None:
                label = f"{name}: caught up at {format_seconds(float(caught_up_s))}"
                for axes in (seconds_axes, events_axes):
                    axes.axvline(float(caught_up_s), color=colour, linestyle="--", linewidth=1.2, label=label)
            else:
                prefix = f"{name}: " if len(members) > 1 else ""
                notes.append((colour, prefix + never_caught_up_phrase(live)))
        period = min(periods) if periods else SAMPLING_PERIOD_S
        seconds_axes.axhline(
            period, color="dimgray", linestyle=":", linewidth=1, label=f"sampling period ({format_seconds(period)})"
        )
        # A lag is 0 whenever the projection is at the head, which a log axis cannot show. So
        # symlog, not log: linear below the sampling period (a lag shorter than one sample
        # cannot be told apart from 0 anyway), logarithmic above it; zeros stay on the axis.
        _symlog_if_wide(seconds_axes, [*lags_s, period], period, format_seconds)
        _symlog_if_wide(events_axes, lags_events, 1.0, lambda value: f"{value:,.0f}")
        for number, (colour, text) in enumerate(notes):
            seconds_axes.text(
                0.02,
                0.97 - 0.08 * number,
                text,
                transform=seconds_axes.transAxes,
                va="top",
                ha="left",
                fontsize=8.5,
                color=colour,
                bbox={"facecolor": "white", "edgecolor": colour, "alpha": 0.85, "boxstyle": "round,pad=0.3"},
            )
        for axes in (seconds_axes, events_axes):
            axes.set_xlabel("time since the writers started (s)")
            axes.set_xlim(left=0)
            _legend_below(axes)
        seconds_axes.set_ylabel("lag (s; age of the oldest unapplied event)")
        if len(panels) == 1:  # else the run names the panel there
            seconds_axes.set_title("lag in seconds", fontsize=10)
        events_axes.set_ylabel("lag (events behind the head)")
        if len(panels) == 1:  # else the run names the panel there
            events_axes.set_title("lag in events", fontsize=10)
    return figure


def never_caught_up_phrase(live: dict[str, Any]) -> str:
    """'never caught up within 30 s (lag grows by 1,200 events/s)', from a live run's results."""
    within = live.get("duration_s") or live.get("max_duration_s") or 0.0
    phrase = f"never caught up within {format_seconds(float(within))}"
    growth = live.get("lag_growth_events_per_s")
    if growth is not None:
        phrase += f" (lag grows by {float(growth):,.0f} events/s)"
    return phrase


def sampling_period(run: Run) -> float:
    """How often the run sampled its lag: the median step of its timeseries, else SAMPLING_PERIOD_S."""
    table = run.timeseries
    if table is None or table.num_rows < 2:
        return SAMPLING_PERIOD_S
    times = table.column("t_s").to_pylist()
    steps = sorted(b - a for a, b in zip(times, times[1:], strict=False) if b > a)
    return steps[len(steps) // 2] if steps else SAMPLING_PERIOD_S


@dataclass(frozen=True)
class FrontierPoint:
    interval: int
    overhead_pct: float
    catchup_s: float
    pareto: bool  # no other interval is at least as cheap and as fast, and better in one


def frontier_points(run: Run) -> list[FrontierPoint]:
    """One point per interval: median overhead against median expected catch-up."""
    raw = [
        (int(row["interval"]), row["overhead_pct"]["median"], row["catchup"]["expected"]["catchup_s"]["median"])
        for row in run.summary
    ]
    points = []
    for k, overhead, catchup in raw:
        dominated = any(
            o <= overhead and c <= catchup and (o < overhead or c < catchup) for other, o, c in raw if other != k
        )
        points.append(FrontierPoint(k, overhead, catchup, not dominated))
    return sorted(points, key=lambda p: (p.overhead_pct, p.catchup_s))


_SPECS = (
    _Spec(
        "catchup_vs_interval",
        "Catch-up time by snapshot interval",
        "Lower is better. Each point is the median catch-up (load the latest snapshot, restore, replay the tail) "
        "with its 95% confidence interval; solid = expected tail (k/2), dashed = worst tail (k-1). The dotted "
        "line is a full replay from event 0: the distance below it is what snapshots buy. Where expected and "
        "worst meet, the fixed cost of loading the snapshot dominates the tail.",
        _catchup_figure,
    ),
    _Spec(
        "throughput",
        "Replay throughput by snapshot interval",
        "Higher is better. The first bar is the measured replay rate (median, 95% CI); the others are the rates "
        "fetching alone and applying alone would sustain over the same events. The lower of those two limits the "
        "replay. Snapshot time is left out here; the snapshot cost figure shows it.",
        _throughput_figure,
    ),
    _Spec(
        "snapshot_cost",
        "Snapshot cost by snapshot interval",
        "Lower is cheaper. Left: time spent taking and storing snapshots during a replay, as a percentage of "
        "the replay itself (median, 95% CI). Right: bytes of all snapshots written in one pass over the events. "
        "Both fall roughly as 1/k, until the state itself grows with the events.",
        _snapshot_cost_figure,
    ),
    _Spec(
        "frontier",
        "Trade-off frontier",
        "One point per snapshot interval, labelled with k (0 = no snapshots). Filled points are Pareto-optimal: "
        "no other interval is both cheaper and faster to catch up. Pick among them by the recovery time you "
        "need; a hollow point is beaten on both counts.",
        _frontier_figure,
    ),
    _Spec(
        "staleness",
        "Staleness over time",
        "Lower is fresher. Left: the lag in seconds, the age of the oldest committed event the projection has not "
        "yet applied, sampled every 100 ms from the moment the writers started; right: the same lag counted in "
        "events behind the head. Read three things: the time to the dashed line, where the run reports the "
        "projection caught up; the peak before it; and how far the lag stays above the dotted sampling-period "
        "line afterwards (a lag at or under one sample is as fresh as this sampling can tell). A run that never "
        "caught up says so, with the rate its lag grew.",
        _staleness_figure,
    ),
)


_SPEC_BY_NAME = {spec.name: spec for spec in _SPECS}
assert tuple(_SPEC_BY_NAME) == FIGURE_NAMES


# --- drawing helpers ---------------------------------------------------------------------


Panels = list[tuple[tuple[Axes, ...], list[int]]]  # each row of axes with the run indexes it draws


def _panels(runset: RunSet, title: str, *, by_run: bool = False, columns: int = 1) -> tuple[Figure, Panels]:
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
            axes[0].set_title(_panel_title(runset, members[0]), fontsize=10, loc="left")
        for each in axes:
            each.grid(True, which="major", alpha=0.3)
        panels.append((axes, members))
    return figure, panels


def _panel_title(runset: RunSet, index: int) -> str:
    run = runset.runs[index]
    title = (
        f"{runset.names[index]}: {run.config.get('projection', {}).get('name', '?')} on "
        f"{run.store.get('backend', '?')}, {runset.head(run):,} events"
    )
    if run.is_live and run.live:
        title += f" + {format_rate(float(run.live.get('rate_requested') or 0))} asked"
    return title


def _snapshot_rows(run: Run) -> list[dict[str, Any]]:
    return [row for row in run.summary if int(row["interval"]) > 0]


def _full_replay_s(run: Run) -> float | None:
    return float(run.summary[0]["full_replay_s"]) if run.summary else None


def _errorbar(axes: Axes, ks: list[int], stats: list[dict[str, float]], style: str, colour: Any, label: str) -> None:
    medians = [s["median"] for s in stats]
    low = [max(m - s["ci_low"], 0.0) for m, s in zip(medians, stats, strict=True)]
    high = [max(s["ci_high"] - m, 0.0) for m, s in zip(medians, stats, strict=True)]
    axes.errorbar(ks, medians, yerr=[low, high], fmt=style, color=colour, capsize=3, markersize=5, label=label)


def _interval_axis(axes: Axes, ks: list[int]) -> None:
    """k on x, log when the intervals span a decade or more, ticks exactly at the measured k."""
    axes.set_xlabel("snapshot interval k (events)")
    ticks = sorted(set(ks))
    if not ticks:
        axes.text(
            0.5,
            0.5,
            "no snapshot intervals in this run (k=0 only)",
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
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: _interval_label(int(round(value)))))
    if len(ticks) == 1:
        axes.set_xlim(ticks[0] / 2, ticks[0] * 2)


def _legend_below(axes: Axes) -> None:
    """Under the axes, where it cannot hide a line; two columns keep it short."""
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)


def _log_if_wide(axes: Axes, values: list[float], label: Callable[[float], str]) -> None:
    """Log y when the values span 20x or more, with plain tick labels (10 ms, not 10^-2) either way."""
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) >= 20:
        axes.set_yscale("log")
        axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes.yaxis.set_minor_formatter(NullFormatter())
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: label(value) if value > 0 else "0"))


def _symlog_if_wide(axes: Axes, values: list[float], linthresh: float, label: Callable[[float], str]) -> None:
    """Symlog y (linear up to ``linthresh``, so 0 stays on the axis) when the values above it span 20x or more."""
    positive = [max(v, linthresh) for v in values if v > 0]
    if positive and max(positive) / min(positive) >= 20:
        axes.set_yscale("symlog", linthresh=linthresh, linscale=0.5)
        axes.yaxis.set_minor_formatter(NullFormatter())
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: label(value) if value > 0 else "0"))


def _interval_label(k: int) -> str:
    return "0 (none)" if k == 0 else format_interval(k)


def _colour(index: int) -> Any:
    return _COLOURS[index % len(_COLOURS)]


def _tint(colour: Any, amount: float) -> tuple[float, float, float]:
    """``colour`` mixed with white: 0 keeps it, 1 is white."""
    return tuple(c + (1.0 - c) * amount for c in colour[:3])  # type: ignore[return-value]


def _add_caption(figure: Figure, caption: str) -> None:
    width = figure.get_figwidth() / PANEL_SIZE[0] * _CAPTION_WIDTH
    lines = textwrap.wrap(caption, width=int(width))
    height = (0.17 * len(lines) + 0.15) / figure.get_figheight()
    engine = figure.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):  # always, from _panels; the check is for the type checker
        engine.set(rect=(0.0, height, 1.0, 1.0 - height))
    figure.text(0.01, 0.012, "\n".join(lines), fontsize=8.5, color="#333333", va="bottom", ha="left", wrap=False)


def _encode(figure: Figure, kind: str) -> bytes:
    buffer = io.BytesIO()
    metadata = {"Date": None} if kind == "svg" else {"Software": "catchup"}
    figure.savefig(buffer, format=kind, dpi=PNG_DPI, metadata=metadata)
    return buffer.getvalue()
