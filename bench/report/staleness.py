"""The staleness figure of live runs: the lag over time, in seconds and in events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bench.report.figure_axes import colour_of, legend_below, panel_grid, symlog_if_wide
from bench.results import Run
from bench.results.live import SAMPLE_PERIOD_S
from bench.results.run_set import RunSet
from bench.units import format_seconds


def staleness_figure(runset: RunSet) -> Figure:
    figure, panels = panel_grid(runset, "Staleness over time while events keep arriving", columns=2)
    for (seconds_axes, events_axes), members in panels:
        drawn = [_draw_run(runset, index, seconds_axes, events_axes, len(members) > 1) for index in members]
        lags_s = [lag for run in drawn for lag in run.lags_s]
        lags_events = [lag for run in drawn for lag in run.lags_events]
        periods = [run.period for run in drawn if run.period is not None]
        notes = [(run.colour, run.note) for run in drawn if run.note]
        period = min(periods) if periods else SAMPLE_PERIOD_S
        seconds_axes.axhline(
            period, color="dimgray", linestyle=":", linewidth=1, label=f"sampling period ({format_seconds(period)})"
        )
        # A lag is 0 whenever the projection is at the head, which a log axis cannot show. So
        # symlog, not log: linear below the sampling period (a lag shorter than one sample
        # cannot be told apart from 0 anyway), logarithmic above it; zeros stay on the axis.
        symlog_if_wide(seconds_axes, [*lags_s, period], period, format_seconds)
        symlog_if_wide(events_axes, lags_events, 1.0, lambda value: f"{value:,.0f}")
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
            legend_below(axes)
        seconds_axes.set_ylabel("lag (s; age of the oldest unapplied event)")
        events_axes.set_ylabel("lag (events behind the head)")
        if len(panels) == 1:  # else the run names the panel there
            seconds_axes.set_title("lag in seconds", fontsize=10)
            events_axes.set_title("lag in events", fontsize=10)
    return figure


@dataclass(frozen=True)
class _Drawn:
    """What one run put on a panel, for the axes' scales and the notes drawn over them."""

    colour: Any
    lags_s: list[float]
    lags_events: list[float]
    period: float | None  # its sampling period, when it has a time series
    note: str  # '' when it caught up (a dashed line says so instead)


def _draw_run(runset: RunSet, index: int, seconds_axes: Axes, events_axes: Axes, shared: bool) -> _Drawn:
    run, colour, name = runset.runs[index], colour_of(index), runset.names[index]
    table = run.timeseries
    lags_s: list[float] = []
    lags_events: list[float] = []
    period = None
    if table is not None and table.num_rows:
        t = table.column("t_s").to_pylist()
        lags_s = table.column("lag_s").to_pylist()
        lags_events = table.column("lag_events").to_pylist()
        seconds_axes.plot(t, lags_s, "-", color=colour, linewidth=1.4, label=f"{name}: lag")
        events_axes.plot(t, lags_events, "-", color=colour, linewidth=1.4, label=f"{name}: lag")
        period = sampling_period(run)
    live = run.live
    if live is not None and live.has_caught_up and live.caught_up_s is not None:
        label = f"{name}: caught up at {format_seconds(live.caught_up_s)}"
        for axes in (seconds_axes, events_axes):
            axes.axvline(live.caught_up_s, color=colour, linestyle="--", linewidth=1.2, label=label)
        note = ""
    else:
        note = (f"{name}: " if shared else "") + (live.never_caught_up if live is not None else "never caught up")
    return _Drawn(colour, lags_s, lags_events, period, note)


def sampling_period(run: Run) -> float:
    """How often the run sampled its lag: the median step of its timeseries, else SAMPLE_PERIOD_S."""
    table = run.timeseries
    if table is None or table.num_rows < 2:
        return SAMPLE_PERIOD_S
    times = table.column("t_s").to_pylist()
    steps = sorted(b - a for a, b in zip(times, times[1:], strict=False) if b > a)
    return steps[len(steps) // 2] if steps else SAMPLE_PERIOD_S
