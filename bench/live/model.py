"""From a live run's samples to its measurements: caught up or not, peak and later lag, the model.

The model is the queueing view of catch-up: a projection that replays at μ events/s
while events arrive at λ events/s closes a tail of T events, after loading a snapshot in
L seconds, in t = (L + T/μ) / (1 − λ/μ): it must replay the tail and everything that
arrives meanwhile. For λ ≥ μ it never catches up and the lag grows at λ − μ events/s.
The catch-up also saves a snapshot every K events, δ seconds each (timed in the setup), so
the rate it replays at is μ', 1/μ' = 1/μ + δ/K. When the run metered its CPU
(bench.live.cpu), bench.results.live.CPU_RULE corrects μ' for the cores the writers, a
local server and other programs left to the projection.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa

from bench.results import LagPercentiles, LiveModel, LiveSummary
from bench.results.live import LiveCpu, busy_setup, catchup_time, cpu_correction, per_event_rate


@dataclass(frozen=True)
class ModelInputs:
    replay_rate: float  # μ, events/s, measured on this store before the writers start
    load_s: float  # L: snapshot load + restore; 0 when starting from zero
    tail_events: int  # T
    snapshot_s: float = 0.0  # δ: one snapshot's save, timed in the setup
    interval: int = 1  # K: a snapshot every K events during the catch-up too


def predicted_catchup_s(model: ModelInputs, append_rate: float) -> float | None:
    """t = (L + T/μ') / (1 − λ/μ'), 1/μ' = 1/μ + δ/K, or None when λ ≥ μ': never."""
    rate = per_event_rate(model.replay_rate, model.snapshot_s, model.interval)
    return catchup_time(model.load_s, model.tail_events, rate, append_rate)


def caught_up_at(timeseries: pa.Table, within_events: int) -> float | None:
    """The first sample time at which the lag was within ``within_events``, after the start's tail."""
    lag = timeseries.column("lag_events").to_numpy()
    times = timeseries.column("t_s").to_numpy()
    hits = np.flatnonzero(lag <= within_events)
    return float(times[hits[0]]) if hits.size else None


def lag_growth(timeseries: pa.Table) -> float | None:
    """Events/s by which the lag grows over the second half of the run (least squares); None if too short."""
    times = timeseries.column("t_s").to_numpy()
    lag = timeseries.column("lag_events").to_numpy().astype(np.float64)
    half = times >= times[-1] / 2 if times.size else times
    if np.count_nonzero(half) < 3:
        return None
    slope, _ = np.polyfit(times[half], lag[half], 1)
    return float(slope)


@dataclass(frozen=True)
class Measured:
    """What the time series says: the parts of a LiveSummary that are measured, not set up."""

    rate_achieved: float
    caught_up_s: float | None
    peak_lag_events: int
    peak_lag_s: float
    lag_after_catchup_s: LagPercentiles | None
    lag_growth_events_per_s: float | None
    duration_s: float
    model: LiveModel


def measure(timeseries: pa.Table, *, model: ModelInputs, within_events: int, cpu: LiveCpu | None = None) -> Measured:
    """Caught up or not, the lags, the achieved rate, and the model asked about that rate (CPU-corrected
    by CPU_RULE when the CPU split was metered)."""
    times = timeseries.column("t_s").to_numpy()
    lag_s = timeseries.column("lag_s").to_numpy()
    lag_events = timeseries.column("lag_events").to_numpy()
    appended = timeseries.column("appended").to_numpy()
    duration = float(times[-1]) if times.size else 0.0
    caught = caught_up_at(timeseries, within_events)
    after = lag_s[times > caught] if caught is not None else np.empty(0)  # strictly after: the tail is behind
    achieved = float(appended[-1] / duration) if duration > 0 else 0.0
    # λ is the rate the writers achieved: when the store cannot take the requested rate,
    # the projection faced the lower one, and the model must be asked about that.
    predicted = LiveModel(
        replay_rate=model.replay_rate,
        load_s=model.load_s,
        tail_events=model.tail_events,
        append_rate=achieved,
        predicted_caught_up_s=predicted_catchup_s(model, achieved),
        measured_caught_up_s=caught,
        snapshot_s=model.snapshot_s,
    )
    if cpu is not None:
        corrected = cpu_correction(predicted, model.interval, cpu)
        predicted = replace(
            predicted,
            cpu=cpu,
            correction=corrected.correction,
            effective_replay_rate=corrected.effective_replay_rate,
            corrected_caught_up_s=corrected.corrected_caught_up_s,
        )
    return Measured(
        rate_achieved=achieved,
        caught_up_s=caught,
        peak_lag_events=int(lag_events.max()) if lag_events.size else 0,
        peak_lag_s=float(lag_s.max()) if lag_s.size else 0.0,
        lag_after_catchup_s=LagPercentiles(
            p50=float(np.percentile(after, 50)),
            p95=float(np.percentile(after, 95)),
            p99=float(np.percentile(after, 99)),
            max=float(after.max()),
        )
        if after.size
        else None,
        lag_growth_events_per_s=None if caught is not None else lag_growth(timeseries),
        duration_s=duration,
        model=predicted,
    )


def live_warnings(live: LiveSummary) -> list[str]:
    """The lines a live run's run.json warns with: no success (first), short rate, never caught up,
    failures, dead positions."""
    warnings = [live.shortfall] if live.shortfall else []
    if live.rate_short:
        warnings.append(
            f"the writers appended {live.rate_achieved:,.0f} events/s of the {live.rate_requested:,.0f} "
            "requested: the store or machine could not take more, so this run measured the lower rate"
        )
    if not live.caught_up:
        warnings.append(live.never_caught_up)
    busy = busy_setup(live.model.cpu) if live.model.cpu is not None else None
    if busy:
        warnings.append(busy)
    for failure in live.writer_failures:
        warnings.append(f"a writer failed: {failure}")
    if live.dead_positions:
        warnings.append(
            f"{len(live.dead_positions)} position(s) were reserved but never committed (a writer died or rolled "
            "back); the projection skipped them once no transaction could still commit them"
        )
    if not live.verified:
        warnings.append(
            f"{DIVERGED}; where the states differ: {'; '.join(live.differing)}" if live.differing else DIVERGED
        )
    return warnings


DIVERGED = "divergence: the tailed state differs from a full replay of the final log"
