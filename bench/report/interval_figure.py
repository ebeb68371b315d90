"""The figure of "Which interval to run": predicted worst-case staleness against k, the RTO, the answer.

Every curve is bench.advise.model.worst_staleness over the fitted line, never a formula of
its own: at the ingest rate λ, at the peak rate when one is given, and at λ = 0, where it
is the fitted catch-up line itself and the measured worst-case catch-ups (taken without
writes) lie on it. An interval meets the RTO where its curves are under the RTO line.
"""

from __future__ import annotations

import math

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bench.advise import model
from bench.advise.fit import Line
from bench.advise.recommend import Advice
from bench.report.figure_axes import PANEL_SIZE, colour_of, interval_axis, legend_below, log_if_wide
from bench.units import format_interval, format_rate, format_seconds

# Artist ids the tests (and an SVG reader) find the figure's parts by.
RTO_GID = "rto"
RECOMMENDED_GID = "recommended"
MEASURED_GID = "measured"
_POINTS = 200  # per curve, evenly spaced in log k


def interval_figure(advice: Advice) -> Figure:
    figure = Figure(figsize=(PANEL_SIZE[0], PANEL_SIZE[1] + 0.9), layout="constrained")
    axes = figure.subplots()
    figure.suptitle("Which interval to run: predicted worst-case staleness by k", fontsize=13, fontweight="bold")
    axes.grid(True, which="major", alpha=0.3)
    line, inputs = advice.fit.line, advice.inputs
    marked = sorted({*advice.fit.measured, *([advice.interval] if advice.interval else [])})
    ks = _spread(min(c.interval for c in advice.candidates) / 2, max(c.interval for c in advice.candidates) * 2)
    values = [inputs.rto_s]
    # Without writes the fitted catch-up line itself; with them the line the advice computes with
    # (replaying at the live runs' μ_w when they were given).
    curves = [("without writes (λ = 0): the fitted catch-up line", 0.0, "-", "dimgray", 1.0, advice.fit.catchup_line)]
    curves.append((f"worst case at λ = {format_rate(inputs.rate)}", inputs.rate, "-", colour_of(0), 2.0, line))
    if inputs.peak_rate is not None:
        curves.append(
            (f"worst case at the peak {format_rate(inputs.peak_rate)}", inputs.peak_rate, "--", colour_of(1), 2.0, line)
        )
    never = []
    for label, rate, style, colour, width, drawn_line in curves:
        drawn = _curve(drawn_line, ks, rate)
        if drawn is None:
            never.append(f"never catches up at {format_rate(rate)} (λ ≥ μ_tail {format_rate(drawn_line.tail_rate)})")
            continue
        axes.plot(ks, drawn, style, color=colour, linewidth=width, label=label)
        values += drawn
    measured = [(c.interval, c.measured_worst_s) for c in advice.candidates if c.measured_worst_s is not None]
    if measured:
        axes.plot(
            [k for k, _ in measured],
            [s for _, s in measured],
            "o",
            color="black",
            markersize=6,
            label="measured worst catch-up (median, no writes)",
            gid=MEASURED_GID,
        )
        values += [s for _, s in measured]
    axes.axhline(
        inputs.rto_s,
        color=colour_of(3),
        linestyle=":",
        linewidth=2,
        label=f"RTO {format_seconds(inputs.rto_s)}",
        gid=RTO_GID,
    )
    if advice.interval is not None:
        axes.axvline(
            advice.interval,
            color=colour_of(2),
            linestyle="--",
            linewidth=1.5,
            label=f"recommended k = {format_interval(advice.interval)}",
            gid=RECOMMENDED_GID,
        )
    else:
        never.append("no interval meets the RTO")
    _notes(axes, never)
    interval_axis(axes, marked or [c.interval for c in advice.candidates])
    axes.set_xlim(ks[0], ks[-1])
    log_if_wide(axes, values, format_seconds)
    axes.set_ylabel("worst-case staleness after a restart")
    legend_below(axes)
    return figure


def _spread(low: float, high: float) -> list[float]:
    """``_POINTS`` intervals from ``low`` to ``high``, evenly spaced on a log axis."""
    low = max(low, 1.0)
    step = (math.log10(high) - math.log10(low)) / (_POINTS - 1)
    return [10 ** (math.log10(low) + step * i) for i in range(_POINTS)]


def _curve(line: Line, ks: list[float], rate: float) -> list[float] | None:
    """The model's worst staleness at each k; None when the projection never catches up at ``rate``."""
    drawn = [model.worst_staleness(line, k, rate) for k in ks]
    return None if any(value is None for value in drawn) else [value for value in drawn if value is not None]


def _notes(axes: Axes, notes: list[str]) -> None:
    for number, text in enumerate(notes):
        axes.text(
            0.02,
            0.97 - 0.08 * number,
            text,
            transform=axes.transAxes,
            va="top",
            fontsize=9,
            color="#cf222e",
        )
