"""An advice as a terminal table, JSON for machines, or Markdown for a design document."""

from __future__ import annotations

import json
from collections.abc import Callable

from bench.advise.recommend import BINDING, Advice, Candidate, share_text
from bench.units import format_bytes, format_duration, format_interval, format_rate, format_seconds

FORMATS = ("table", "json", "markdown")
MEASURED = "measured"
PREDICTED = "predicted"
NOTE = (
    "staleness = (L + tail/μ_tail) / (1 − λ/μ_tail) while writes continue (expected tail k/2, worst k); "
    "measured worst = a run's worst catch-up, without writes; snapshot CPU = λδ/k of one core"
)


def render(advice: Advice, form: str) -> str:
    """``advice`` as ``form``, one of FORMATS."""
    if form == "json":
        return json.dumps(advice.to_json(), indent=2, ensure_ascii=False)
    if form == "markdown":
        return markdown(advice)
    return table(advice)


def headline(advice: Advice) -> str:
    if advice.interval is None:
        return f"no interval meets the RTO ({advice.binding}: {BINDING[advice.binding]})"
    return f"snapshot every {format_interval(advice.interval)} events ({advice.binding}: {BINDING[advice.binding]})"


def inputs_line(advice: Advice) -> str:
    given = advice.inputs
    parts = [f"RTO {format_seconds(given.rto_s)}", f"rate {format_rate(given.rate)}"]
    if given.peak_rate is not None:
        parts.append(f"peak {format_rate(given.peak_rate)}")
    if given.mtbf_s is not None:
        parts.append(f"a restart every {format_duration(given.mtbf_s)}")
    if given.log_size is not None:
        parts.append(f"log {format_interval(given.log_size)} events")
    parts.append(f"retain {given.retain}")
    if given.storage_budget is not None:
        parts.append(f"storage budget {format_bytes(given.storage_budget)}")
    return ", ".join(parts)


def storage_line(advice: Advice) -> str:
    return (
        f"storage retained: {advice.inputs.retain} × {format_bytes(advice.fit.snapshot_bytes)} = "
        f"{format_bytes(advice.storage_bytes)}, whatever k (one snapshot holds the whole state)"
    )


def _columns(advice: Advice) -> list[tuple[str, Callable[[Candidate], str]]]:
    columns: list[tuple[str, Callable[[Candidate], str]]] = [
        ("k", lambda row: format_interval(row.interval)),
        ("", lambda row: MEASURED if row.measured else PREDICTED),
        ("expected", lambda row: _seconds(row.expected_s)),
        ("worst", lambda row: _seconds(row.worst_s)),
    ]
    if advice.inputs.peak_rate is not None:
        columns.append(("worst at peak", lambda row: _seconds(row.worst_peak_s)))
    columns += [
        ("measured worst", lambda row: "-" if row.measured_worst_s is None else format_seconds(row.measured_worst_s)),
        ("snapshot CPU", lambda row: share_text(row.snapshot_share)),
        ("snapshots/day", lambda row: f"{row.snapshots_per_day:,.0f}"),
        ("meets RTO", lambda row: "yes" if row.meets_rto else "NO"),
        ("", lambda row: "<- recommended" if row.recommended else ""),
    ]
    return columns


def candidate_cells(advice: Advice) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """The candidate table as text cells, (header, rows), for a document that draws its own tables (the report)."""
    columns = _columns(advice)
    header = tuple(name or ("source" if index == 1 else "") for index, (name, _) in enumerate(columns))
    return header, tuple(tuple(cell(row) for _, cell in columns) for row in advice.candidates)


def table(advice: Advice) -> str:
    columns = _columns(advice)
    cells = [tuple(name for name, _ in columns)]
    cells += [tuple(cell(row) for _, cell in columns) for row in advice.candidates]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [
        f"advice: {headline(advice)}",
        f"inputs: {inputs_line(advice)}",
        f"runs: {', '.join(advice.fit.runs)}",
        "",
        *(f"- {reason}" for reason in advice.reasons),
        "",
    ]
    for number, row in enumerate(cells):
        lines.append("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths).rstrip())
    lines += ["", NOTE, storage_line(advice)]
    return "\n".join(lines)


def markdown(advice: Advice) -> str:
    columns = _columns(advice)
    names = [name or ("source" if index == 1 else " ") for index, (name, _) in enumerate(columns)]
    lines = [
        f"**Advice: {headline(advice)}.**",
        "",
        f"Inputs: {inputs_line(advice)}. Runs: {', '.join(f'`{run}`' for run in advice.fit.runs)}.",
        "",
        *(f"- {reason}" for reason in advice.reasons),
        "",
        "| " + " | ".join(names) + " |",
        "|" + "|".join("---" if index == 1 else "---:" for index in range(len(columns))) + "|",
    ]
    for row in advice.candidates:
        values = [cell(row) for _, cell in columns]
        if row.recommended:
            values = [f"**{value}**" if value else value for value in values]
        lines.append("| " + " | ".join(values) + " |")
    lines += ["", NOTE + ".", "", storage_line(advice) + "."]
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "never" if value is None else format_seconds(value)
