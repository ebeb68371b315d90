"""What a report says about live runs: writers appending while the projection catches up.

The question, the alerts, the findings (caught up or not, peak lag, the lag after, the
rate achieved against the rate asked, the model against the measurement), the "Live"
table and the method. bench.report_content puts them in the report beside the
catch-up runs' sections.
"""

from __future__ import annotations

from typing import Any

from bench.figures import never_caught_up_phrase, sampling_period
from bench.report_document import Alert, Table
from bench.report_words import NOT_APPLICABLE, listing, named, plural, which
from bench.results import Run
from bench.run_set import RunSet
from bench.units import format_rate, format_seconds

# Below this share of the requested rate the writers, not the projection, set the pace.
# Below this share of the requested rate the writers, not the projection, set the pace.
RATE_SHORTFALL = 0.9


def live_question(runset: RunSet) -> str:
    rates = sorted({float(live_of(run).get("rate_requested") or 0) for run in runset.runs})
    question = (
        f"After a restart or a redeploy, {which(runset)} catches up while events keep arriving at "
        f"{listing([format_rate(rate) for rate in rates])}: does it catch up, how long does it take, how stale is "
        "it meanwhile? Writer processes append events at that rate while the projection, started from its latest "
        "snapshot or from event 0, replays the tail and then keeps tailing the log; its lag behind the head is "
        "sampled every 100 ms."
    )
    if not runset.single:
        question += " Live runs: " + listing(runset.names) + "."
    return question


def live_alerts(runset: RunSet) -> list[Alert]:
    alerts: list[Alert] = []
    live = [(name, run) for name, run in named(runset) if run.is_live]
    prefix = (lambda name: "") if runset.single else (lambda name: f"{name}: ")
    unverified = [f"{prefix(name)}{_verified_sentence(run)}" for name, run in live if not live_of(run).get("verified")]
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
    failures = [
        f"{prefix(name)}{failure}" for name, run in live for failure in live_of(run).get("writer_failures") or []
    ]
    if failures:
        alerts.append(
            Alert(
                "warning",
                f"{len(failures)} writer failure{plural(failures)}: fewer events arrived than planned",
                tuple(failures),
            )
        )
    dead = [(name, run, list(live_of(run).get("dead_positions") or [])) for name, run in live]
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


def live_findings(run: Run) -> list[str]:
    """The few sentences a reviewer needs from one live run, each with its numbers."""
    live = live_of(run)
    model = live.get("model") or {}
    lines = []
    start = (
        f"from a snapshot at position {int(live.get('start_position') or 0):,}"
        if live.get("start_from") == "snapshot"
        else "from event 0"
    )
    tail = f"a tail of {int(live.get('tail_events') or 0):,} events"
    arriving = f"while {live.get('writers', '?')} writer(s) appended {format_rate(_achieved(run))}"
    if caught_up(run):
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
        lines.append(f"{len(failures)} writer failure{plural(failures)} (listed in the warnings above).")
    if dead:
        lines.append(_dead_sentence(list(dead)) + " (see the warning above).")
    lines.append(_verified_sentence(run))
    return lines


def _rate_sentence(run: Run) -> str:
    live = live_of(run)
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
    live = live_of(run)
    head = int(live.get("final_head") or 0)
    if live.get("verified"):
        return f"Verified: the tailing projection's final state equals a full replay of the same {head:,} events."
    return f"Verification FAILED: the tailing projection's final state differs from a full replay of {head:,} events."


def _dead_sentence(positions: list[int]) -> str:
    shown = ", ".join(f"{int(p):,}" for p in positions[:10]) + (", ..." if len(positions) > 10 else "")
    return f"{len(positions):,} dead position{plural(positions)} skipped as never committed: {shown}"


def start_from(live: dict[str, Any]) -> str:
    if live.get("start_from") == "snapshot":
        return (
            f"latest snapshot (position {int(live.get('start_position') or 0):,}, "
            f"tail of {int(live.get('tail_events') or 0):,} events)"
        )
    return f"event 0 (tail of {int(live.get('tail_events') or 0):,} events)"


LIVE_NOTE = (
    "Lag = age of the oldest committed event not yet applied (0 when none), sampled every 100 ms; in events, "
    "head − the projection's position. Caught up = when the live run reports the projection reached the head. "
    "Lag after catch-up: percentiles over the samples from then to the end. Lag growth: slope of the lag in "
    "events over time, for a run that never caught up. Model: the catch-up time predicted from the replay rate "
    "μ, the snapshot load time and the tail, against the arrival rate λ."
)


def live_table(runset: RunSet) -> Table:
    def seconds(value: Any) -> str:
        return NOT_APPLICABLE if value is None else format_seconds(float(value))

    def after(live: dict[str, Any], key: str) -> str:
        lag = live.get("lag_after_catchup_s")
        return seconds(lag[key]) if lag else "never caught up"

    def ratio(model: dict[str, Any]) -> str:
        predicted, measured = model.get("predicted_caught_up_s"), model.get("measured_caught_up_s")
        if predicted is None or measured is None:
            return NOT_APPLICABLE
        return f"{float(measured) / max(float(predicted), 1e-12):.2f}x"

    def achieved(run: Run) -> str:
        requested = float(live_of(run).get("rate_requested") or 0)
        share = f" ({_achieved(run) / requested:.0%})" if requested > 0 else ""
        return format_rate(_achieved(run)) + share + (" SHORT" if _rate_short(run) else "")

    def growth(live: dict[str, Any]) -> str:
        value = live.get("lag_growth_events_per_s")
        return NOT_APPLICABLE if value is None else f"{float(value):,.0f} events/s"

    fields: list[tuple[str, Any]] = [
        ("rate requested", lambda run: format_rate(float(live_of(run).get("rate_requested") or 0))),
        ("rate achieved", achieved),
        ("writers", lambda run: str(live_of(run).get("writers", "?"))),
        ("start from", lambda run: start_from(live_of(run))),
        (
            "caught up at",
            lambda run: (
                seconds(live_of(run)["caught_up_s"])
                if caught_up(run)
                else f"never (within {seconds(live_of(run).get('duration_s'))})"
            ),
        ),
        ("peak lag", lambda run: seconds(live_of(run).get("peak_lag_s"))),
        ("peak lag (events)", lambda run: f"{int(live_of(run).get('peak_lag_events') or 0):,}"),
        *(
            (f"lag after catch-up {key}", lambda run, key=key: after(live_of(run), key))
            for key in ("p50", "p95", "p99", "max")
        ),
        ("lag growth", lambda run: growth(live_of(run))),
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
        ("snapshots taken", lambda run: f"{int(live_of(run).get('snapshots') or 0):,}"),
        ("dead positions", lambda run: f"{len(live_of(run).get('dead_positions') or []):,}"),
        ("writer failures", lambda run: f"{len(live_of(run).get('writer_failures') or []):,}"),
        (
            "ran for",
            lambda run: (
                f"{seconds(live_of(run).get('duration_s'))} (max {seconds(live_of(run).get('max_duration_s'))})"
            ),
        ),
        ("final head", lambda run: f"{int(live_of(run).get('final_head') or 0):,}"),
        ("verified", lambda run: "yes" if live_of(run).get("verified") else "DIVERGED"),
    ]
    header = ("", *runset.names)
    rows = tuple((label, *(str(value(run)) for run in runset.runs)) for label, value in fields)
    return Table(header, rows, LIVE_NOTE)


LIVE_METHOD = (
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


def live_of(run: Run) -> dict[str, Any]:
    return run.live or {}


def _model(run: Run) -> dict[str, Any]:
    return live_of(run).get("model") or {}


def _achieved(run: Run) -> float:
    return float(live_of(run).get("rate_achieved") or 0)


def _rate_short(run: Run) -> bool:
    requested = float(live_of(run).get("rate_requested") or 0)
    return requested > 0 and _achieved(run) < RATE_SHORTFALL * requested


def caught_up(run: Run) -> bool:
    live = live_of(run)
    return bool(live.get("caught_up")) and live.get("caught_up_s") is not None
