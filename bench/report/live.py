"""What a report says about live runs: writers appending while the projection catches up.

The question, the alerts, the findings (caught up or not, peak lag, the lag after, the
rate achieved against the rate asked, the model against the measurement), the "Live"
table and the method. bench.report.content puts them in the report beside the
catch-up runs' sections.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.report.document import Alert, Table
from bench.report.staleness import sampling_period
from bench.report.words import NOT_APPLICABLE, agree, listing, named, plural, rate_requested_cell, which, writers_cell
from bench.results import LiveModel, LiveSummary, Run
from bench.results.live import CPU_RULE, cpu_correction
from bench.results.run_set import RunSet
from bench.units import format_rate, format_seconds, verified_label


def live_question(runset: RunSet) -> str:
    followed = all(live_of(run).followed for run in runset.runs)
    rates = sorted({live_of(run).rate_achieved if followed else live_of(run).rate_requested for run in runset.runs})
    writing = "The source's own application appends" if followed else "Writer processes append"
    question = (
        f"After a restart or a redeploy, {which(runset)} {agree(runset, 'catches', 'catch')} up while events keep "
        f"arriving at {listing([format_rate(rate) for rate in rates])}: {agree(runset, 'does it', 'do they')} catch "
        f"up, how long {agree(runset, 'does it', 'do they')} take, how stale {agree(runset, 'is it', 'are they')} "
        f"meanwhile? {writing} events at that rate while {agree(runset, 'the', 'each')} projection, "
        "started from its latest snapshot or from event 0, replays the tail and then keeps tailing the log; its lag "
        "behind the head is sampled every 100 ms."
    )
    if not runset.single:
        question += " Live runs: " + listing(runset.names) + "."
    return question


def live_shortfall_alerts(runset: RunSet) -> list[Alert]:
    """The live runs that were no success (LiveSummary.shortfall): a report leads with them."""
    failed = [
        f"{'' if runset.single else f'{name}: '}{run.live.shortfall}"
        for name, run in named(runset)
        if run.live is not None and run.live.shortfall
    ]
    if not failed:
        return []
    return [
        Alert(
            "error",
            "Live run not a success: every writer failed or the achieved rate was far below the requested one",
            tuple(failed),
        )
    ]


def live_alerts(runset: RunSet) -> list[Alert]:
    """The other alerts of live runs, after the shortfall (live_shortfall_alerts)."""
    alerts: list[Alert] = []
    live = [(name, run) for name, run in named(runset) if run.is_live]

    def prefix(name: str) -> str:
        return "" if runset.single else f"{name}: "

    unverified = [
        f"{prefix(name)}{_verified_sentence(live_of(run))}" for name, run in live if not live_of(run).verified
    ]
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
    slow = [f"{prefix(name)}{_rate_sentence(live_of(run))}" for name, run in live if live_of(run).rate_short]
    if slow:
        alerts.append(Alert("warning", "The writers could not keep up with the requested rate", tuple(slow)))
    failures = [f"{prefix(name)}{failure}" for name, run in live for failure in live_of(run).writer_failures]
    if failures:
        alerts.append(
            Alert(
                "warning",
                f"{len(failures)} writer failure{plural(failures)}: fewer events arrived than planned",
                tuple(failures),
            )
        )
    dead = [(name, live_of(run).dead_positions) for name, run in live if live_of(run).dead_positions]
    if dead:
        alerts.append(
            Alert(
                "warning",
                "Dead positions: positions proven never to commit, which the projection skipped",
                tuple(f"{prefix(name)}{_dead_sentence(positions)}" for name, positions in dead),
            )
        )
    return alerts


def live_findings(run: Run) -> list[str]:
    """The few sentences a reviewer needs from one live run, each with its numbers."""
    live = live_of(run)
    model = live.model
    lines = []
    start = f"from a snapshot at position {live.start_position:,}" if live.start_from == "snapshot" else "from event 0"
    tail = f"a tail of {live.tail_events:,} events"
    arriving = (
        f"while the source's own application appended {format_rate(live.rate_achieved)}"
        if live.followed
        else f"while {live.writers} writer(s) appended {format_rate(live.rate_achieved)}"
    )
    started = "catchup started following" if live.followed else "the writers started"
    if live.has_caught_up:
        lines.append(
            f"Caught up with the head {format_seconds(float(live.caught_up_s or 0))} after {started}, "
            f"starting {start} with {tail}, {arriving}."
        )
    else:
        lines.append(f"The projection {live.never_caught_up}, starting {start} with {tail}, {arriving}.")
        lines.append(_never_explained(live))
    lines.append(f"Peak lag: {format_seconds(live.peak_lag_s)} ({live.peak_lag_events:,} events behind the head).")
    after = live.lag_after_catchup_s
    if after:
        lines.append(
            f"After catching up the lag stayed at p50 {format_seconds(after.p50)}, "
            f"p95 {format_seconds(after.p95)}, p99 {format_seconds(after.p99)} "
            f"(max {format_seconds(after.max)}), against a sampling period of "
            f"{format_seconds(sampling_period(run))}."
        )
    lines.append(_rate_sentence(live))
    lines.append(_model_sentence(model))
    lines.append(_cpu_sentence(live))
    if live.writer_failures:
        lines.append(
            f"{len(live.writer_failures)} writer failure{plural(live.writer_failures)} (listed in the warnings above)."
        )
    if live.dead_positions:
        lines.append(_dead_sentence(live.dead_positions) + " (see the warning above).")
    lines.append(_verified_sentence(live))
    return lines


def _never_explained(live: LiveSummary) -> str:
    """Why a run that never caught up did not: the model says λ >= μ, or it cannot say."""
    mu, rate = live.model.replay_rate, live.rate_achieved
    if rate >= mu:
        return (
            f"The model agrees: the arrival rate λ = {format_rate(rate)} is at or above the replay rate "
            f"μ = {format_rate(mu)} (λ ≥ μ), so the projection cannot gain on the head and the lag only "
            "grows; it needs a faster projection or fewer events per second, not more snapshots."
        )
    return (
        f"The model does not explain it: the arrival rate λ = {format_rate(rate)} is below the replay "
        f"rate μ = {format_rate(mu)} the model assumed, so replaying while writers append was slower "
        "than the model expects (contention for the store or the CPU, say); a longer run may still catch up."
    )


def _rate_sentence(live: LiveSummary) -> str:
    requested, achieved = live.rate_requested, live.rate_achieved
    if live.followed:
        return f"The source's own application appended {format_rate(achieved)} while catchup followed it."
    if live.rate_short:
        return (
            f"The writers could not keep up: they appended {format_rate(achieved)}, {live.rate_share:.0%} of the "
            f"{format_rate(requested)} asked, so this test measured a lower rate than asked; use more writers "
            "or a faster store before reading these numbers as the answer for the rate asked."
        )
    return (
        f"The writers appended {format_rate(achieved)} of the {format_rate(requested)} asked ({live.rate_share:.0%})."
    )


def _model_sentence(model: LiveModel) -> str:
    predicted, measured = model.predicted_caught_up_s, model.measured_caught_up_s
    basis = (
        f"replay rate μ = {format_rate(model.replay_rate)}, snapshot load "
        f"{format_seconds(model.load_s)}, tail of {model.tail_events:,} events"
    )
    if predicted is None:
        verdict = "predicted it would never catch up (λ ≥ μ)"
    else:
        verdict = f"predicted catching up after {format_seconds(predicted)}"
    if measured is None:
        outcome = "it did not catch up" if predicted is None else "it did not catch up within the run"
    elif predicted is None:
        outcome = f"it caught up after {format_seconds(measured)} all the same"
    else:
        outcome = f"measured {format_seconds(measured)}, {_ratio(model)} the prediction"
    return f"The model ({basis}) {verdict}; {outcome}."


def _cpu_sentence(live: LiveSummary) -> str:
    """Which CPU correction CPU_RULE applied, from what split, and the corrected prediction against the measured."""
    model, cpu = live.model, live.model.cpu
    if cpu is None:
        return "No CPU split was recorded (a run from before results schema version 4): the model is uncorrected."
    rule = cpu_correction(model, live.interval, cpu)
    up = cpu.catchup
    server = "" if up.server is None else f", the local server {up.server:.2f}"
    split = (
        f"During the catch-up the projection used {up.projection:.2f} of {cpu.cores} cores, the writers "
        f"{up.writers:.2f}{server} and everything else {up.other:.2f}"
    )
    corrected, measured = model.corrected_caught_up_s, model.measured_caught_up_s
    against = (
        f"corrected prediction {format_seconds(corrected)}" if corrected is not None else "corrected prediction never"
    )
    if measured is not None and corrected is not None:
        against += f", measured {format_seconds(measured)} ({_ratio(model, corrected)} the corrected prediction)"
    left = f"which left it {rule.cores_left:.2f} cores on average, taken a whole core at a time"
    if model.correction == "cpu":
        return (
            f"CPU correction applied (cpu): {split}, {left}, of the {rule.cores_needed:.2f} its replay needed in "
            f"the setup: it keeps {rule.replay_share:.0%} of its rate, so the model replays at "
            f"μ_eff = {format_rate(model.effective_replay_rate or 0)}; {against}."
        )
    return (
        f"No CPU correction (none): {split}, {left}, enough for the {rule.cores_needed:.2f} its replay needed in "
        f"the setup; {against}."
    )


def _ratio(model: LiveModel, predicted: float | None = None) -> str:
    """Measured against predicted (or another prediction's) time to caught-up, '1.23x'; NOT_APPLICABLE when
    either is missing."""
    predicted = model.predicted_caught_up_s if predicted is None else predicted
    measured = model.measured_caught_up_s
    if predicted is None or measured is None:
        return NOT_APPLICABLE
    return f"{measured / max(predicted, 1e-12):.2f}x"


def _verified_sentence(live: LiveSummary) -> str:
    if live.verified:
        return (
            "Verified: the tailing projection's final state equals a full replay of the same "
            f"{live.final_head:,} events."
        )
    return (
        "Verification FAILED: the tailing projection's final state differs from a full replay of "
        f"{live.final_head:,} events."
    )


def _dead_sentence(positions: tuple[int, ...]) -> str:
    shown = ", ".join(f"{p:,}" for p in positions[:10]) + (", ..." if len(positions) > 10 else "")
    return f"{len(positions):,} dead position{plural(positions)} skipped as never committed: {shown}"


def start_from(live: LiveSummary) -> str:
    if live.start_from == "snapshot":
        return f"latest snapshot (position {live.start_position:,}, tail of {live.tail_events:,} events)"
    return f"event 0 (tail of {live.tail_events:,} events)"


LIVE_NOTE = (
    "Lag = age of the oldest committed event not yet applied (0 when none), sampled every 100 ms; in events, "
    "head − the projection's position. Caught up = when the live run reports the projection reached the head. "
    "Lag after catch-up: percentiles over the samples from then to the end. Lag growth: slope of the lag in "
    "events over time, for a run that never caught up. Model: the catch-up time predicted from the replay rate "
    "μ, the snapshot load time and the tail, against the arrival rate λ."
)


def live_table(runset: RunSet) -> Table:
    def seconds(value: float | None) -> str:
        return NOT_APPLICABLE if value is None else format_seconds(value)

    def after(live: LiveSummary, key: str) -> str:
        lag = live.lag_after_catchup_s
        return seconds(getattr(lag, key)) if lag else "never caught up"

    def achieved(live: LiveSummary) -> str:
        share = f" ({live.rate_share:.0%})" if live.rate_requested > 0 else ""
        return format_rate(live.rate_achieved) + share + (" SHORT" if live.rate_short else "")

    def growth(live: LiveSummary) -> str:
        value = live.lag_growth_events_per_s
        return NOT_APPLICABLE if value is None else f"{value:,.0f} events/s"

    def caught_up(live: LiveSummary) -> str:
        return seconds(live.caught_up_s) if live.has_caught_up else f"never (within {seconds(live.duration_s)})"

    def predicted(model: LiveModel) -> str:
        return seconds(model.predicted_caught_up_s) if model.predicted_caught_up_s is not None else "never (λ ≥ μ)"

    def effective(live: LiveSummary) -> str:
        rate = live.model.effective_replay_rate
        return NOT_APPLICABLE if rate is None else format_rate(rate)

    def corrected(live: LiveSummary) -> str:
        if live.model.correction is None:
            return NOT_APPLICABLE
        value = live.model.corrected_caught_up_s
        return seconds(value) if value is not None else "never (λ ≥ μ_eff)"

    fields: list[tuple[str, Callable[[LiveSummary], str]]] = [
        ("rate requested", rate_requested_cell),
        ("rate achieved", achieved),
        ("writers", writers_cell),
        ("start from", start_from),
        ("caught up at", caught_up),
        ("peak lag", lambda live: seconds(live.peak_lag_s)),
        ("peak lag (events)", lambda live: f"{live.peak_lag_events:,}"),
        *(
            (f"lag after catch-up {key}", lambda live, key=key: after(live, key))
            for key in ("p50", "p95", "p99", "max")
        ),
        ("lag growth", growth),
        ("model: replay rate μ", lambda live: format_rate(live.model.replay_rate)),
        ("model: snapshot load", lambda live: seconds(live.model.load_s)),
        ("model: predicted catch-up", lambda live: predicted(live.model)),
        ("measured / predicted", lambda live: _ratio(live.model)),
        ("model: snapshot save δ", lambda live: seconds(live.model.snapshot_s)),
        ("model: CPU correction", lambda live: live.model.correction or NOT_APPLICABLE),
        ("model: effective replay rate", effective),
        ("model: corrected catch-up", corrected),
        (
            "measured / corrected",
            lambda live: (
                _ratio(live.model, live.model.corrected_caught_up_s)
                if live.model.corrected_caught_up_s is not None
                else NOT_APPLICABLE
            ),
        ),
        ("snapshots taken", lambda live: f"{live.snapshots:,}"),
        ("dead positions", lambda live: f"{len(live.dead_positions):,}"),
        ("writer failures", lambda live: f"{len(live.writer_failures):,}"),
        ("ran for", lambda live: f"{seconds(live.duration_s)} (max {seconds(live.max_duration_s)})"),
        ("final head", lambda live: f"{live.final_head:,}"),
        ("verified", lambda live: verified_label(live.verified)),
    ]
    header = ("", *runset.names)
    rows = tuple((label, *(value(live_of(run)) for run in runset.runs)) for label, value in fields)
    return Table(header, rows, LIVE_NOTE)


LIVE_METHOD = (
    "Live run: writer processes append events at the requested rate λ while a fresh projection starts from its "
    "latest snapshot (or from event 0), replays the tail and keeps tailing the log, taking a snapshot every k "
    "events. Every 100 ms the run samples the head, the projection's position and the age of the oldest "
    "committed event not yet applied (the lag, in seconds); the samples are in the run's timeseries.parquet.",
    "Model: with replay rate μ (events/s), snapshot load time L and a tail of N events "
    "at the start, the projection gains μ − λ events per second on the head: it catches up when λ < μ and never "
    "when λ ≥ μ. The report sets the predicted catch-up time against the measured one. From results schema "
    "version 4, μ counts the snapshots the catch-up takes (δ, one snapshot's save in the setup, every K events: "
    "1/μ' = 1/μ + δ/K), and the run meters where the machine's CPU went (from /proc: the projection, the "
    "writers, a local Postgres server, everything else) during the setup and the catch-up.",
    "CPU correction: " + CPU_RULE,
    "Live verification: the tailing projection's final state is checked against a full replay of the same "
    "events up to the final head.",
)


def live_of(run: Run) -> LiveSummary:
    """The live results of a run this module was given as live (the run set's live_runs)."""
    if run.live is None:
        raise ValueError(f"run {run.run_id} is not a live run")
    return run.live


def live_only(value: Callable[[LiveSummary], str]) -> Callable[[Run], str]:
    """A settings-table cell: ``value`` of a live run's results, NOT_APPLICABLE for a catch-up run."""
    return lambda run: value(run.live) if run.live is not None else NOT_APPLICABLE
