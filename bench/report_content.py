"""What a report says: the question, the answer in brief, setup, results, figures, method.

Written for a reader who never ran catchup: every number carries its unit, every term is
defined once in the method section, and warnings (a divergence, runs over different
datasets, noisy repeats) come before the results they qualify.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bench import __version__
from bench.figures import RenderedFigure, frontier_points
from bench.report_document import Alert, Block, Bullets, FigureBlock, Heading, Paragraph, Report, Table
from bench.results import Run
from bench.run_set import RunSet, describe_dataset
from bench.units import format_bytes, format_interval, format_percent, format_rate, format_seconds


def build_report(runset: RunSet, figures: Sequence[RenderedFigure], generated_at: datetime) -> Report:
    blocks: list[Block] = [*_alerts(runset), Heading("The question"), Paragraph(_question(runset))]
    blocks += [Heading("The answer in brief"), *_findings(runset)]
    blocks += [Heading("Setup"), _setup_table(runset)]
    blocks += [Heading("Results"), *_results_tables(runset)]
    blocks += [Heading("Figures")]
    blocks += [FigureBlock(figure, number) for number, figure in enumerate(figures, start=1)]
    blocks += [Heading("Method"), Bullets(_METHOD)]
    blocks += [Heading("Environment"), _environment_table(runset)]
    return Report(title=_title(runset), byline=_byline(runset, generated_at), blocks=tuple(blocks))


# --- top matter --------------------------------------------------------------------------


def _title(runset: RunSet) -> str:
    if runset.single:
        run = runset.runs[0]
        return f"Catch-up of {_projection(run)} over {runset.head(run):,} events ({_backend(run)})"
    return "Catch-up compared: " + " vs ".join(runset.names)


def _byline(runset: RunSet, generated_at: datetime) -> str:
    runs = ", ".join(run.run_id for run in runset.runs)
    return f"Generated {generated_at:%Y-%m-%d %H:%M} UTC by catchup {__version__} from run{_s(runset.runs)} {runs}."


def _question(runset: RunSet) -> str:
    projections = sorted({_projection(run) for run in runset.runs})
    which = f"the {projections[0]} projection" if len(projections) == 1 else f"the {_listing(projections)} projections"
    question = (
        f"After a restart or a redeploy, how long does {which} take to catch up with the event "
        "log, and what does taking a snapshot every k events cost to make that faster? A projection without "
        "snapshots replays every event from 0; with a snapshot every k events it loads the latest snapshot "
        "and replays only the tail after it. Snapshots cost time while the projection runs and storage while "
        "they are kept."
    )
    if not runset.single:
        question += " This report sets " + _listing(runset.names) + " side by side."
    return question


def _alerts(runset: RunSet) -> list[Alert]:
    alerts: list[Alert] = []
    divergences = [f"{name}: {w}" for name, run in _named(runset) for w in run.warnings if w.startswith("divergence")]
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
    mismatch = runset.dataset_mismatch()
    if mismatch:
        alerts.append(Alert("error", "Different datasets", (mismatch[0].upper() + mismatch[1:] + ".",)))
    differing = runset.differing_settings()
    if differing:
        alerts.append(
            Alert("note", "What differs between these runs", (_listing(differing) + " (marked in the setup table).",))
        )
    others = [
        (f"{name}: {w}" if not runset.single else w)
        for name, run in _named(runset)
        for w in run.warnings
        if not w.startswith("divergence")
    ]
    if others:
        alerts.append(
            Alert(
                "warning",
                f"{len(others)} measurement warning{_s(others)}: read the affected numbers with care",
                tuple(others),
            )
        )
    return alerts


# --- the answer in brief -----------------------------------------------------------------


def _findings(runset: RunSet) -> list[Block]:
    if runset.single:
        return [Bullets(tuple(run_findings(runset.runs[0], runset.head(runset.runs[0]))))]
    blocks: list[Block] = []
    if runset.same_dataset:
        blocks.append(Bullets(tuple(_comparison_findings(runset))))
    for name, run in _named(runset):
        blocks += [Heading(name, 3), Bullets(tuple(run_findings(run, runset.head(run))))]
    return blocks


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
        optimal = [_k(point.interval) for point in frontier_points(run) if point.pareto]
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
        f"a snapshot every {_k(row['interval'])} events gives an expected catch-up of "
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
    first_name, first = runset.names[0], runset.runs[0]
    reference = _full_replay(first)
    lines = [f"All runs replayed the same {describe_dataset(first, runset.head(first))}."]
    for name, run in list(_named(runset))[1:]:
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
        ("backend / layout", lambda run: f"{_backend(run)} / {run.store.get('layout', '?')}"),
        ("events replayed (head)", lambda run: f"{runset.head(run):,}"),
        ("dataset", lambda run: describe_dataset(run, runset.head(run))),
        ("projection", lambda run: _projection_line(run)),
        ("intervals k", lambda run: ", ".join(_k(k) for k in run.config.get("intervals", []))),
        ("repeats (after warm-up)", lambda run: f"{run.config.get('repeats')} (after {run.config.get('warmup')})"),
        ("batch size", lambda run: f"{run.config.get('batch_size', 0):,} events"),
    ]
    table = _per_run_table(runset, fields, "")
    # Which run is which always differs, so it goes last and unmarked.
    run_row = ("run", *(f"{run.run_id} ({run.created_at[:19].replace('T', ' ')} UTC)" for run in runset.runs))
    return replace(table, rows=(*table.rows, run_row))


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
    differs = frozenset(
        i for i, row in enumerate(rows) if not runset.single and row[0] not in _READINGS and len(set(row[1:])) > 1
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
    if runset.single:
        return [_run_table(runset.runs[0])]
    blocks: list[Block] = [_side_by_side(runset)]
    for name, run in _named(runset):
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
                _k(row["interval"]),
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
        cells = [_k(k)]
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


def _named(runset: RunSet) -> zip[tuple[str, Run]]:
    return zip(runset.names, runset.runs, strict=True)


def _row(run: Run, k: int) -> dict[str, Any] | None:
    return next((row for row in run.summary if int(row["interval"]) == k), None)


def _full_replay(run: Run) -> float:
    return float(run.summary[0]["full_replay_s"]) if run.summary else 0.0


def _k(k: int | float) -> str:
    return "0 (none)" if int(k) == 0 else format_interval(int(k))


def _projection(run: Run) -> str:
    return str(run.config.get("projection", {}).get("name", "?"))


def _projection_line(run: Run) -> str:
    projection = run.config.get("projection", {})
    return (
        f"{projection.get('name', '?')} v{projection.get('version', '?')} ({projection.get('kind', '?')}, "
        f"{projection.get('class', '?')})"
    )


def _backend(run: Run) -> str:
    backend = str(run.store.get("backend", "?"))
    return {"parquet": "Parquet", "postgres": "Postgres"}.get(backend, backend)


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


def _listing(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _s(items: Sequence[object]) -> str:
    return "" if len(items) == 1 else "s"
