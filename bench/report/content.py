"""What a report says: the question, the answer in brief, setup, results, figures, method.

Written for a reader who never ran catchup: every number carries its unit, every term is
defined once in the method section, and warnings (a divergence, runs over different
datasets) come before the results they qualify. Noisy repeats get one line there, out of
the way of the answer, and their full list a folded section near the end. Live runs (writers
appending while the projection catches up and tails) get their own question, findings,
setup rows, a "Live" results table and the staleness figure; catch-up runs keep theirs,
and a report holding both shows each section with its own runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bench import __version__
from bench.report.document import (
    Alert,
    Block,
    Bullets,
    Collapsed,
    FigureBlock,
    Heading,
    Paragraph,
    RenderedFigure,
    Report,
)
from bench.report.frontier import frontier_points
from bench.report.interval import IntervalSection, interval_blocks
from bench.report.live import (
    LIVE_METHOD,
    live_alerts,
    live_findings,
    live_question,
    live_shortfall_alerts,
    live_table,
)
from bench.report.tables import catchup_tables, environment_table, noise_table, setup_table
from bench.report.words import agree, backend_name, listing, named, plural, which
from bench.results import IntervalSummary, Run
from bench.results.run_set import RunSet, describe_dataset
from bench.results.stats import NOISE_CV, NOISE_PREFIX, is_noisy
from bench.results.summary import NoiseCheck
from bench.units import format_bytes, format_percent, format_rate, format_seconds, interval_label


def build_report(
    runset: RunSet,
    figures: Sequence[RenderedFigure],
    generated_at: datetime,
    interval: IntervalSection | None = None,
    interval_figures: Sequence[RenderedFigure] = (),
) -> Report:
    """The report's blocks; with ``interval`` (advise's answers) the section "Which interval to run" and its figures."""
    blocks: list[Block] = [*_alerts(runset), Heading("The question")]
    blocks += [Paragraph(text) for text in _questions(runset)]
    blocks += [Heading("The answer in brief"), *_findings(runset)]
    first = 1
    if interval is not None:  # the decision the findings lead to, before the details; its figure is read first
        blocks += interval_blocks(interval, interval_figures, first)
        first += len(interval_figures)
    blocks += [Heading("Setup"), setup_table(runset)]
    blocks += [Heading("Results"), *_results_tables(runset)]
    blocks += [Heading("Figures")]
    blocks += [FigureBlock(figure, number) for number, figure in enumerate(figures, start=first)]
    blocks += [Heading("Method"), Bullets(_method(runset))]
    blocks += _noise_section(runset)
    blocks += [Heading("Environment"), environment_table(runset)]
    return Report(title=_title(runset), byline=_byline(runset, generated_at), blocks=tuple(blocks))


# --- top matter --------------------------------------------------------------------------


def _title(runset: RunSet) -> str:
    if runset.single:
        run = runset.runs[0]
        if run.live is not None:
            return (
                f"Live catch-up of {run.projection_name} from {run.head:,} events at "
                f"{run.live.load} ({backend_name(run)})"
            )
        return f"Catch-up of {run.projection_name} over {run.head:,} events ({backend_name(run)})"
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
        f"After a restart or a redeploy, how long {agree(runset, 'does', 'do')} {which(runset)} take to catch up "
        "with the event log, and what does taking a snapshot every k events cost to make that faster? A projection "
        "without snapshots replays every event from 0; with a snapshot every k events it loads the latest snapshot "
        "and replays only the tail after it. Snapshots cost time while the projection runs and storage while they "
        "are kept."
    )
    if not runset.single:
        question += " This report sets " + listing(runset.names) + " side by side."
    return question


def _alerts(runset: RunSet) -> list[Alert]:
    alerts: list[Alert] = live_shortfall_alerts(runset)  # first: a failed live run measured nothing asked for
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
        if not w.startswith(("divergence", NOISE_PREFIX)) and not (run.live is not None and w == run.live.shortfall)
    ]
    if others:
        alerts.append(
            Alert(
                "warning",
                f"{len(others)} measurement warning{plural(others)}: read the affected numbers with care",
                tuple(others),
            )
        )
    noisy, checked = _noisy(runset)
    if noisy:  # one line here, out of the way of the answer; the list is near the end
        name, worst = noisy[0]
        where = worst.what if runset.single else f"{worst.what} in {name}"
        alerts.append(
            Alert(
                "warning",
                f"Noise: {len(noisy)} of {checked} measurements vary by more than {NOISE_CV:.0%} over their repeats "
                f"(CV); the noisiest is {where}, at CV {worst.summary.cv:.1%}. The full list is under "
                f"{_NOISE_HEADING}, near the end.",
            )
        )
    return alerts


_NOISE_HEADING = "Noisy measurements"


def _noisy(runset: RunSet) -> tuple[list[tuple[str, NoiseCheck]], int]:
    """The noisy measurements (run name, check), noisiest first, and how many measurements were checked."""
    checks = [(name, check) for name, run in named(runset) for row in run.summary for check in row.noise_checks()]
    noisy = [(name, check) for name, check in checks if is_noisy(check.summary)]
    return sorted(noisy, key=lambda item: -item[1].summary.cv), len(checks)


def _noise_section(runset: RunSet) -> list[Block]:
    noisy, checked = _noisy(runset)
    if not noisy:
        return []
    return [
        Heading(_NOISE_HEADING),
        Paragraph(
            f"A measurement is noisy when the coefficient of variation of its repeats (standard deviation / mean) "
            f"is above {NOISE_CV:.0%}: the repeats disagree, so its median is less certain. More --repeats, or a "
            "quieter machine, would settle it."
        ),
        Collapsed(
            f"{len(noisy)} of {checked} measurements noisy, noisiest first",
            (noise_table(noisy, runset.single),),
        ),
    ]


# --- the answer in brief -----------------------------------------------------------------


def _findings(runset: RunSet) -> list[Block]:
    if runset.single:
        return [Bullets(tuple(_any_findings(runset.runs[0])))]
    blocks: list[Block] = []
    if runset.same_dataset:
        blocks.append(Bullets(tuple(_comparison_findings(runset))))
    for name, run in named(runset):
        blocks += [Heading(name, 3), Bullets(tuple(_any_findings(run)))]
    return blocks


def _any_findings(run: Run) -> list[str]:
    return live_findings(run) if run.is_live else run_findings(run)


def run_findings(run: Run) -> list[str]:
    """The few sentences a reviewer needs from one run, each with its numbers."""
    rows, head = run.summary, run.head
    if not rows:
        return ["This run measured nothing (no intervals)."]
    lines = []
    zero = run.interval(0)
    if zero:
        lines.append(
            f"Replaying all {head:,} events from event 0 takes {format_seconds(zero.replay_s.median)} "
            f"({format_rate(zero.events_per_s.median)})."
        )
    else:
        lines.append(
            f"No pass without snapshots (k=0) was run; as the full-replay reference this report uses "
            f"{format_seconds(rows[0].full_replay_s)}, the first snapshot pass's replay time without its "
            "snapshot time."
        )
    snapshotted = [row for row in rows if 0 < row.interval <= head]
    if snapshotted:
        fastest = min(snapshotted, key=lambda row: row.expected.catchup_s.median)
        lines.append("Fastest catch-up: " + _interval_sentence(fastest))
        cheapest = min(snapshotted, key=lambda row: row.overhead_pct.median)
        if cheapest is not fastest:
            lines.append("Cheapest snapshots: " + _interval_sentence(cheapest))
        optimal = [interval_label(p.interval) for p in frontier_points(run, within_head=True) if p.pareto]
        beyond = [interval_label(row.interval) for row in rows if row.interval > head]
        left_out = (
            f" (k={listing(beyond)} exceeds the head, {head:,} events: no snapshot was taken, so it is a replay "
            "from event 0 and not a choice here)"
            if beyond
            else ""
        )
        lines.append(
            f"Pareto-optimal intervals, from cheapest to fastest (no other is both cheaper and faster): "
            f"{', '.join(optimal)}{left_out}. "
            "Choose among these by the recovery time you need."
        )
    lines.append(_verification_sentence(run))
    return lines


def _interval_sentence(row: IntervalSummary) -> str:
    expected, worst = row.expected, row.worst
    return (
        f"a snapshot every {interval_label(row.interval)} events gives an expected catch-up of "
        f"{format_seconds(expected.catchup_s.median)} ({expected.speedup:.1f}x faster than from 0) and a "
        f"worst case of {format_seconds(worst.catchup_s.median)}, for snapshots costing "
        f"{format_percent(row.overhead_pct.median)} of replay time and {format_bytes(row.snapshot_bytes)} "
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
    lines = [f"All runs replayed the same {describe_dataset(first)}."]
    if runset.has_live:
        lines[0] = f"All runs started from the same {describe_dataset(first)}."
    catchup = runset.catchup_runs
    if catchup is None:
        return lines
    first_name, first = catchup.names[0], catchup.runs[0]
    reference = first.full_replay_s or 0.0
    for name, run in list(named(catchup))[1:]:
        full = run.full_replay_s or 0.0
        ratio = full / max(reference, 1e-12)
        lines.append(
            f"A full replay with {name} takes {format_seconds(full)}, {ratio:.2f}x the time of "
            f"{first_name} ({format_seconds(reference)})."
        )
    return lines


# --- results and method ------------------------------------------------------------------


def _results_tables(runset: RunSet) -> list[Block]:
    live = runset.live_runs
    if live is None:
        return catchup_tables(runset)
    catchup = runset.catchup_runs
    blocks: list[Block] = []
    if catchup is not None:
        blocks += [Heading("Catch-up", 3), *catchup_tables(catchup)]
    return [*blocks, Heading("Live", 3), live_table(live)]


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
