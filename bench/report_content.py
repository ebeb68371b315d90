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
from bench.figures import RenderedFigure, frontier_points, never_caught_up_phrase, sampling_period
from bench.report_document import Alert, Block, Bullets, FigureBlock, Heading, Paragraph, Report, Table
from bench.results import Run
from bench.run_set import RunSet, describe_dataset
from bench.units import format_bytes, format_interval, format_percent, format_rate, format_seconds

# Below this share of the requested rate the writers, not the projection, set the pace.
RATE_SHORTFALL = 0.9


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
                f"Live catch-up of {_projection(run)} from {runset.head(run):,} events at "
                f"{format_rate(_live(run).get('rate_requested') or 0)} ({_backend(run)})"
            )
        return f"Catch-up of {_projection(run)} over {runset.head(run):,} events ({_backend(run)})"
    if runset.all_live:
        return "Live catch-up compared: " + " vs ".join(runset.names)
    return "Catch-up compared: " + " vs ".join(runset.names)


def _byline(runset: RunSet, generated_at: datetime) -> str:
    runs = ", ".join(run.run_id for run in runset.runs)
    return f"Generated {generated_at:%Y-%m-%d %H:%M} UTC by catchup {__version__} from run{_s(runset.runs)} {runs}."


def _questions(runset: RunSet) -> list[str]:
    catchup, live = runset.catchup_runs, runset.live_runs
    if live is None:
        return [_question(runset)]
    if catchup is None:
        return [_live_question(live)]
    return [
        _question(catchup),
        _live_question(live),
        f"The catch-up run{_s(catchup.runs)} ({_listing(catchup.names)}) answer{'s' if catchup.single else ''} the "
        f"first question, the live run{_s(live.runs)} ({_listing(live.names)}) the second.",
    ]


def _which(runset: RunSet) -> str:
    projections = sorted({_projection(run) for run in runset.runs})
    return f"the {projections[0]} projection" if len(projections) == 1 else f"the {_listing(projections)} projections"


def _live_question(runset: RunSet) -> str:
    rates = sorted({float(_live(run).get("rate_requested") or 0) for run in runset.runs})
    question = (
        f"After a restart or a redeploy, {_which(runset)} catches up while events keep arriving at "
        f"{_listing([format_rate(rate) for rate in rates])}: does it catch up, how long does it take, how stale is "
        "it meanwhile? Writer processes append events at that rate while the projection, started from its latest "
        "snapshot or from event 0, replays the tail and then keeps tailing the log; its lag behind the head is "
        "sampled every 100 ms."
    )
    if not runset.single:
        question += " Live runs: " + _listing(runset.names) + "."
    return question


def _question(runset: RunSet) -> str:
    which = _which(runset)
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
    alerts += _live_alerts(runset)
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


def _live_alerts(runset: RunSet) -> list[Alert]:
    alerts: list[Alert] = []
    live = [(name, run) for name, run in _named(runset) if run.is_live]
    prefix = (lambda name: "") if runset.single else (lambda name: f"{name}: ")
    unverified = [f"{prefix(name)}{_verified_sentence(run)}" for name, run in live if not _live(run).get("verified")]
    if unverified:
        alerts.append(
            Alert(
                "error",
                "Live verification failed: the tailing projection's final state differs from a full replay",
                (
                    "Events were lost, applied twice or applied out of order while tailing; the lag figures "
                    "describe a projection that serves wrong read models.",
                    *unverified,
                ),
            )
        )
    slow = [f"{prefix(name)}{_rate_sentence(run)}" for name, run in live if _rate_short(run)]
    if slow:
        alerts.append(Alert("warning", "The writers could not keep up with the requested rate", tuple(slow)))
    failures = [f"{prefix(name)}{failure}" for name, run in live for failure in _live(run).get("writer_failures") or []]
    if failures:
        alerts.append(
            Alert(
                "warning",
                f"{len(failures)} writer failure{_s(failures)}: fewer events arrived than planned",
                tuple(failures),
            )
        )
    dead = [(name, run, list(_live(run).get("dead_positions") or [])) for name, run in live]
    dead = [(name, run, positions) for name, run, positions in dead if positions]
    if dead:
        alerts.append(
            Alert(
                "warning",
                "Dead positions: positions proven never to commit, which the projection skipped",
                tuple(f"{prefix(name)}{_dead_sentence(positions)}" for name, _, positions in dead),
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
    for name, run in _named(runset):
        blocks += [Heading(name, 3), Bullets(tuple(_any_findings(run, runset.head(run))))]
    return blocks


def _any_findings(run: Run, head: int) -> list[str]:
    return live_findings(run) if run.is_live else run_findings(run, head)


def live_findings(run: Run) -> list[str]:
    """The few sentences a reviewer needs from one live run, each with its numbers."""
    live = _live(run)
    model = live.get("model") or {}
    lines = []
    start = (
        f"from a snapshot at position {int(live.get('start_position') or 0):,}"
        if live.get("start_from") == "snapshot"
        else "from event 0"
    )
    tail = f"a tail of {int(live.get('tail_events') or 0):,} events"
    arriving = f"while {live.get('writers', '?')} writer(s) appended {format_rate(_achieved(run))}"
    if _caught_up(run):
        lines.append(
            f"Caught up with the head {format_seconds(float(live['caught_up_s']))} after the writers started, "
            f"starting {start} with {tail}, {arriving}."
        )
    else:
        lines.append(f"The projection {never_caught_up_phrase(live)}, starting {start} with {tail}, {arriving}.")
        mu, rate = model.get("replay_rate"), _achieved(run)
        if mu is not None and rate >= float(mu):
            lines.append(
                f"The model agrees: the arrival rate λ = {format_rate(rate)} is at or above the replay rate "
                f"μ = {format_rate(float(mu))} (λ ≥ μ), so the projection cannot gain on the head and the lag only "
                "grows; it needs a faster projection or fewer events per second, not more snapshots."
            )
        elif mu is not None:
            lines.append(
                f"The model does not explain it: the arrival rate λ = {format_rate(rate)} is below the replay "
                f"rate μ = {format_rate(float(mu))} the model assumed, so replaying while writers append was slower "
                "than the model expects (contention for the store or the CPU, say); a longer run may still catch up."
            )
    lines.append(
        f"Peak lag: {format_seconds(float(live.get('peak_lag_s') or 0))} "
        f"({int(live.get('peak_lag_events') or 0):,} events behind the head)."
    )
    after = live.get("lag_after_catchup_s")
    if after:
        lines.append(
            f"After catching up the lag stayed at p50 {format_seconds(after['p50'])}, "
            f"p95 {format_seconds(after['p95'])}, p99 {format_seconds(after['p99'])} "
            f"(max {format_seconds(after['max'])}), against a sampling period of "
            f"{format_seconds(sampling_period(run))}."
        )
    lines.append(_rate_sentence(run))
    lines.append(_model_sentence(live))
    failures, dead = live.get("writer_failures") or [], live.get("dead_positions") or []
    if failures:
        lines.append(f"{len(failures)} writer failure{_s(failures)} (listed in the warnings above).")
    if dead:
        lines.append(_dead_sentence(list(dead)) + " (see the warning above).")
    lines.append(_verified_sentence(run))
    return lines


def _rate_sentence(run: Run) -> str:
    live = _live(run)
    requested, achieved = float(live.get("rate_requested") or 0), _achieved(run)
    share = achieved / requested if requested > 0 else 1.0
    if _rate_short(run):
        return (
            f"The writers could not keep up: they appended {format_rate(achieved)}, {share:.0%} of the "
            f"{format_rate(requested)} asked, so this test measured a lower rate than asked; use more writers "
            "or a faster store before reading these numbers as the answer for the rate asked."
        )
    return f"The writers appended {format_rate(achieved)} of the {format_rate(requested)} asked ({share:.0%})."


def _model_sentence(live: dict[str, Any]) -> str:
    model = live.get("model") or {}
    predicted, measured = model.get("predicted_caught_up_s"), model.get("measured_caught_up_s")
    basis = (
        f"replay rate μ = {format_rate(float(model.get('replay_rate') or 0))}, snapshot load "
        f"{format_seconds(float(model.get('load_s') or 0))}, tail of {int(model.get('tail_events') or 0):,} events"
    )
    if predicted is None:
        verdict = "predicted it would never catch up (λ ≥ μ)"
    else:
        verdict = f"predicted catching up after {format_seconds(float(predicted))}"
    if measured is None:
        outcome = "it did not catch up" if predicted is None else "it did not catch up within the run"
    elif predicted is None:
        outcome = f"it caught up after {format_seconds(float(measured))} all the same"
    else:
        ratio = float(measured) / max(float(predicted), 1e-12)
        outcome = f"measured {format_seconds(float(measured))}, {ratio:.2f}x the prediction"
    return f"The model ({basis}) {verdict}; {outcome}."


def _verified_sentence(run: Run) -> str:
    live = _live(run)
    head = int(live.get("final_head") or 0)
    if live.get("verified"):
        return f"Verified: the tailing projection's final state equals a full replay of the same {head:,} events."
    return f"Verification FAILED: the tailing projection's final state differs from a full replay of {head:,} events."


def _dead_sentence(positions: list[int]) -> str:
    shown = ", ".join(f"{int(p):,}" for p in positions[:10]) + (", ..." if len(positions) > 10 else "")
    return f"{len(positions):,} dead position{_s(positions)} skipped as never committed: {shown}"


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
    first = runset.runs[0]
    lines = [f"All runs replayed the same {describe_dataset(first, runset.head(first))}."]
    if runset.has_live:
        lines[0] = f"All runs started from the same {describe_dataset(first, runset.head(first))}."
    catchup = runset.catchup_runs
    if catchup is None:
        return lines
    first_name, first = catchup.names[0], catchup.runs[0]
    reference = _full_replay(first)
    for name, run in list(_named(catchup))[1:]:
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
            ("intervals k", _catchup_only(lambda run: ", ".join(_k(k) for k in run.config.get("intervals", [])))),
            (
                "repeats (after warm-up)",
                _catchup_only(lambda run: f"{run.config.get('repeats')} (after {run.config.get('warmup')})"),
            ),
            ("batch size", _catchup_only(lambda run: f"{run.config.get('batch_size', 0):,} events")),
        ]
    if runset.has_live:
        fields += [
            ("snapshot interval k", _live_only(lambda live: _k(live.get("interval") or 0))),
            ("rate requested", _live_only(lambda live: format_rate(float(live.get("rate_requested") or 0)))),
            ("writers", _live_only(lambda live: str(live.get("writers", "?")))),
            ("start from", _live_only(_start_from)),
            ("max duration", _live_only(lambda live: format_seconds(float(live.get("max_duration_s") or 0)))),
        ]
    table = _per_run_table(runset, fields, "")
    # Which run is which always differs, so it goes last and unmarked.
    run_row = ("run", *(f"{run.run_id} ({run.created_at[:19].replace('T', ' ')} UTC)" for run in runset.runs))
    return replace(table, rows=(*table.rows, run_row))


_NOT_APPLICABLE = "–"


def _catchup_only(value: Any) -> Any:
    return lambda run: _NOT_APPLICABLE if run.is_live else value(run)


def _live_only(value: Any) -> Any:
    return lambda run: value(_live(run)) if run.is_live else _NOT_APPLICABLE


def _start_from(live: dict[str, Any]) -> str:
    if live.get("start_from") == "snapshot":
        return (
            f"latest snapshot (position {int(live.get('start_position') or 0):,}, "
            f"tail of {int(live.get('tail_events') or 0):,} events)"
        )
    return f"event 0 (tail of {int(live.get('tail_events') or 0):,} events)"


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
        if not runset.single and row[0] not in _READINGS and len(set(row[1:]) - {_NOT_APPLICABLE}) > 1
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
    return [*blocks, Heading("Live", 3), _live_table(live)]


def _catchup_tables(runset: RunSet) -> list[Block]:
    if runset.single:
        return [_run_table(runset.runs[0])]
    blocks: list[Block] = [_side_by_side(runset)]
    for name, run in _named(runset):
        blocks += [Heading(f"{name} in full", 3), _run_table(run)]
    return blocks


_LIVE_NOTE = (
    "Lag = age of the oldest committed event not yet applied (0 when none), sampled every 100 ms; in events, "
    "head − the projection's position. Caught up = when the live run reports the projection reached the head. "
    "Lag after catch-up: percentiles over the samples from then to the end. Lag growth: slope of the lag in "
    "events over time, for a run that never caught up. Model: the catch-up time predicted from the replay rate "
    "μ, the snapshot load time and the tail, against the arrival rate λ."
)


def _live_table(runset: RunSet) -> Table:
    def seconds(value: Any) -> str:
        return _NOT_APPLICABLE if value is None else format_seconds(float(value))

    def after(live: dict[str, Any], key: str) -> str:
        lag = live.get("lag_after_catchup_s")
        return seconds(lag[key]) if lag else "never caught up"

    def ratio(model: dict[str, Any]) -> str:
        predicted, measured = model.get("predicted_caught_up_s"), model.get("measured_caught_up_s")
        if predicted is None or measured is None:
            return _NOT_APPLICABLE
        return f"{float(measured) / max(float(predicted), 1e-12):.2f}x"

    def achieved(run: Run) -> str:
        requested = float(_live(run).get("rate_requested") or 0)
        share = f" ({_achieved(run) / requested:.0%})" if requested > 0 else ""
        return format_rate(_achieved(run)) + share + (" SHORT" if _rate_short(run) else "")

    def growth(live: dict[str, Any]) -> str:
        value = live.get("lag_growth_events_per_s")
        return _NOT_APPLICABLE if value is None else f"{float(value):,.0f} events/s"

    fields: list[tuple[str, Any]] = [
        ("rate requested", lambda run: format_rate(float(_live(run).get("rate_requested") or 0))),
        ("rate achieved", achieved),
        ("writers", lambda run: str(_live(run).get("writers", "?"))),
        ("start from", lambda run: _start_from(_live(run))),
        (
            "caught up at",
            lambda run: (
                seconds(_live(run)["caught_up_s"])
                if _caught_up(run)
                else f"never (within {seconds(_live(run).get('duration_s'))})"
            ),
        ),
        ("peak lag", lambda run: seconds(_live(run).get("peak_lag_s"))),
        ("peak lag (events)", lambda run: f"{int(_live(run).get('peak_lag_events') or 0):,}"),
        *(
            (f"lag after catch-up {key}", lambda run, key=key: after(_live(run), key))
            for key in ("p50", "p95", "p99", "max")
        ),
        ("lag growth", lambda run: growth(_live(run))),
        ("model: replay rate μ", lambda run: format_rate(float(_model(run).get("replay_rate") or 0))),
        ("model: snapshot load", lambda run: seconds(_model(run).get("load_s"))),
        (
            "model: predicted catch-up",
            lambda run: (
                seconds(_model(run).get("predicted_caught_up_s"))
                if _model(run).get("predicted_caught_up_s") is not None
                else "never (λ ≥ μ)"
            ),
        ),
        ("measured / predicted", lambda run: ratio(_model(run))),
        ("snapshots taken", lambda run: f"{int(_live(run).get('snapshots') or 0):,}"),
        ("dead positions", lambda run: f"{len(_live(run).get('dead_positions') or []):,}"),
        ("writer failures", lambda run: f"{len(_live(run).get('writer_failures') or []):,}"),
        (
            "ran for",
            lambda run: f"{seconds(_live(run).get('duration_s'))} (max {seconds(_live(run).get('max_duration_s'))})",
        ),
        ("final head", lambda run: f"{int(_live(run).get('final_head') or 0):,}"),
        ("verified", lambda run: "yes" if _live(run).get("verified") else "DIVERGED"),
    ]
    header = ("", *runset.names)
    rows = tuple((label, *(str(value(run)) for run in runset.runs)) for label, value in fields)
    return Table(header, rows, _LIVE_NOTE)


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


def _method(runset: RunSet) -> tuple[str, ...]:
    if runset.live_runs is None:
        return _METHOD
    if runset.catchup_runs is None:
        return (*_LIVE_METHOD, _METHOD[-1])
    return (*_METHOD[:-1], *_LIVE_METHOD, _METHOD[-1])


_LIVE_METHOD = (
    "Live run: writer processes append events at the requested rate λ while a fresh projection starts from its "
    "latest snapshot (or from event 0), replays the tail and keeps tailing the log, taking a snapshot every k "
    "events. Every 100 ms the run samples the head, the projection's position and the age of the oldest "
    "committed event not yet applied (the lag, in seconds); the samples are in the run's timeseries.parquet.",
    "Model: with replay rate μ (events/s), snapshot load time L and a tail of N events "
    "at the start, the projection gains μ − λ events per second on the head: it catches up when λ < μ and never "
    "when λ ≥ μ. The report sets the predicted catch-up time against the measured one.",
    "Live verification: the tailing projection's final state is checked against a full replay of the same "
    "events up to the final head.",
)

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


def _live(run: Run) -> dict[str, Any]:
    return run.live or {}


def _model(run: Run) -> dict[str, Any]:
    return _live(run).get("model") or {}


def _achieved(run: Run) -> float:
    return float(_live(run).get("rate_achieved") or 0)


def _rate_short(run: Run) -> bool:
    requested = float(_live(run).get("rate_requested") or 0)
    return requested > 0 and _achieved(run) < RATE_SHORTFALL * requested


def _caught_up(run: Run) -> bool:
    live = _live(run)
    return bool(live.get("caught_up")) and live.get("caught_up_s") is not None


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
