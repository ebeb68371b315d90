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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from matplotlib.figure import Figure

from bench.report.document import RenderedFigure
from bench.report.figure_axes import (
    add_caption,
    colour_of,
    encode,
    errorbar,
    interval_axis,
    legend_below,
    log_if_wide,
    panel_grid,
    tint,
)
from bench.report.frontier import axis_break_note, frontier_figure
from bench.report.interval_figure import interval_figure
from bench.report.staleness import staleness_figure
from bench.report.words import listing
from bench.results import IntervalSummary, Run
from bench.results.run_set import RunSet
from bench.units import format_rate, format_seconds, interval_label
from stores.errors import InvalidParameter

if TYPE_CHECKING:
    from bench.advise.recommend import Advice

Drawn = TypeVar("Drawn")  # what a figure is drawn from: a RunSet, or an Advice


@dataclass(frozen=True)
class _Spec(Generic[Drawn]):
    name: str
    title: str
    caption: str
    draw: Callable[[Drawn], Figure]
    # Sentences the caption adds for this subject and this drawing: what it left out, how its axes read.
    notes: Callable[[Drawn, Figure], list[str]] = lambda subject, figure: []


CATCHUP_FIGURE_NAMES = ("catchup_vs_interval", "throughput", "snapshot_cost", "frontier")
LIVE_FIGURE_NAMES = ("staleness",)
FIGURE_NAMES = CATCHUP_FIGURE_NAMES + LIVE_FIGURE_NAMES


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
    return [_render(_SPEC_BY_NAME[name], _runs_for(runset, name)) for name in figures_for(runset)]


def render_interval_figure(advice: Advice, subject: str = "") -> RenderedFigure:
    """The figure of the section "Which interval to run", drawn from ``advice`` and encoded as the others are;
    with ``subject`` (one of several answers: a projection's name) named which_interval-<subject>."""
    rendered = _render(INTERVAL_FIGURE, advice)
    if not subject:
        return rendered
    return replace(rendered, name=f"{rendered.name}-{subject}", title=f"{rendered.title}: {subject}")


def _render(spec: _Spec[Drawn], subject: Drawn) -> RenderedFigure:
    figure = spec.draw(subject)
    caption = " ".join([spec.caption, *spec.notes(subject, figure)])
    embedded = encode(figure, "png")
    add_caption(figure, caption)
    png, svg = encode(figure, "png"), encode(figure, "svg")
    return RenderedFigure(spec.name, spec.title, caption, png, svg, embedded)


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
    figure, panels = panel_grid(runset, "Catch-up time after a restart, by snapshot interval")
    for (axes,), members in panels:
        times: list[float] = []
        for index in members:
            run, colour, name = runset.runs[index], colour_of(index), runset.names[index]
            rows = _snapshot_rows(run)
            if rows:
                ks = [row.interval for row in rows]
                for case, style, what in (
                    ("expected", "o-", "expected (tail k/2)"),
                    ("worst", "s--", "worst (tail k-1)"),
                ):
                    stats = [row.case(case).catchup_s for row in rows]
                    errorbar(axes, ks, stats, style, colour, f"{name}: {what}")
                    times += [s.ci_low for s in stats] + [s.ci_high for s in stats]
            full = run.full_replay_s
            if full:
                axes.axhline(full, color=colour, linestyle=":", linewidth=1.5, label=f"{name}: full replay from 0")
                times.append(full)
        interval_axis(axes, [r.interval for i in members for r in _snapshot_rows(runset.runs[i])])
        log_if_wide(axes, times, format_seconds)
        axes.set_ylabel("catch-up time")
        legend_below(axes)
    return figure


def _throughput_figure(runset: RunSet) -> Figure:
    figure, panels = panel_grid(
        runset, "Replay throughput per snapshot interval, split into fetch and apply", by_run=True
    )
    for (axes,), members in panels:
        (index,) = members
        run = runset.runs[index]
        rows = run.summary
        positions = range(len(rows))
        head = run.head
        series = (
            ("replay (fetch + apply)", [row.events_per_s.median for row in rows], 0.0),
            ("fetch alone", [head / max(row.fetch_s.median, 1e-12) for row in rows], 0.55),
            ("apply alone", [head / max(row.apply_s.median, 1e-12) for row in rows], 0.8),
        )
        width = 0.26
        for offset, (what, rates, shade) in zip((-width, 0.0, width), series, strict=True):
            bars = axes.bar(
                [p + offset for p in positions],
                [rate / 1e6 for rate in rates],
                width,
                color=tint(colour_of(index), shade),
                edgecolor=colour_of(index),
                label=what,
            )
            axes.bar_label(bars, [format_rate(rate).replace(" events/s", "") for rate in rates], fontsize=7, padding=2)
            if what.startswith("replay"):  # the measured rate gets its confidence interval
                low = [(r - row.events_per_s.ci_low) / 1e6 for r, row in zip(rates, rows, strict=True)]
                high = [(row.events_per_s.ci_high - r) / 1e6 for r, row in zip(rates, rows, strict=True)]
                axes.errorbar(
                    [b.get_x() + b.get_width() / 2 for b in bars],
                    [r / 1e6 for r in rates],
                    yerr=[low, high],
                    fmt="none",
                    ecolor="black",
                    capsize=3,
                    linewidth=1,
                )
        axes.set_xticks(list(positions), [interval_label(row.interval) for row in rows])
        axes.set_xlabel("snapshot interval k (events)")
        axes.set_ylabel("million events per second")
        axes.margins(y=0.12)  # room for the value labels
        axes.legend(fontsize=8, loc="best")
    return figure


def _snapshot_cost_figure(runset: RunSet) -> Figure:
    figure, panels = panel_grid(runset, "What snapshots cost, by snapshot interval", columns=2)
    for (overhead_axes, bytes_axes), members in panels:
        ks_all: list[int] = []
        overheads: list[float] = []
        sizes: list[float] = []
        for index in members:
            run, colour, name = runset.runs[index], colour_of(index), runset.names[index]
            rows = [row for row in _snapshot_rows(run) if row.interval <= run.head]  # the caption names the rest
            ks = [row.interval for row in rows]
            ks_all += ks
            stats = [row.overhead_pct for row in rows]
            if rows:
                errorbar(overhead_axes, ks, stats, "o-", colour, name)
                megabytes = [row.snapshot_bytes / 1e6 for row in rows]
                bytes_axes.plot(ks, megabytes, "o-", color=colour, label=name)
                sizes += megabytes
                overheads += [s.median for s in stats]
        for axes in (overhead_axes, bytes_axes):
            interval_axis(axes, ks_all, "no interval took a snapshot (each k exceeds the head)")
            if ks_all:
                axes.legend(fontsize=8, loc="best")
        log_if_wide(overhead_axes, overheads, lambda value: f"{value:g}%")
        overhead_axes.set_ylabel("snapshot time, % of replay time")
        if len(panels) == 1:  # else the run names the panel there
            overhead_axes.set_title("time overhead", fontsize=10)
        bytes_axes.set_ylabel("snapshot bytes written per pass (MB)")
        if len(panels) == 1:  # else the run names the panel there
            bytes_axes.set_title("storage", fontsize=10)
        log_if_wide(bytes_axes, sizes, lambda value: f"{value:g}")
        for axes in (overhead_axes, bytes_axes):
            if axes.get_yscale() == "linear":
                axes.set_ylim(bottom=0)  # a cost is never negative: the axis starts at none
    return figure


def _beyond_the_head(runset: RunSet, figure: Figure) -> list[str]:
    """The snapshot-cost caption's sentence naming the intervals it leaves out: larger than the head, no snapshots."""
    parts = []
    for name, run in zip(runset.names, runset.runs, strict=True):
        beyond = [interval_label(row.interval) for row in run.summary if row.interval > run.head]
        if beyond:
            parts.append(f"k={listing(beyond)}{'' if runset.single else f' in {name}'} (head {run.head:,} events)")
    if not parts:
        return []
    return [f"Left out, as no snapshot is taken at an interval larger than the head: {'; '.join(parts)}."]


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
        _beyond_the_head,
    ),
    _Spec(
        "frontier",
        "Trade-off frontier",
        "One point per snapshot interval, labelled with k (0 = no snapshots). Filled points are Pareto-optimal: "
        "no other interval is both cheaper and faster to catch up. Pick among them by the recovery time you "
        "need; a hollow point is beaten on both counts.",
        frontier_figure,
        axis_break_note,
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
        staleness_figure,
    ),
)


INTERVAL_FIGURE: _Spec[Advice] = _Spec(
    "which_interval",
    "Which interval to run",
    "Lower is fresher. The predicted worst-case staleness after a restart just before a snapshot, "
    "(L + k/μ_tail) / (1 − λ/μ_tail) from the fitted catch-up line, against the snapshot interval k (log scale): "
    "thick solid at the ingest rate λ, dashed at the peak rate when one was given, thin grey without writes "
    "(λ = 0), which is the fitted line itself; the black points are the measured worst-case catch-ups (median "
    "over repeats, taken without writes), so they lie on the grey line as far as the fit is good. The dotted "
    "horizontal line is the RTO: an interval meets it where its curves run under it. The vertical dashed line "
    "marks the recommended k (absent when no interval meets the RTO).",
    interval_figure,
)


_SPEC_BY_NAME = {spec.name: spec for spec in _SPECS}
assert tuple(_SPEC_BY_NAME) == FIGURE_NAMES


def _snapshot_rows(run: Run) -> list[IntervalSummary]:
    return [row for row in run.summary if row.interval > 0]
