"""What a report says: the question, the answer in brief, setup, results, figures, method.

Written for a reader who never ran catchup: every number carries its unit, every term is
defined once in the method section, and warnings (a divergence, runs over different
datasets, noisy repeats) come before the results they qualify. Live runs (writers
appending while the projection catches up and tails) get their own question, findings,
setup rows, a "Live" results table and the staleness figure; catch-up runs keep theirs,
and a report holding both shows each section with its own runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bench import __version__
from bench.figures import RenderedFigure, frontier_points
from bench.report_document import Alert, Block, Bullets, FigureBlock, Heading, Paragraph, Report, Table
from bench.report_live import LIVE_METHOD, live_alerts, live_findings, live_of, live_question, live_table, start_from
from bench.report_words import (
    NOT_APPLICABLE,
    backend_name,
    interval_label,
    listing,
    named,
    plural,
    projection_name,
    which,
)
from bench.results import Run
from bench.run_set import RunSet, describe_dataset
from bench.units import format_bytes, format_percent, format_rate, format_seconds


def build_report(runset: RunSet, figures: Sequence[RenderedFigure], generated_at: datetime) -> Report:
    blocks: list[Block] = [*_alerts(runset), Heading("The question")]
    blocks += [Paragraph(text) for text in _questions(runset)]
    blocks += [Heading("The answer in brief"), *_findings(runset)]
    blocks += [Heading("Setup"), _setup_table(runset)]
    blocks += [Heading("Results"), *_results_tables(runset)]
    blocks += [Heading("Figures")]
    blocks += [FigureBlock(figure, number) for number, figure in enumerate(figures, start=1)]
    blocks += [Heading("Method"), Bullets(_method(runset))]
    blocks += [Heading("Environment"), _environment_table(runset)]
    return Report(title=_title(runset), byline=_byline(runset, generated_at), blocks=tuple(blocks))


# --- top matter --------------------------------------------------------------------------


def _title(runset: RunSet) -> str:
    if runset.single:
        run = runset.runs[0]
        if run.is_live:
            return (
                f"Live catch-up of {projection_name(run)} from {runset.head(run):,} events at "
                f"{format_rate(live_of(run).get('rate_requested') or 0)} ({backend_name(run)})"
            )
        return f"Catch-up of {projection_name(run)} over {runset.head(run):,} events ({backend_name(run)})"
    if runset.all_live:
        return "Live catch-up compared: " + " vs ".join(runset.names)
    return "Catch-up compared: " + " vs ".join(runset.names)


def _byline(runset: RunSet, generated_at: datetime) -> str:
    runs = ", ".join(run.run_id for run in runset.runs)
    return f"Generated {generated_at:%Y-%m-%d %H:%M} UTC by catchup {__version__} from run{plural(runset.runs)} {runs}."


def _questions(runset: RunSet) -> list[str]:
    catchup, live = runset.catchup_runs, runset.live_runs
    if live is None:
        return [_question(runset)]
    if catchup is None:
        return [live_question(live)]
    return [
        _question(catchup),
        live_question(live),
        f"The catch-up run{plural(catchup.runs)} ({listing(catchup.names)}) answer{'s' if catchup.single else ''} the "
        f"first question, the live run{plural(live.runs)} ({listing(live.names)}) the second.",
    ]


def _question(runset: RunSet) -> str:
    question = (
        f"After a restart or a redeploy, how long does {which(runset)} take to catch up with the event "
        "log, and what does taking a snapshot every k events cost to make that faster? A projection without "
        "snapshots replays every event from 0; with a snapshot every k events it loads the latest snapshot "
        "and replays only the tail after it. Snapshots cost time while the projection runs and storage while "
        "they are kept."
    )
    if not runset.single:
        question += " This report sets " + listing(runset.names) + " side by side."
    return question


def _alerts(runset: RunSet) -> list[Alert]:
    alerts: list[Alert] = []
    divergences = [f"{name}: {w}" for name, run in named(runset) for w in run.warnings if w.startswith("divergence")]
    if divergences:
        alerts.append(
            Alert(
                "error",
                "Divergence: a state caught up from a snapshot differs from the full replay",
                (
                    "The projection is not a pure function of its events, or its snapshot/restore loses state. "
                    "Catch-up from these snapshots would serve wrong read models; fix this before trusting "
                    "any timing below.",
                    *divergences,
                ),
            )
        )
    alerts += live_alerts(runset)
    mismatch = runset.dataset_mismatch()
    if mismatch:
        alerts.append(Alert("error", "Different datasets", (mismatch[0].upper() + mismatch[1:] + ".",)))
    differing = runset.differing_settings()
    if differing:
        alerts.append(
            Alert("note", "What differs between these runs", (listing(differing) + " (marked in the setup table).",))
        )
    others = [
        (f"{name}: {w}" if not runset.single else w)
        for name, run in named(runset)
        for w in run.warnings
        if not w.startswith("divergence")
    ]
    if others:
        alerts.append(
            Alert(
                "warning",
                f"{len(others)} measurement warning{plural(others)}: read the affected numbers with care",
                tuple(others),
            )
        )
    return alerts


# --- the answer in brief -----------------------------------------------------------------


def _findings(runset: RunSet) -> list[Block]:
    if runset.single:
        return [Bullets(tuple(_any_findings(runset.runs[0], runset.head(runset.runs[0]))))]
    blocks: list[Block] = []
    if runset.same_dataset:
        blocks.append(Bullets(tuple(_comparison_findings(runset))))
    for name, run in named(runset):
        blocks += [Heading(name, 3), Bullets(tuple(_any_findings(run, runset.head(run))))]
    return blocks


def _any_findings(run: Run, head: int) -> list[str]:
    return live_findings(run) if run.is_live else run_findings(run, head)


def run_findings(run: Run, head: int) -> list[str]:
    """The few sentences a reviewer needs from one run, each with its numbers."""
    rows = run.summary
    if not rows:
        return ["This run measured nothing (no intervals)."]
    lines = []
    zero = _row(run, 0)
    if zero:
        lines.append(
            f"Replaying all {head:,} events from event 0 takes {format_seconds(zero['replay_s']['median'])} "
            f"({format_rate(zero['events_per_s']['median'])})."
        )
    else:
        lines.append(
            f"No pass without snapshots (k=0) was run; as the full-replay reference this report uses "
            f"{format_seconds(rows[0]['full_replay_s'])}, the first snapshot pass's replay time without its "
            "snapshot time."
        )
    snapshotted = [row for row in rows if 0 < row["interval"] <= head]
    if snapshotted:
        fastest = min(snapshotted, key=lambda row: row["catchup"]["expected"]["catchup_s"]["median"])
        lines.append("Fastest catch-up: " + _interval_sentence(fastest))
        cheapest = min(snapshotted, key=lambda row: row["overhead_pct"]["median"])
        if cheapest is not fastest:
            lines.append("Cheapest snapshots: " + _interval_sentence(cheapest))
        optimal = [interval_label(point.interval) for point in frontier_points(run) if point.pareto]
        lines.append(
            f"Pareto-optimal intervals, from cheapest to fastest (no other is both cheaper and faster): "
            f"{', '.join(optimal)}. "
            "Choose among these by the recovery time you need."
        )
    lines.append(_verification_sentence(run))
    return lines


def _interval_sentence(row: dict[str, Any]) -> str:
    expected, worst = row["catchup"]["expected"], row["catchup"]["worst"]
    return (
        f"a snapshot every {interval_label(row['interval'])} events gives an expected catch-up of "
        f"{format_seconds(expected['catchup_s']['median'])} ({expected['speedup']:.1f}x faster than from 0) and a "
        f"worst case of {format_seconds(worst['catchup_s']['median'])}, for snapshots costing "
        f"{format_percent(row['overhead_pct']['median'])} of replay time and {format_bytes(row['snapshot_bytes'])} "
        "written per pass."
    )


def _verification_sentence(run: Run) -> str:
    checks = run.verification
    failed = [check for check in checks if not check.get("ok", True)]
    if failed:
        return (
            f"Verification FAILED: {len(failed)} of {len(checks)} checked states differ from the full replay "
            "(see the divergence warning above)."
        )
    return (
        f"Verified: all {len(checks)} checked states (each snapshot pass's final state and each catch-up, in every "
        "repeat) equal the full replay's, by digest."
    )


def _comparison_findings(runset: RunSet) -> list[str]:
    """With one dataset, how each run's full replay compares with the first run's."""
    first = runset.runs[0]
    lines = [f"All runs replayed the same {describe_dataset(first, runset.head(first))}."]
    if runset.has_live:
        lines[0] = f"All runs started from the same {describe_dataset(first, runset.head(first))}."
    catchup = runset.catchup_runs
    if catchup is None:
        return lines
    first_name, first = catchup.names[0], catchup.runs[0]
    reference = _full_replay(first)
    for name, run in list(named(catchup))[1:]:
        ratio = _full_replay(run) / max(reference, 1e-12)
        lines.append(
            f"A full replay with {name} takes {format_seconds(_full_replay(run))}, {ratio:.2f}x the time of "
            f"{first_name} ({format_seconds(reference)})."
        )
    return lines


# --- setup, results, environment ---------------------------------------------------------


def _setup_table(runset: RunSet) -> Table:
    fields: list[tuple[str, Any]] = [
        ("store", lambda run: run.store.get("uri", "?")),
        ("backend / layout", lambda run: f"{backend_name(run)} / {run.store.get('layout', '?')}"),
        (
            "events replayed (head)" if not runset.has_live else "events at the start (head)",
            lambda run: f"{runset.head(run):,}",
        ),
        ("dataset", lambda run: describe_dataset(run, runset.head(run))),
        ("projection", lambda run: _projection_line(run)),
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
            ("snapshot interval k", _live_only(lambda live: interval_label(live.get("interval") or 0))),
            ("rate requested", _live_only(lambda live: format_rate(float(live.get("rate_requested") or 0)))),
            ("writers", _live_only(lambda live: str(live.get("writers", "?")))),
            ("start from", _live_only(start_from)),
            ("max duration", _live_only(lambda live: format_seconds(float(live.get("max_duration_s") or 0)))),
        ]
    table = _per_run_table(runset, fields, "")
    # Which run is which always differs, so it goes last and unmarked.
    run_row = ("run", *(f"{run.run_id} ({run.created_at[:19].replace('T', ' ')} UTC)" for run in runset.runs))
    return replace(table, rows=(*table.rows, run_row))


def _catchup_only(value: Any) -> Any:
    return lambda run: NOT_APPLICABLE if run.is_live else value(run)


def _live_only(value: Any) -> Any:
    return lambda run: value(live_of(run)) if run.is_live else NOT_APPLICABLE


def _environment_table(runset: RunSet) -> Table:
    fields: list[tuple[str, Any]] = [
        ("CPU", lambda run: f"{_env(run, 'cpu_model')}, {_env(run, 'logical_cores')} logical cores"),
        ("memory", lambda run: format_bytes(float(_env(run, "memory_bytes", 0)))),
        ("OS", lambda run: _env(run, "os")),
        ("Python", lambda run: f"{_env(run, 'python_implementation')} {_env(run, 'python')}"),
        ("catchup", lambda run: run.config.get("catchup_version", "?")),
        ("git commit", lambda run: _git(run)),
        ("load average at start (1/5/15 min)", lambda run: _load(run)),
        ("peak memory (RSS)", lambda run: format_bytes(float(_env(run, "peak_rss_bytes", 0)))),
        ("libraries", lambda run: ", ".join(f"{k} {v}" for k, v in (_env(run, "packages", {}) or {}).items())),
    ]
    return _per_run_table(
        runset, fields, "Collected automatically at the start of each run; the machine may have been shared."
    )


# Readings taken during a run differ between any two runs; marking them would hide what matters.
_READINGS = frozenset({"load average at start (1/5/15 min)", "peak memory (RSS)"})


def _per_run_table(runset: RunSet, fields: list[tuple[str, Any]], note: str) -> Table:
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


def _results_tables(runset: RunSet) -> list[Block]:
    live = runset.live_runs
    if live is None:
        return _catchup_tables(runset)
    catchup = runset.catchup_runs
    blocks: list[Block] = []
    if catchup is not None:
        blocks += [Heading("Catch-up", 3), *_catchup_tables(catchup)]
    return [*blocks, Heading("Live", 3), live_table(live)]


def _catchup_tables(runset: RunSet) -> list[Block]:
    if runset.single:
        return [_run_table(runset.runs[0])]
    blocks: list[Block] = [_side_by_side(runset)]
    for name, run in named(runset):
        blocks += [Heading(f"{name} in full", 3), _run_table(run)]
    return blocks


def _run_table(run: Run) -> Table:
    header = (
        "k",
        "snapshots",
        "bytes",
        "overhead",
        "replay rate",
        "fetch",
        "apply",
        "expected catch-up [95% CI]",
        "load + restore",
        "worst catch-up",
        "vs full",
        "verified",
    )
    rows = []
    for row in run.summary:
        expected, worst = row["catchup"]["expected"], row["catchup"]["worst"]
        ci = expected["catchup_s"]
        rows.append(
            (
                interval_label(row["interval"]),
                f"{int(row['snapshots']):,}",
                format_bytes(row["snapshot_bytes"]),
                format_percent(row["overhead_pct"]["median"]),
                format_rate(row["events_per_s"]["median"]),
                format_seconds(row["fetch_s"]["median"]),
                format_seconds(row["apply_s"]["median"]),
                f"{format_seconds(ci['median'])} [{format_seconds(ci['ci_low'])} – {format_seconds(ci['ci_high'])}]",
                format_seconds(expected["load_s"]["median"] + expected["restore_s"]["median"])
                if "load_s" in expected
                else "–",
                format_seconds(worst["catchup_s"]["median"]),
                f"{expected['speedup']:.1f}x",
                "yes" if row["verified"] else "DIVERGED",
            )
        )
    return Table(header, tuple(rows), _RESULT_NOTE)


def _side_by_side(runset: RunSet) -> Table:
    metrics = ("expected catch-up", "worst catch-up", "overhead", "bytes")
    header = ("k", *(metric for _ in runset.names for metric in metrics))
    groups = (("", 1), *((name, len(metrics)) for name in runset.names))
    intervals = sorted({int(row["interval"]) for run in runset.runs for row in run.summary})
    rows = []
    for k in intervals:
        cells = [interval_label(k)]
        for run in runset.runs:
            row = _row(run, k)
            if row is None:
                cells += ["not run"] * len(metrics)
                continue
            cells += [
                format_seconds(row["catchup"]["expected"]["catchup_s"]["median"]),
                format_seconds(row["catchup"]["worst"]["catchup_s"]["median"]),
                format_percent(row["overhead_pct"]["median"]),
                format_bytes(row["snapshot_bytes"]),
            ]
        rows.append(tuple(cells))
    note = "Medians; at k=0 the catch-up is the full replay from event 0. Each run's full table follows."
    if not runset.same_dataset:
        note += " The runs replayed different datasets: compare shapes, not values."
    return Table(header, tuple(rows), note, groups=groups)


def _method(runset: RunSet) -> tuple[str, ...]:
    if runset.live_runs is None:
        return _METHOD
    if runset.catchup_runs is None:
        return (*LIVE_METHOD, _METHOD[-1])
    return (*_METHOD[:-1], *LIVE_METHOD, _METHOD[-1])


_METHOD = (
    "Snapshot pass: the projection replays events (0, N] and takes a snapshot at every multiple of k; the time "
    "is split into fetch (inside the event store), apply (inside the projection) and snapshot (the projection's "
    "snapshot() plus the store's durable save).",
    "Catch-up: a fresh projection loads the latest snapshot at or before the head and replays the tail. Expected "
    "case: the head falls halfway between snapshots (tail k/2); worst case: just before the next one (tail k-1).",
    "Verification: every caught-up state and every snapshot pass's final state is compared by digest with an "
    "untimed full replay to the same position; a difference is a divergence and is reported with the first "
    "differing keys.",
    "Statistics: each figure is the median of the measured repeats after warm-up, with a 95% bootstrap "
    "confidence interval of the median (seeded, so a report is reproducible). A coefficient of variation above "
    "10% is flagged as noisy.",
    "All raw values are in each run's samples.parquet; run.json holds the summary, environment and warnings.",
)


# --- small helpers -----------------------------------------------------------------------


def _row(run: Run, k: int) -> dict[str, Any] | None:
    return next((row for row in run.summary if int(row["interval"]) == k), None)


def _full_replay(run: Run) -> float:
    return float(run.summary[0]["full_replay_s"]) if run.summary else 0.0


def _projection_line(run: Run) -> str:
    projection = run.config.get("projection", {})
    return (
        f"{projection.get('name', '?')} v{projection.get('version', '?')} ({projection.get('kind', '?')}, "
        f"{projection.get('class', '?')})"
    )


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
