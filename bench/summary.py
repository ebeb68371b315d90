"""From raw samples to the per-interval summary of run.json, its warnings, and its table.

Each summary row is one snapshot interval. Timings are stats.Summary objects (median,
IQR, min, max, 95% CI of the median, CV) over the measured repeats; counts that do not
vary between repeats (snapshots taken, bytes, tail events) are their median.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bench.experiment import CASES, SNAPSHOT_PASS, Check
from bench.results import Run, Sample
from bench.stats import Summary, noise_warning, summarize

_TIMED_PASS = (
    "replay_s",
    "fetch_s",
    "apply_s",
    "events_per_s",
    "snapshot_s",
    "snapshot_state_s",
    "snapshot_save_s",
    "overhead_pct",
)
_TIMED_CATCHUP = ("catchup_s", "load_s", "restore_s", "fetch_s", "apply_s")


def build_summary(samples: list[Sample], checks: list[Check], head: int) -> tuple[list[dict[str, Any]], list[str]]:
    values: dict[tuple[int, str, str], list[float]] = defaultdict(list)
    intervals: list[int] = []
    for sample in samples:
        values[(sample.interval, sample.phase, sample.metric)].append(sample.value)
        if sample.interval not in intervals:
            intervals.append(sample.interval)
    verified = {(c.interval, c.case): c.ok for c in checks}
    full_replay = values.get((0, SNAPSHOT_PASS, "replay_s"))
    full_replay_s = summarize(full_replay).median if full_replay else None
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    for interval in intervals:
        stats = {m: summarize(values[(interval, SNAPSHOT_PASS, m)]) for m in _TIMED_PASS}
        row: dict[str, Any] = {
            "interval": interval,
            "head": head,
            "snapshots": _median(values[(interval, SNAPSHOT_PASS, "snapshots")]),
            "snapshot_bytes": _median(values[(interval, SNAPSHOT_PASS, "snapshot_bytes")]),
            **{metric: summary.to_json() for metric, summary in stats.items()},
        }
        # The reference for "against full replay": the k=0 pass when it ran, else this
        # interval's own replay time, which is a full replay with the snapshot time left out.
        reference = full_replay_s if full_replay_s is not None else stats["replay_s"].median
        row["full_replay_s"] = reference
        row["catchup"] = {}
        for case in CASES:
            if interval == 0:  # no snapshots: catching up is the full replay from 0
                entry = {"tail_events": head, "snapshot_position": 0, "catchup_s": stats["replay_s"].to_json()}
                entry["speedup"] = 1.0
            else:
                phase = f"catchup_{case}"
                timed = {m: summarize(values[(interval, phase, m)]) for m in _TIMED_CATCHUP}
                entry = {
                    "tail_events": _median(values[(interval, phase, "tail_events")]),
                    "snapshot_position": _median(values[(interval, phase, "snapshot_position")]),
                    **{metric: summary.to_json() for metric, summary in timed.items()},
                    "speedup": reference / max(timed["catchup_s"].median, 1e-12),
                }
                _warn(warnings, f"catch-up ({case}) at k={interval:,}", timed["catchup_s"])
            entry["verified"] = verified.get((interval, case), verified.get((interval, SNAPSHOT_PASS), True))
            row["catchup"][case] = entry
        row["verified"] = all(ok for (k, _), ok in verified.items() if k == interval)
        if interval > head:
            warnings.append(
                f"k={interval:,} exceeds the head {head:,}: no snapshot is taken, so catching up is a full replay"
            )
        _warn(warnings, f"replay at k={interval:,}", stats["replay_s"])
        if interval:
            _warn(warnings, f"snapshot time at k={interval:,}", stats["snapshot_s"])
        rows.append(row)
    for check in checks:
        if not check.ok:
            warnings.append(divergence_line(check))
    if samples and max(s.repeat for s in samples) == 0:
        warnings.append("one repeat only: no spread or confidence interval; use --repeats 5 or more")
    return rows, warnings


def divergence_line(check: Check) -> str:
    where = "snapshot pass" if check.case == SNAPSHOT_PASS else f"catch-up ({check.case})"
    first = check.differing[0] if check.differing else "no row-level difference found"
    return (
        f"divergence: k={check.interval:,} {where} at position {check.position:,} "
        f"(snapshot {check.snapshot_position:,}) in {check.failed_repeats} repeat(s): "
        f"digest {check.actual_digest[:12]} != full replay {check.expected_digest[:12]}; first difference: {first}"
    )


def _warn(warnings: list[str], what: str, summary: Summary) -> None:
    line = noise_warning(what, summary)
    if line:
        warnings.append(line)


def _median(values: list[float]) -> float:
    return summarize(values).median if values else 0.0


def format_summary(run: Run) -> str:
    """The summary table ``catchup run`` and ``catchup show`` print; a few lines for a live run."""
    if run.is_live:
        return format_live_summary(run)
    config = run.config
    projection = config.get("projection", {})
    lines = [
        f"run {run.run_id}: {projection.get('name', '?')} over {run.store.get('uri', '?')} "
        f"({run.store.get('backend', '?')}, head {int(run.summary[0]['head']) if run.summary else 0:,}), "
        f"{config.get('repeats')} repeat(s) after {config.get('warmup')} warm-up",
    ]
    rss = run.environment.get("peak_rss_bytes")
    if rss:
        lines[0] += f"; peak RSS {rss / 2**20:,.0f} MiB"
    lines.append("")
    header = (
        "interval",
        "snapshots",
        "snap MB",
        "overhead",
        "replay ev/s",
        "fetch s",
        "apply s",
        "catch-up exp s",
        "95% CI",
        "of which load",
        "catch-up worst s",
        "vs full",
        "verified",
    )
    table = [header]
    for row in run.summary:
        expected, worst = row["catchup"]["expected"], row["catchup"]["worst"]
        ci = expected["catchup_s"]
        table.append(
            (
                f"{int(row['interval']):,}" if row["interval"] else "0 (none)",
                f"{int(row['snapshots']):,}",
                f"{row['snapshot_bytes'] / 1e6:.2f}",
                f"{row['overhead_pct']['median']:.1f}%",
                f"{row['events_per_s']['median'] / 1e6:.2f}M",
                f"{row['fetch_s']['median']:.4f}",
                f"{row['apply_s']['median']:.4f}",
                f"{expected['catchup_s']['median']:.4f}",
                f"{ci['ci_low']:.4f}-{ci['ci_high']:.4f}",
                f"{expected['load_s']['median'] + expected['restore_s']['median']:.4f}"
                if "load_s" in expected
                else "-",
                f"{worst['catchup_s']['median']:.4f}",
                f"{expected['speedup']:.1f}x",
                "yes" if row["verified"] else "DIVERGED",
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for number, cells in enumerate(table):
        lines.append("  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(
        "medians over repeats; snap MB = all snapshots written in a pass; overhead = snapshot time / replay time;\n"
        "catch-up = snapshot load and restore + tail replay (expected tail k/2, worst k-1); "
        "vs full = full replay / expected catch-up"
    )
    for warning in run.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)


def format_live_summary(run: Run) -> str:
    """What ``catchup show`` prints for a live run: how it caught up, how stale it was, whether it verified."""
    live = run.live or {}
    model = live.get("model") or {}
    projection = run.config.get("projection", {})
    name = projection.get("name", "?") if isinstance(projection, dict) else projection
    requested, achieved = float(live.get("rate_requested") or 0), float(live.get("rate_achieved") or 0)
    share = f" ({achieved / requested:.0%})" if requested > 0 else ""
    start = (
        f"snapshot at {int(live.get('start_position') or 0):,}" if live.get("start_from") == "snapshot" else "event 0"
    )
    lines = [
        f"live run {run.run_id}: {name} over {run.store.get('uri', '?')} ({run.store.get('backend', '?')}), "
        f"snapshot every {int(live.get('interval') or 0):,} events",
        f"rate: {requested:,.0f} events/s requested, {achieved:,.0f} achieved{share} by {live.get('writers', '?')} "
        f"writer(s); started from {start} (head {int(live.get('start_head') or 0):,}, "
        f"tail {int(live.get('tail_events') or 0):,} events)",
    ]
    if requested > 0 and achieved < 0.9 * requested:
        lines.append("warning: the writers could not keep up; this run measured a lower rate than requested")
    if live.get("caught_up") and live.get("caught_up_s") is not None:
        lines.append(f"caught up at {float(live['caught_up_s']):.3f} s")
    else:
        within = float(live.get("duration_s") or live.get("max_duration_s") or 0)
        growth = live.get("lag_growth_events_per_s")
        grows = f"; lag grows by {float(growth):,.0f} events/s" if growth is not None else ""
        lines.append(f"never caught up within {within:.1f} s{grows}")
    lines.append(
        f"peak lag: {float(live.get('peak_lag_s') or 0):.3f} s ({int(live.get('peak_lag_events') or 0):,} events)"
    )
    after = live.get("lag_after_catchup_s")
    if after:
        lines.append(
            f"lag after catch-up: p50 {after['p50']:.3f} s, p95 {after['p95']:.3f} s, p99 {after['p99']:.3f} s, "
            f"max {after['max']:.3f} s"
        )
    predicted, measured = model.get("predicted_caught_up_s"), model.get("measured_caught_up_s")
    lines.append(
        f"model: replay rate {float(model.get('replay_rate') or 0):,.0f} events/s, predicted "
        + (f"{float(predicted):.3f} s" if predicted is not None else "never (rate >= replay rate)")
        + ", measured "
        + (f"{float(measured):.3f} s" if measured is not None else "never")
    )
    dead, failures = live.get("dead_positions") or [], live.get("writer_failures") or []
    lines.append(
        f"verified: {'yes' if live.get('verified') else 'NO, DIVERGED'}; "
        f"final head {int(live.get('final_head') or 0):,}; "
        f"{len(dead):,} dead position(s); {len(failures):,} writer failure(s)"
    )
    for failure in failures:
        lines.append(f"writer failure: {failure}")
    for warning in run.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)
