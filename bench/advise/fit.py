"""From catch-up runs to the fitted model: the catch-up line, μ, δ and b.

Catching up from a snapshot costs a fixed part (load, restore, a store's first read; a
process start when restarts were cold) and a part per tail event, so c(T) = L + T/μ_tail.
It is fitted by ordinary least squares over every measured catch-up sample (both cases,
every k > 0, every repeat: the raw values of samples.parquet, not the medians), so the
residuals show the noise the line leaves. When the runs measured cold restarts
(``catchup run --cold``) a second line is fitted over those and is the one the advice
uses: a restart in production is a fresh process with a cold page cache.

Live runs (``catchup live``) given beside them say how fast the tail replays while writes
continue: each one that caught up gives the rate μ_w that explains its time to caught up
in the live model, on the machine to itself (its CPU correction undone) and without the
snapshots it took; the advice then keeps the line's fixed cost L and replays at the
median μ_w, as a restart in production catches up while the application writes.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bench.results import CASES, SNAPSHOT_PASS, LiveSummary, Run, catchup_phase, cold_phase
from bench.results.live import per_event_rate
from bench.units import format_interval, format_rate
from stores.errors import CatchupError

WARM = "warm"  # caught up in the measuring process, after its snapshot pass
COLD = "cold"  # a fresh process, the store's files evicted from the page cache first
LIVE = "live"  # the catch-up line's fixed cost, and the tail rate live runs measured while writes continued


class CannotFit(CatchupError):
    """The runs cannot carry the model: a live run, runs of different things, or tails that pin no line."""


@dataclass(frozen=True)
class Line:
    """c(T) = fixed_s + T / tail_rate, fitted over (tail events, catch-up seconds) samples."""

    kind: str  # WARM or COLD
    fixed_s: float  # L
    tail_rate: float  # μ_tail, events/s
    r2: float  # the share of the samples' variance the line explains
    tails: tuple[float, ...]  # each sample's tail, in the order of residuals
    residuals: tuple[float, ...]  # measured - fitted, seconds

    @property
    def n(self) -> int:
        return len(self.residuals)

    @property
    def rms_residual_s(self) -> float:
        return math.sqrt(sum(r * r for r in self.residuals) / self.n)

    def seconds(self, tail_events: float) -> float:
        """The catch-up this line predicts for a tail, without writes."""
        return self.fixed_s + tail_events / self.tail_rate

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "fixed_s": self.fixed_s,
            "tail_rate": self.tail_rate,
            "r2": self.r2,
            "n": self.n,
            "rms_residual_s": self.rms_residual_s,
            "tails": sorted(set(self.tails)),
        }


@dataclass(frozen=True)
class LiveDrain:
    """What one live run says of the tail rate while writes continue."""

    run_id: str
    append_rate: float  # λ the run's writers achieved
    tail_rate: float | None  # μ_w; None when the run cannot say (``note`` says why)
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LiveRates:
    """The live runs given beside the catch-up runs, and the tail rate the advice takes from them."""

    drains: tuple[LiveDrain, ...]
    tail_rate: float  # the median μ_w over the runs that caught up

    def to_json(self) -> dict[str, Any]:
        return {"tail_rate": self.tail_rate, "runs": [drain.to_json() for drain in self.drains]}


@dataclass(frozen=True)
class Fit:
    """What the advice is computed from, and where it came from."""

    projection: str  # 'balances v1'
    dataset: str  # 'dataset 1a2b3c, head 1,000,000'
    head: int
    runs: tuple[str, ...]  # run ids
    measured: tuple[int, ...]  # the intervals k > 0 the runs measured
    warm: Line
    cold: Line | None  # fitted when cold restarts were measured at two tails or more
    cold_note: str | None  # why cold restarts were measured but not fitted
    replay_rate: float  # μ, events/s
    replay_rate_from: str  # which passes μ is the median of
    snapshot_s: float  # δ, seconds per snapshot
    snapshot_bytes: float  # b, bytes per snapshot
    snapshot_from: str  # which passes δ and b are the median of
    # What a verifying run needs to measure the same thing again.
    store: str | None
    projection_spec: str | None
    batch_size: int | None
    repeats: int | None
    worst_medians: dict[tuple[int, str], float]  # (k, WARM or COLD): the median measured worst catch-up
    live: LiveRates | None = None  # live runs given beside the catch-up runs

    @property
    def catchup_line(self) -> Line:
        """The fitted catch-up line, without writes: cold when fitted (a restart is cold), else warm."""
        return self.cold if self.cold is not None else self.warm

    @property
    def line(self) -> Line:
        """The line the advice computes with: the catch-up line, replaying at the live runs' μ_w when given."""
        return self.under_writes(self.catchup_line)

    def under_writes(self, line: Line) -> Line:
        """``line`` replaying at the live runs' μ_w when they were given; ``line`` itself otherwise."""
        return line if self.live is None else replace(line, kind=LIVE, tail_rate=self.live.tail_rate)

    def measured_worst(self, k: int) -> float | None:
        """The median measured worst case at ``k`` on the catch-up line's kind (no writes); None if not measured."""
        return self.worst_medians.get((k, self.catchup_line.kind))

    def to_json(self) -> dict[str, Any]:
        return {
            "projection": self.projection,
            "dataset": self.dataset,
            "runs": list(self.runs),
            "measured": list(self.measured),
            "line": self.line.kind,
            "warm": self.warm.to_json(),
            "cold": None if self.cold is None else self.cold.to_json(),
            "live": None if self.live is None else self.live.to_json(),
            "replay_rate": self.replay_rate,
            "snapshot_s": self.snapshot_s,
            "snapshot_bytes": self.snapshot_bytes,
        }


def fit_line(points: Sequence[tuple[float, float]], kind: str = WARM, remedy: str = "") -> Line:
    """Least squares c = L + T/μ_tail over (tail, seconds) points; CannotFit when they pin no rising line."""
    tails = sorted({tail for tail, _ in points})
    if len(tails) < 2:
        raise CannotFit(
            f"the {kind} catch-ups were measured at {len(tails)} distinct tail(s) and a line needs 2; "
            f"measure at least two intervals with different tails{remedy}"
        )
    n = len(points)
    mean_x = sum(t for t, _ in points) / n
    mean_y = sum(s for _, s in points) / n
    sxx = sum((t - mean_x) ** 2 for t, _ in points)
    sxy = sum((t - mean_x) * (s - mean_y) for t, s in points)
    slope = sxy / sxx
    if slope <= 0:
        raise CannotFit(
            f"the {kind} catch-up time does not grow with the tail (slope {slope:.3g} s/event over tails of "
            f"{tails[0]:,.0f} to {tails[-1]:,.0f} events): the tail is lost in the fixed cost's noise; "
            f"measure larger intervals or more repeats{remedy}"
        )
    fixed = mean_y - slope * mean_x
    residuals = tuple(s - (fixed + slope * t) for t, s in points)
    total = sum((s - mean_y) ** 2 for _, s in points)
    r2 = 1.0 - sum(r * r for r in residuals) / total if total > 0 else 1.0
    return Line(kind, fixed, 1.0 / slope, r2, tuple(t for t, _ in points), residuals)


def fit_runs(runs: Sequence[Run]) -> Fit:
    """The model fitted over ``runs``: catch-up runs of one projection (name, version) over one dataset, and
    live runs of the same projection over the same data beside them."""
    if not runs:
        raise CannotFit("no run given; give one or more catch-up runs (made by catchup run)")
    catchups = [run for run in runs if not run.is_live]
    lives = [run for run in runs if run.is_live]
    if not catchups:
        raise CannotFit(
            f"{_where(lives[0])} is a live run; advise fits catch-up runs (made by catchup run) and takes live runs "
            "only beside them: give a catch-up run of the same projection and data too"
        )
    first = catchups[0]
    for run in catchups[1:]:
        if pooling_key(run) != pooling_key(first):
            raise CannotFit(
                f"runs {first.run_id} ({describe_run(first)}) and {run.run_id} ({describe_run(run)}) differ; "
                "advise fits one projection over one dataset: give runs of the same projection version and data"
            )
    for run in lives:
        if pooling_key(run)[:3] != pooling_key(first)[:3]:
            raise CannotFit(
                f"live run {run.run_id} ({describe_run(run)}) is not of run {first.run_id}'s projection and data "
                f"({describe_run(first)}); give live runs of the same projection version over the same dataset"
            )
    remedy = _remedy(first)
    values = [run.sample_values() for run in catchups]
    warm = fit_line(_points(values, catchup_phase), WARM, remedy)
    cold, cold_note = None, None
    cold_points = _points(values, cold_phase)
    if cold_points:
        try:
            cold = fit_line(cold_points, COLD, remedy + " --cold")
        except CannotFit as refusal:
            cold_note = f"cold restarts were measured but not fitted ({refusal}); the advice uses the warm line"
    measured = sorted({row.interval for run in catchups for row in run.summary if row.interval > 0})
    rate, rate_from = _replay_rate(values)
    per_snapshot, per_snapshot_bytes, snapshot_from = _snapshot_cost(catchups, values)
    config = first.config
    projection = config.get("projection") if isinstance(config.get("projection"), dict) else {}
    return Fit(
        projection=f"{first.projection.name} v{first.projection.version}",
        dataset=f"dataset {first.dataset_id}, head {first.head:,}",
        head=first.head,
        runs=tuple(run.run_id for run in runs),
        measured=tuple(measured),
        warm=warm,
        cold=cold,
        cold_note=cold_note,
        replay_rate=rate,
        replay_rate_from=rate_from,
        snapshot_s=per_snapshot,
        snapshot_bytes=per_snapshot_bytes,
        snapshot_from=snapshot_from,
        store=config.get("store"),
        projection_spec=(projection or {}).get("spec"),
        batch_size=config.get("batch_size"),
        repeats=config.get("repeats"),
        worst_medians=_measured_worst(values),
        live=_live_rates(lives),
    )


Values = dict[tuple[int, str, str], list[float]]


def _points(values: Sequence[Values], phase_of: Callable[[str], str]) -> list[tuple[float, float]]:
    """Every (tail, catch-up seconds) pair at k > 0 in the phases ``phase_of`` names, repeat by repeat."""
    points: list[tuple[float, float]] = []
    for found in values:
        for (k, phase, metric), seconds in sorted(found.items()):
            if k == 0 or metric != "catchup_s" or phase not in {phase_of(case) for case in CASES}:
                continue
            tails = found.get((k, phase, "tail_events"), [])
            points += zip(tails, seconds, strict=True)
    return points


def _measured_worst(values: Sequence[Values]) -> dict[tuple[int, str], float]:
    pooled: dict[tuple[int, str], list[float]] = {}
    for found in values:
        for kind, phase in ((WARM, catchup_phase("worst")), (COLD, cold_phase("worst"))):
            for (k, at, metric), seconds in found.items():
                if k > 0 and at == phase and metric == "catchup_s":
                    pooled.setdefault((k, kind), []).extend(seconds)
    return {key: statistics.median(seconds) for key, seconds in pooled.items()}


def _replay_rate(values: Sequence[Values]) -> tuple[float, str]:
    """μ: the median events_per_s of the k=0 passes over all repeats; without one, of every pass."""
    full = [rate for found in values for rate in found.get((0, SNAPSHOT_PASS, "events_per_s"), [])]
    if full:
        return statistics.median(full), f"{len(full)} repeats of the k=0 pass"
    every = [
        rate
        for found in values
        for (_, phase, m), got in found.items()
        if (phase, m) == (SNAPSHOT_PASS, "events_per_s")
        for rate in got
    ]
    return statistics.median(every), f"{len(every)} passes' replay without their snapshots, no k=0 measured"


def _snapshot_cost(runs: Sequence[Run], values: Sequence[Values]) -> tuple[float, float, str]:
    """δ and b: per k > 0 that took snapshots, its passes' seconds and bytes per snapshot; the median over k.

    Each pass averages over snapshots taken as the state grew from empty to the head's;
    the median over k keeps one noisy pass from deciding. The state is assumed as measured.
    """
    seconds: dict[int, list[float]] = {}
    sizes: dict[int, list[float]] = {}
    for found in values:
        for (k, phase, metric), counts in found.items():
            if k == 0 or phase != SNAPSHOT_PASS or metric != "snapshots":
                continue
            for count, spent, size in zip(
                counts, found[(k, phase, "snapshot_s")], found[(k, phase, "snapshot_bytes")], strict=True
            ):
                if count > 0:
                    seconds.setdefault(k, []).append(spent / count)
                    sizes.setdefault(k, []).append(size / count)
    if not seconds:
        raise CannotFit(
            f"no pass took a snapshot (every k exceeds the head {runs[0].head:,}); "
            f"measure intervals below the head{_remedy(runs[0])}"
        )
    ks = sorted(seconds)
    delta = statistics.median(statistics.median(seconds[k]) for k in ks)
    size = statistics.median(statistics.median(sizes[k]) for k in ks)
    where = ",".join(format_interval(k) for k in ks)
    return delta, size, f"the median over k={where} of each pass's seconds and bytes per snapshot"


def live_tail_rate(live: LiveSummary) -> tuple[float | None, str | None]:
    """μ_w, the tail rate that explains a live run's time to caught up; (None, why) when it cannot say.

    The live model (bench.live.model) with its CPU correction r (the share of its rate the
    projection kept beside the writers; 1 when none was applied) and the snapshots it took
    every K events: t = (L/r + T/(r μ')) / (1 − λ/(r μ')), 1/μ' = 1/μ + δ/K. Solved for μ
    at the measured t: r μ' = (T + λt) / (t − L/r), then 1/μ = 1/μ' − δ/K.
    """
    model = live.model
    rate = format_rate(model.append_rate)
    if live.caught_up_s is None:
        return None, f"it never caught up at {rate}: the tail replayed at {rate} or less there"
    snapshot_s = model.snapshot_s or 0.0
    uncorrected = per_event_rate(model.replay_rate, snapshot_s, live.interval)
    share = (model.effective_replay_rate or uncorrected) / uncorrected if uncorrected > 0 else 1.0
    busy = live.caught_up_s - model.load_s / share
    if busy <= 0:
        return None, "it caught up within its snapshot load: no tail to measure"
    replayed = (model.tail_events + model.append_rate * live.caught_up_s) / busy  # r μ'
    per_event = share / replayed - snapshot_s / live.interval  # 1/μ
    if per_event <= 0:
        return None, "its snapshots took longer than its whole catch-up: no tail rate left to measure"
    return 1.0 / per_event, None


def _live_rates(lives: Sequence[Run]) -> LiveRates | None:
    if not lives:
        return None
    drains = []
    for run in lives:
        assert run.live is not None, "a live run has its live results"
        rate, note = live_tail_rate(run.live)
        drains.append(LiveDrain(run.run_id, run.live.model.append_rate, rate, note))
    rates = [drain.tail_rate for drain in drains if drain.tail_rate is not None]
    if not rates:
        raise CannotFit(
            "no live run measured a tail rate (" + "; ".join(f"{d.run_id}: {d.note}" for d in drains) + "); "
            "give a live run that caught up, at a rate below the projection's"
        )
    return LiveRates(tuple(drains), statistics.median(rates))


def pooling_key(run: Run) -> tuple[object, ...]:
    """What runs are pooled by: projection name and version, dataset id, head; a live run beside them matches
    on the first three (its writers move the head)."""
    return run.projection.name, run.projection.version, run.dataset_id, run.head


def describe_run(run: Run) -> str:
    """'balances v1, dataset 1a2b3c, head 1,000,000': what advise pools a run by, as its errors name it."""
    return f"{run.projection.name} v{run.projection.version}, dataset {run.dataset_id}, head {run.head:,}"


def _where(run: Run) -> str:
    return str(run.path or run.run_id)


def _remedy(run: Run) -> str:
    """': catchup run STORE -p P --intervals 10k,1M', with the run's store and projection where recorded."""
    projection = run.config.get("projection")
    spec = projection.get("spec") if isinstance(projection, dict) else None
    store = run.config.get("store") or "STORE"
    return f": catchup run {store} -p {spec or run.projection.name} --intervals 10k,1M"
