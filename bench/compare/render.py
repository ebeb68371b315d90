"""A comparison as a terminal table, JSON for machines, or Markdown for a pull-request comment."""

from __future__ import annotations

import json
import math
from typing import Any

from bench.compare.judge import METRICS, SLOWER, VERDICTS, CompareResult, Finding, Side
from bench.results import Run
from bench.units import format_interval, format_percent, format_rate, format_seconds

FORMATS = ("table", "json", "markdown")
HEADER = ("projection", "k", "measurement", "baseline", "current", "time ratio [95% CI]", "p", "verdict")
TEST = "Mann-Whitney U, two-sided"


def threshold_text(threshold: float) -> str:
    """0.1 -> '10%', 0.075 -> '7.5%': as the user typed it, not rounded to a whole percent."""
    return f"{threshold * 100:g}%"


def render(result: CompareResult, form: str, exit_code: int) -> str:
    """``result`` as ``form`` (one of FORMATS); JSON records ``exit_code``, the gate's exit for a machine reading it."""
    if form == "json":
        return json.dumps(to_json(result, exit_code), indent=2)
    if form == "markdown":
        return markdown(result)
    return table(result)


def method_line(result: CompareResult) -> str:
    settings = result.settings
    threshold = threshold_text(settings.threshold)
    return (
        f"{TEST} (alpha {settings.alpha:g}) on each run's raw repeats; time ratio = current / baseline median "
        f"(a rate inverted, so above 1 is slower), with a bootstrap 95% CI; threshold {threshold}"
    )


def outcome_line(result: CompareResult) -> str:
    threshold = threshold_text(result.settings.threshold)
    counts = ", ".join(
        f"{len(result.with_verdict(verdict))} {verdict}"
        for verdict in VERDICTS
        if verdict != SLOWER and result.with_verdict(verdict)
    )
    regressions = result.regressions
    if not regressions:
        return f"no measurement is significantly slower beyond {threshold} ({counts})"
    named = "; ".join(
        f"{f.projection} k={format_interval(f.interval)} {f.measurement} {_ratio(f.slowdown)}x" for f in regressions
    )
    rest = f"; {counts}" if counts else ""
    return f"{len(regressions)} slower beyond {threshold}: {named}{rest}"


# -- table ----------------------------------------------------------------------------------------


def table(result: CompareResult) -> str:
    lines = [
        f"baseline  {describe_side(result.baseline)}",
        f"current   {describe_side(result.current)}",
        method_line(result),
        "",
    ]
    rows = [HEADER, *(_cells(finding) for finding in result.findings)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    right = {1, 3, 4, 5, 6}
    for row in rows:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    lines += [f"note: {note}" for note in result.notes]
    too_few = result.too_few_message()
    if too_few:
        lines.append(f"note: {too_few}")
    lines.append(f"result: {outcome_line(result)}")
    return "\n".join(lines)


def describe_side(side: Side) -> str:
    return f"{side.given}: " + "; ".join(_describe_run(run) for run in side.runs)


def _describe_run(run: Run) -> str:
    git = run.environment.get("git") or {}
    commit = str(git.get("commit") or "no commit")[:10] + (" dirty" if git.get("dirty") else "")
    return f"{run.projection_name} {run.run_id} (commit {commit}, {run.config.get('repeats')} repeats)"


def _cells(finding: Finding) -> tuple[str, ...]:
    stats = finding.stats
    low, high = finding.slowdown_ci
    return (
        finding.projection,
        format_interval(finding.interval),
        finding.measurement,
        _value(finding.metric, stats.baseline_median),
        _value(finding.metric, stats.current_median),
        f"{_ratio(finding.slowdown)} [{_ratio(low)}–{_ratio(high)}]",
        f"{stats.p_value:.2g}",
        finding.verdict,
    )


def _value(metric: str, value: float) -> str:
    if metric == "events_per_s":
        return format_rate(value)
    if metric == "overhead_pct":
        return format_percent(value)
    return format_seconds(value)


def _ratio(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.2f}"


# -- markdown -------------------------------------------------------------------------------------


def markdown(result: CompareResult) -> str:
    threshold = threshold_text(result.settings.threshold)
    title = (
        f"### catchup compare: {len(result.regressions)} slower beyond {threshold}"
        if result.regressions
        else f"### catchup compare: no regression beyond {threshold}"
    )
    lines = [
        title,
        "",
        f"**Baseline** {_md(describe_side(result.baseline))}  ",
        f"**Current** {_md(describe_side(result.current))}",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for finding in result.findings:
        cells = [_md(cell) for cell in _cells(finding)]
        if finding.verdict == SLOWER:
            cells[-1] = f"**{cells[-1]}**"
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"**Result:** {_md(outcome_line(result))}.", "", f"_{_md(method_line(result))}._"]
    notes = [*result.notes, *filter(None, [result.too_few_message()])]
    if notes:
        lines += ["", "Notes:", *(f"- {_md(note)}" for note in notes)]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("_", "\\_").replace("*", "\\*")


# -- json -----------------------------------------------------------------------------------------


def to_json(result: CompareResult, exit_code: int) -> dict[str, Any]:
    settings = result.settings
    return {
        "baseline": _side_json(result.baseline),
        "current": _side_json(result.current),
        "settings": {
            "threshold": settings.threshold,
            "alpha": settings.alpha,
            "metrics": list(settings.metrics),
            "forced": settings.force,
            "test": TEST,
            "ratio_ci": "percentile bootstrap, 95%, 2000 resamples, seeded",
        },
        "comparisons": [_finding_json(finding) for finding in result.findings],
        "counts": {verdict: len(result.with_verdict(verdict)) for verdict in VERDICTS},
        "notes": list(result.notes) + list(filter(None, [result.too_few_message()])),
        "result": outcome_line(result),
        "exit_code": exit_code,
    }


def _side_json(side: Side) -> dict[str, Any]:
    return {"given": side.given, "runs": [_run_json(run) for run in side.runs]}


def _run_json(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "path": str(run.path) if run.path else None,
        "projection": run.projection_name,
        "created_at": run.created_at,
        "git": run.environment.get("git"),
        "repeats": run.config.get("repeats"),
    }


def _finding_json(finding: Finding) -> dict[str, Any]:
    stats = finding.stats
    return {
        "projection": finding.projection,
        "interval": finding.interval,
        "phase": finding.phase,
        "metric": finding.metric,
        "higher_is_better": METRICS[finding.metric].higher_is_better,
        "baseline": {"n": len(stats.baseline), "median": stats.baseline_median, "values": list(stats.baseline)},
        "current": {"n": len(stats.current), "median": stats.current_median, "values": list(stats.current)},
        "ratio": _finite(stats.ratio),
        "time_ratio": _finite(finding.slowdown),
        "time_ratio_ci": [_finite(value) for value in finding.slowdown_ci],
        "p_value": stats.p_value,
        "smallest_p": stats.smallest_p,
        "verdict": finding.verdict,
    }


def _finite(value: float) -> float | str:
    return value if math.isfinite(value) else "inf"
