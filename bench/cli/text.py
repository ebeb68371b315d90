"""How summaries read on a terminal: ``catchup show``, ``run``, ``live`` and ``info``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.results import Run
from bench.results.live import CpuWindow, LiveModel
from bench.results.stats import Summary
from bench.results.summary import COLD_SPLIT, SUMMARY_COLUMNS, case_order_note, cold_restarts
from bench.units import format_memory, interval_label, verified_label
from stores.base import StoreInfo


def format_summary(run: Run) -> str:
    """The summary table ``catchup run`` and ``catchup show`` print; a few lines for a live run."""
    if run.live is not None:
        return format_live_summary(run)
    config = run.config
    lines = [
        f"run {run.run_id}: {run.projection_name} over {run.store.get('uri', '?')} "
        f"({run.store.get('backend', '?')}, head {run.summary[0].head if run.summary else 0:,}), "
        f"{config.get('repeats')} repeat(s) after {config.get('warmup')} warm-up",
    ]
    rss = run.environment.get("peak_rss_bytes")
    if rss:
        lines[0] += f"; peak RSS {format_memory(rss)}"
    lines.append("")
    header = tuple(head for column in SUMMARY_COLUMNS for head in _headers(column.terminal, column.kind))
    table = [header]
    for row in run.summary:
        cells: list[str] = []
        for column in SUMMARY_COLUMNS:
            value = column.value(row)
            cells += ["-"] if value is None else _TERMINAL[column.kind](value)
        table.append(tuple(cells))
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for number, cells_of_row in enumerate(table):
        lines.append("  ".join(c.rjust(w) for c, w in zip(cells_of_row, widths, strict=True)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(
        "medians over repeats; snap MB = all snapshots written in a pass; overhead = snapshot time / replay time;\n"
        "catch-up = snapshot load and restore + tail replay (expected tail k/2, worst k-1); "
        "vs full = full replay / expected catch-up"
    )
    lines += [f"note: {note}" for row in run.summary if (note := case_order_note(row)) is not None]
    lines += _cold_lines(run)
    for warning in run.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)


def _cold_lines(run: Run) -> list[str]:
    """Per interval and case with a cold restart: warm against cold catch-up, their ratio, the cold split."""
    lines = []
    for restart in cold_restarts(run.summary):
        cold = restart.cold
        split = ", ".join(f"{label} {part(cold):.4f}" for label, part in COLD_SPLIT)
        lines.append(
            f"  k={restart.interval:,} {restart.case}: warm {restart.warm_s:.4f} s, cold {cold.catchup_s.median:.4f} s "
            f"({restart.ratio:.1f}x); cold split: {split} s{'' if cold.verified else '; DIVERGED'}"
        )
    if not lines:
        return []
    return [
        "",
        "cold restarts (a fresh process, the store's files evicted from the page cache first; medians):",
        *lines,
    ]


def _headers(header: str, kind: str) -> tuple[str, ...]:
    # An estimate takes two cells on a terminal: the median, then its 95% CI.
    return (header, "95% CI") if kind == "estimate" else (header,)


# How each kind of SUMMARY_COLUMNS value reads on a terminal: fixed decimals, aligned in columns.
_TERMINAL: dict[str, Callable[[Any], list[str]]] = {
    "interval": lambda k: [f"{int(k):,}" if k else interval_label(0)],
    "count": lambda value: [f"{int(value):,}"],
    "bytes": lambda value: [f"{value / 1e6:.2f}"],
    "percent": lambda value: [f"{value:.1f}%"],
    "rate": lambda value: [f"{value / 1e6:.2f}M"],
    "seconds": lambda value: [f"{value:.4f}"],
    "estimate": lambda value: _estimate(value),
    "speedup": lambda value: [f"{value:.1f}x"],
    "verified": lambda ok: [verified_label(ok)],
}


def _estimate(value: Summary) -> list[str]:
    return [f"{value.median:.4f}", f"{value.ci_low:.4f}-{value.ci_high:.4f}"]


def format_live_summary(run: Run) -> str:
    """What ``catchup show`` prints for a live run: how it caught up, how stale it was, whether it verified."""
    live = run.live
    assert live is not None, "format_live_summary takes a live run"
    model = live.model
    share = f" ({live.rate_share:.0%})" if live.rate_requested > 0 else ""
    start = f"snapshot at {live.start_position:,}" if live.start_from == "snapshot" else "event 0"
    # A foreign log's positions are not counts: its events are said beside its head.
    counted = f", {live.events_at_start:,} events" if live.events_at_start != live.start_head else ""
    # A run that is no success says so before anything it measured.
    lines = [f"warning: {live.shortfall}"] if live.shortfall else []
    lines += [
        f"live run {run.run_id}: {run.projection_name} over {run.store.get('uri', '?')} "
        f"({run.store.get('backend', '?')}), snapshot every {live.interval:,} events",
        (
            f"rate: {live.rate_achieved:,.0f} events/s arriving, written by the source's own application"
            if live.followed
            else f"rate: {live.rate_requested:,.0f} events/s requested, {live.rate_achieved:,.0f} achieved{share} by "
            f"{live.writers} writer(s)"
        )
        + f"; started from {start} (head {live.start_head:,}{counted}, tail {live.tail_events:,} events)",
    ]
    if live.rate_short:
        lines.append("warning: the writers could not keep up; this run measured a lower rate than requested")
    if live.has_caught_up and live.caught_up_s is not None:
        lines.append(f"caught up at {live.caught_up_s:.3f} s")
    else:
        lines.append(live.never_caught_up)
    lines.append(f"peak lag: {live.peak_lag_s:.3f} s ({live.peak_lag_events:,} events)")
    after = live.lag_after_catchup_s
    if after:
        lines.append(
            f"lag after catch-up: p50 {after.p50:.3f} s, p95 {after.p95:.3f} s, p99 {after.p99:.3f} s, "
            f"max {after.max:.3f} s"
        )
    predicted, measured = model.predicted_caught_up_s, model.measured_caught_up_s
    lines.append(
        f"model: replay rate {model.replay_rate:,.0f} events/s, predicted "
        + (f"{predicted:.3f} s" if predicted is not None else "never (rate >= replay rate)")
        + ", measured "
        + (f"{measured:.3f} s" if measured is not None else "never")
    )
    if model.cpu is not None:
        lines.append(cpu_line(model))
    lines.append(
        f"verified: {'yes' if live.verified else 'NO, DIVERGED'}; final head {live.final_head:,}; "
        f"{len(live.dead_positions):,} dead position(s); {len(live.writer_failures):,} writer failure(s)"
    )
    for failure in live.writer_failures:
        lines.append(f"writer failure: {failure}")
    for warning in run.warnings:
        if warning != live.shortfall:  # already the first line
            lines.append(f"warning: {warning}")
    return "\n".join(lines)


def cpu_line(model: LiveModel) -> str:
    """'model cpu: 2 cores; setup projection 1.00 ...; correction cpu: ...': the split CPU_RULE corrected with."""
    cpu = model.cpu
    assert cpu is not None, "cpu_line takes a model with its CPU split"

    def split(part: CpuWindow) -> str:
        server = "-" if part.server is None else f"{part.server:.2f}"
        return f"projection {part.projection:.2f}, writers {part.writers:.2f}, server {server}, other {part.other:.2f}"

    corrected = model.corrected_caught_up_s
    rate = model.effective_replay_rate
    return (
        f"model cpu: {cpu.cores} cores; setup {split(cpu.setup)}; catch-up {split(cpu.catchup)}; "
        f"correction {model.correction}: replay rate {rate or 0:,.0f} events/s, corrected "
        + (f"{corrected:.3f} s" if corrected is not None else "never")
    )


def format_info(info: StoreInfo) -> str:
    """``catchup info``: a store's description, one labelled line each."""
    details = dict(info.details)
    problems: list[str] = details.pop("problems", [])
    orphan_files, orphan_bytes = details.pop("orphan_files", 0), details.pop("orphan_bytes", 0)
    if problems:
        state = f"NO: damaged ({len(problems):,} problem(s), below); regenerate with --overwrite"
    else:
        state = "yes" if info.complete else "NO: an interrupted or running load; regenerate with --overwrite"
    head = f"{info.head:,}"
    if "highest_position" in details:  # a foreign log: positions are not counts, so both are shown
        events, first = details.pop("events"), details.pop("first_position", 0)
        details.pop("highest_position")
        head = f"{info.head:,} (the highest position; {events:,} events at positions {first:,} to {info.head:,})"
    rows: list[tuple[str, str]] = [
        ("store", info.uri),
        ("backend", f"{info.backend} ({info.layout})"),
        ("complete", state),
        ("head", head),
        ("size", f"{info.size_bytes / 1e6:,.1f} MB ({info.size_bytes:,} bytes)"),
    ]
    if info.fingerprint and "source" in info.fingerprint:
        rows.append(("fingerprint", f"{info.fingerprint.get('id')} (the source's identity: its events and mapping)"))
    elif info.fingerprint:
        fp = info.fingerprint
        params = fp.get("params", {})
        summary = ", ".join(f"{key}={params[key]}" for key in ("events", "accounts", "seed", "skew") if key in params)
        rows.append(("fingerprint", f"{fp.get('id')} ({fp.get('generator')} v{fp.get('version')}: {summary})"))
    if info.currencies:
        rows.append(("currencies", ", ".join(info.currencies)))
    for key, value in details.items():
        rows.append((key.replace("_", " "), ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    rows += [("damage", problem) for problem in problems]
    if orphan_files:
        remedy = "catchup clean STORE" if info.complete else "catchup generate STORE --overwrite"
        rows.append(
            ("orphans", f"{orphan_files:,} unlisted event file(s), {orphan_bytes:,} bytes; remove them with {remedy}")
        )
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
