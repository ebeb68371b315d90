"""The report's tables: setup, environment (settings per run) and the catch-up results.

Settings tables have a row per setting and a column per run, and mark the rows whose
values differ between runs. The results table has the columns of bench.results.summary's
SUMMARY_COLUMNS, the same as ``catchup show`` prints, read in units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bench.report.document import Block, Heading, Table
from bench.report.live import live_only, start_from
from bench.report.words import NOT_APPLICABLE, backend_name, named, rate_requested_cell, writers_cell
from bench.results import Run
from bench.results.run_set import RunSet, describe_dataset
from bench.results.stats import Summary
from bench.results.summary import COLD_SPLIT, SUMMARY_COLUMNS, NoiseCheck, case_order_note, cold_restarts
from bench.units import (
    format_bytes,
    format_memory,
    format_percent,
    format_rate,
    format_seconds,
    interval_label,
    verified_label,
)

Setting = tuple[str, Callable[[Run], Any]]


def setup_table(runset: RunSet) -> Table:
    fields: list[Setting] = [
        ("store", lambda run: run.store.get("uri", "?")),
        ("backend / layout", lambda run: f"{backend_name(run)} / {run.store.get('layout', '?')}"),
        (
            "events replayed (head)" if not runset.has_live else "events at the start (head)",
            lambda run: f"{run.head:,}",
        ),
        ("dataset", describe_dataset),
        ("projection", lambda run: run.projection.line),
    ]
    if runset.has_live and not runset.all_live:
        fields.append(("kind of run", lambda run: "live" if run.is_live else "catch-up"))
    if not runset.all_live:
        fields += [
            (
                "intervals k",
                _catchup_only(lambda run: ", ".join(interval_label(k) for k in run.config.get("intervals", []))),
            ),
            (
                "repeats (after warm-up)",
                _catchup_only(lambda run: f"{run.config.get('repeats')} (after {run.config.get('warmup')})"),
            ),
            ("batch size", _catchup_only(lambda run: f"{run.config.get('batch_size', 0):,} events")),
        ]
    if runset.has_live:
        fields += [
            ("snapshot interval k", live_only(lambda live: interval_label(live.interval))),
            ("rate requested", live_only(rate_requested_cell)),
            ("writers", live_only(writers_cell)),
            ("start from", live_only(start_from)),
            ("max duration", live_only(lambda live: format_seconds(live.max_duration_s))),
        ]
    table = settings_table(runset, fields, "")
    # Which run is which always differs, so it goes last and unmarked.
    run_row = ("run", *(f"{run.run_id} ({run.created_at[:19].replace('T', ' ')} UTC)" for run in runset.runs))
    return replace(table, rows=(*table.rows, run_row))


def _catchup_only(value: Callable[[Run], str]) -> Callable[[Run], str]:
    return lambda run: NOT_APPLICABLE if run.is_live else value(run)


def environment_table(runset: RunSet) -> Table:
    fields: list[Setting] = [
        ("CPU", lambda run: f"{_env(run, 'cpu_model')}, {_env(run, 'logical_cores')} logical cores"),
        ("memory", lambda run: format_memory(float(_env(run, "memory_bytes", 0)))),
        ("OS", lambda run: _env(run, "os")),
        ("Python", lambda run: f"{_env(run, 'python_implementation')} {_env(run, 'python')}"),
        ("catchup", lambda run: run.config.get("catchup_version", "?")),
        ("git commit", _git),
        ("load average at start (1/5/15 min)", _load),
        ("peak memory (RSS)", lambda run: format_memory(float(_env(run, "peak_rss_bytes", 0)))),
        ("libraries", lambda run: ", ".join(f"{k} {v}" for k, v in (_env(run, "packages", {}) or {}).items())),
    ]
    return settings_table(
        runset, fields, "Collected automatically at the start of each run; the machine may have been shared."
    )


# Readings taken during a run differ between any two runs; marking them would hide what matters.
_READINGS = frozenset({"load average at start (1/5/15 min)", "peak memory (RSS)"})


def settings_table(runset: RunSet, fields: list[Setting], note: str) -> Table:
    header = ("", *runset.names) if not runset.single else ("setting", "value")
    rows = tuple((label, *(str(value(run)) for run in runset.runs)) for label, value in fields)
    # A setting one kind of run does not have ("–") differs only if the runs that have it differ.
    differs = frozenset(
        i
        for i, row in enumerate(rows)
        if not runset.single and row[0] not in _READINGS and len(set(row[1:]) - {NOT_APPLICABLE}) > 1
    )
    if differs:
        note = (note + " " if note else "") + "Marked rows differ between the runs."
    return Table(header, rows, note, differs, settings=True)


_RESULT_NOTE = (
    "Medians over the measured repeats. Catch-up = load the latest snapshot + restore + replay the tail "
    "(expected tail k/2, worst k-1); [95% CI] = bootstrap confidence interval of the expected median; "
    "overhead = snapshot time / replay time; bytes = all snapshots written in one pass; "
    "vs full = full replay / expected catch-up."
)


def catchup_tables(runset: RunSet) -> list[Block]:
    if runset.single:
        return _run_tables(runset.runs[0], "Cold restarts")
    blocks: list[Block] = [_side_by_side(runset)]
    for name, run in named(runset):
        blocks += [Heading(f"{name} in full", 3), *_run_tables(run, f"{name}: cold restarts")]
    return blocks


def _run_tables(run: Run, cold_heading: str) -> list[Block]:
    """A run's results table, and its cold restarts under ``cold_heading`` where they were measured."""
    blocks: list[Block] = [_run_table(run)]
    cold = cold_table(run)
    if cold is not None:
        blocks += [Heading(cold_heading, 3), cold]
    return blocks


_COLD_NOTE = (
    "Medians. Cold: a fresh process (catchup run --cold) catches up after the store's files were evicted from "
    "the page cache, timed from its start to caught-up; warm: the same case in the process that wrote the "
    "snapshots. The split: interpreter start, imports (catchup and the projection), store open, snapshot load, "
    "restore, tail replay. Evicted: what the eviction dropped before each restart (Postgres: nothing a client "
    "can drop; see the warnings)."
)


def cold_table(run: Run) -> Table | None:
    """Warm against cold catch-up, their ratio and the cold split, per interval and case; None if none was measured."""
    rows = [
        (
            interval_label(restart.interval),
            restart.case,
            format_seconds(restart.warm_s),
            format_seconds(restart.cold.catchup_s.median),
            f"{restart.ratio:.1f}x",
            *(format_seconds(part(restart.cold)) for _, part in COLD_SPLIT),
            format_bytes(restart.cold.evicted_bytes),
            verified_label(restart.cold.verified),
        )
        for restart in cold_restarts(run.summary)
    ]
    if not rows:
        return None
    header = ("k", "case", "warm", "cold", "cold / warm", *(label for label, _ in COLD_SPLIT), "evicted", "verified")
    return Table(header, tuple(rows), _COLD_NOTE)


def noise_table(noisy: list[tuple[str, NoiseCheck]], single: bool) -> Table:
    """The noisy measurements (run name, check), as given: which, how much their repeats disagree, the median."""
    header = ("measurement", *(() if single else ("run",)), "CV", "repeats", "median [95% CI]")
    rows = tuple(
        (
            check.what,  # first: text, as the warnings and the report's top line name it
            *(() if single else (name,)),
            f"{check.summary.cv:.1%}",
            str(check.summary.n),
            _estimate(check.summary),
        )
        for name, check in noisy
    )
    note = "CV = standard deviation / mean of the repeats; the median and its bootstrap 95% CI as in the results."
    return Table(header, rows, note)


def _estimate(value: Summary) -> str:
    return f"{format_seconds(value.median)} [{format_seconds(value.ci_low)} – {format_seconds(value.ci_high)}]"


# How each kind of SUMMARY_COLUMNS value reads in a report: in units.
_IN_UNITS: dict[str, Callable[[Any], str]] = {
    "interval": interval_label,
    "count": lambda value: f"{int(value):,}",
    "bytes": format_bytes,
    "percent": format_percent,
    "rate": format_rate,
    "seconds": format_seconds,
    "estimate": _estimate,
    "speedup": lambda value: f"{value:.1f}x",
    "verified": verified_label,
}


def _run_table(run: Run) -> Table:
    header = tuple(column.report for column in SUMMARY_COLUMNS)
    rows = tuple(
        tuple(
            NOT_APPLICABLE if (value := column.value(row)) is None else _IN_UNITS[column.kind](value)
            for column in SUMMARY_COLUMNS
        )
        for row in run.summary
    )
    notes = [f" Note, {note}." for row in run.summary if (note := case_order_note(row)) is not None]
    return Table(header, rows, _RESULT_NOTE + "".join(notes))


def _side_by_side(runset: RunSet) -> Table:
    metrics = ("expected catch-up", "worst catch-up", "overhead", "bytes")
    header = ("k", *(metric for _ in runset.names for metric in metrics))
    groups = (("", 1), *((name, len(metrics)) for name in runset.names))
    intervals = sorted({row.interval for run in runset.runs for row in run.summary})
    rows = []
    for k in intervals:
        cells = [interval_label(k)]
        for run in runset.runs:
            row = run.interval(k)
            if row is None:
                cells += ["not run"] * len(metrics)
                continue
            cells += [
                format_seconds(row.expected.catchup_s.median),
                format_seconds(row.worst.catchup_s.median),
                format_percent(row.overhead_pct.median),
                format_bytes(row.snapshot_bytes),
            ]
        rows.append(tuple(cells))
    note = "Medians; at k=0 the catch-up is the full replay from event 0. Each run's full table follows."
    if not runset.same_dataset:
        note += " The runs replayed different datasets: compare shapes, not values."
    return Table(header, tuple(rows), note, groups=groups)


def _env(run: Run, key: str, default: Any = "?") -> Any:
    value = run.environment.get(key)
    return default if value is None else value


def _git(run: Run) -> str:
    git = run.environment.get("git") or {}
    if not git.get("commit"):
        return "not a git checkout"
    return f"{git['commit'][:12]}{' (uncommitted changes)' if git.get('dirty') else ''}"


def _load(run: Run) -> str:
    load = run.environment.get("load_average")
    return " / ".join(f"{value:.2f}" for value in load) if load else "?"
