"""The recommendation: an interval, the constraint that binds, the reasons, and the candidates around it.

k* (the cost optimum) when the restart rate is known and its worst case meets the RTO at
every rate given (--rate, and --peak-rate when given), else k_rto, the largest k that
meets it; rounded down to a readable value (1, 2, 2.5 or 5 × 10^n), so the rounded
interval meets the RTO too. Never an interval whose predicted worst case exceeds the RTO:
when none meets it, there is no recommendation, and the reasons say why and what would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.advise import model
from bench.advise.fit import Fit
from bench.units import approx_interval, format_bytes, format_duration, format_interval, format_rate, format_seconds
from stores.errors import InvalidParameter

READABLE = (1.0, 2.0, 2.5, 5.0)  # the mantissas of a readable interval

# What decided the recommendation, or why there is none: each label once, with what it means.
BINDING = {
    "cost-optimum": "the cost optimum k* meets the RTO",
    "rto": "the RTO at the ingest rate: the largest k whose worst case meets it",
    "rto-at-peak": "the RTO at the peak rate: the largest k whose worst case meets it there",
    "never-catches-up": "writes arrive at least as fast as the tail replays: no k catches up",
    "fixed-cost": "the fixed cost of a catch-up alone uses up the RTO: no k meets it",
    "storage-budget": "the snapshots kept exceed the storage budget",
}
# What would make an RTO reachable, said when none is.
REMEDIES = (
    "a faster projection (a higher μ_tail)",
    "partitioned replay (P workers, each replaying its share of the tail)",
    "a lower ingest rate per projection",
)


@dataclass(frozen=True)
class AdviceInputs:
    """What the user knows of production: the RTO, the ingest rate, how often restarts happen, the log."""

    rto_s: float  # RTO: the longest a restarted projection may be stale
    rate: float  # λ, events/s
    peak_rate: float | None = None  # a peak λ the RTO must also hold at
    mtbf_s: float | None = None  # M: mean time between restarts; None: no cost optimum
    log_size: int | None = None  # events in production, for the full replay without snapshots
    retain: int = 2  # snapshots kept
    storage_budget: float | None = None  # bytes the kept snapshots may take

    def __post_init__(self) -> None:
        checks = (
            ("rto_s", self.rto_s > 0, f"{self.rto_s:g} s is not above 0; give a duration such as 30s"),
            ("rate", self.rate > 0, f"{self.rate:g} is not above 0; give events per second such as 5k"),
            (
                "peak_rate",
                self.peak_rate is None or self.peak_rate >= self.rate,
                f"{self.peak_rate or 0:g} is below rate {self.rate:g}; a peak is at least the ingest rate",
            ),
            ("mtbf_s", self.mtbf_s is None or self.mtbf_s > 0, f"{self.mtbf_s or 0:g} s is not above 0"),
            ("log_size", self.log_size is None or self.log_size > 0, f"{self.log_size} is not above 0 events"),
            ("retain", self.retain >= 1, f"{self.retain} is below 1; keep at least one snapshot"),
            (
                "storage_budget",
                self.storage_budget is None or self.storage_budget > 0,
                f"{self.storage_budget or 0:g} bytes is not above 0",
            ),
        )
        for name, ok, problem in checks:
            if not ok:
                raise InvalidParameter(f"{name} {problem}", name)

    def rates(self) -> tuple[tuple[str, float], ...]:
        """The rates the RTO must hold at, each with the binding label it gives."""
        peak = () if self.peak_rate is None else (("rto-at-peak", self.peak_rate),)
        return (("rto", self.rate), *peak)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Candidate:
    """One interval in the table: measured or predicted, with what the model says of it."""

    interval: int
    measured: bool
    recommended: bool
    expected_s: float | None  # expected staleness at λ; None: never catches up
    worst_s: float | None  # worst staleness at λ
    worst_peak_s: float | None  # at the peak rate; None without one, or never
    measured_worst_s: float | None  # the measured worst catch-up, without writes
    snapshot_share: float  # λδ/k, of one core
    snapshots_per_day: float
    meets_rto: bool

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Advice:
    inputs: AdviceInputs
    fit: Fit
    interval: int | None  # the recommended k; None when no k meets the RTO
    binding: str  # one of BINDING
    reasons: tuple[str, ...]  # lines, in reading order
    candidates: tuple[Candidate, ...]
    k_rto: float | None  # the least over the rates given; None when one never catches up
    k_young: float | None  # k*; None without a restart rate
    k_daly: float | None
    storage_bytes: float  # retain × b
    full_replay_s: float | None  # at log_size, before writes; None without --log-size

    def to_json(self) -> dict[str, Any]:
        return {
            "interval": self.interval,
            "binding": self.binding,
            "binding_means": BINDING[self.binding],
            "reasons": list(self.reasons),
            "inputs": self.inputs.to_json(),
            "fit": self.fit.to_json(),
            "k_rto": self.k_rto,
            "k_young": self.k_young,
            "k_daly": self.k_daly,
            "storage_bytes": self.storage_bytes,
            "full_replay_s": self.full_replay_s,
            "candidates": [candidate.to_json() for candidate in self.candidates],
        }


def readable_floor(value: float) -> int | None:
    """The largest readable interval (1, 2, 2.5, 5 × 10^n, whole) at most ``value``; None below 1."""
    if not value >= 1:
        return None
    below = [k for k in readable_between(1, value) if k <= value]
    return below[-1]


def readable_between(low: float, high: float) -> list[int]:
    """Every readable interval (a whole number of events) from ``low`` to ``high``, ascending."""
    found: set[int] = set()
    power = 0 if low < 10 else math.floor(math.log10(low)) - 1  # one decade early: log10 may round up
    while 10.0**power <= high:
        for mantissa in READABLE:
            # Integer arithmetic, so 2.5M is exactly 2,500,000 and 2.5 (not whole) is never one.
            tenths = round(mantissa * 10) * 10**power
            if tenths % 10 == 0 and low <= tenths // 10 <= high:
                found.add(tenths // 10)
        power += 1
    return sorted(found)


def advise(fit: Fit, inputs: AdviceInputs) -> Advice:
    """The recommended interval for ``inputs``, from ``fit``, with its reasons and candidates."""
    line = fit.line
    reasons = [_fit_line(fit), *([fit.cold_note] if fit.cold_note else []), *_live_lines(fit), _measures_line(fit)]
    storage = inputs.retain * fit.snapshot_bytes
    full = None if inputs.log_size is None else model.full_replay_s(inputs.log_size, fit.replay_rate)
    if full is not None and inputs.log_size is not None:
        reasons.append(_full_replay_line(inputs, fit, full))
    young = daly = None
    if inputs.mtbf_s is not None:
        young = model.young_interval(inputs.rate, fit.snapshot_s, line.tail_rate, inputs.mtbf_s)
        daly = model.daly_interval(inputs.rate, fit.snapshot_s, line.tail_rate, inputs.mtbf_s)
    limits = [(label, rate, model.rto_interval(line, inputs.rto_s, rate)) for label, rate in inputs.rates()]
    binding, chosen, limit = _decide(inputs, limits, young, storage, reasons, fit)
    interval = None if chosen is None else max(1, readable_floor(chosen) or 1)
    if interval is not None and limit is not None:
        interval = min(interval, readable_floor(limit) or 1)  # the rounding never crosses the RTO
    if interval is not None:
        reasons.append(_recommendation_line(inputs, fit, interval, binding, young, daly))
        reasons += _extrapolation_lines(fit, interval)
    candidates = _candidates(fit, inputs, interval, limit)
    return Advice(
        inputs=inputs,
        fit=fit,
        interval=interval,
        binding=binding,
        reasons=tuple(reasons),
        candidates=candidates,
        k_rto=limit,
        k_young=young,
        k_daly=daly,
        storage_bytes=storage,
        full_replay_s=full,
    )


def _decide(
    inputs: AdviceInputs,
    limits: list[tuple[str, float, float | None]],
    young: float | None,
    storage: float,
    reasons: list[str],
    fit: Fit,
) -> tuple[str, float | None, float | None]:
    """(binding label, the interval before rounding or None, k_rto over every rate or None)."""
    line = fit.line
    rto = format_seconds(inputs.rto_s)
    for label, rate, k_rto in limits:
        at = f"at {format_rate(rate)}{' (the peak)' if label == 'rto-at-peak' else ''}"
        if k_rto is None:
            reasons.append(
                f"no k meets the RTO {rto}: {at} writes arrive at least as fast as the tail replays "
                f"(μ_tail {format_rate(line.tail_rate)}), so a restarted projection never catches up; "
                f"what would: {'; '.join(REMEDIES)}"
            )
            return "never-catches-up", None, None
        if k_rto < 1:
            left = inputs.rto_s * (1 - rate / line.tail_rate)
            reasons.append(
                f"no k meets the RTO {rto}: {at} the fixed cost L {format_seconds(line.fixed_s)} alone exceeds "
                f"RTO × (1 − λ/μ_tail) = {format_seconds(left)}; what would: a longer RTO, a faster snapshot load "
                f"and restore (a smaller state, a faster store), or {'; '.join(REMEDIES)}"
            )
            return "fixed-cost", None, k_rto
    label, rate, limit = min(limits, key=lambda item: item[2] or 0.0)
    assert limit is not None
    reasons.append(
        f"k_rto = μ_tail (RTO (1 − λ/μ_tail) − L) = {approx_interval(limit)} events "
        f"at {format_rate(rate)}: the largest k whose worst case meets the RTO {rto}"
    )
    if inputs.storage_budget is not None and storage > inputs.storage_budget:
        reasons.append(
            f"keeping {inputs.retain} snapshot(s) of {format_bytes(fit.snapshot_bytes)} takes {format_bytes(storage)}, "
            f"over the storage budget {format_bytes(inputs.storage_budget)}, whatever k; keep fewer (--retain) "
            "or allow more"
        )
        return "storage-budget", None, limit
    if young is None:
        reasons.append(
            "no restart rate given (--restarts or --mtbf): no cost optimum, so the largest k meeting the RTO, "
            "which takes the fewest snapshots"
        )
        return label, limit, limit
    if young <= limit:
        return "cost-optimum", young, limit
    reasons.append(
        f"the cost optimum k* {approx_interval(young)} would miss the RTO "
        f"(worst {_seconds(model.worst_staleness(line, young, rate))} at {format_rate(rate)}): k_rto binds"
    )
    return label, limit, limit


def _candidates(fit: Fit, inputs: AdviceInputs, interval: int | None, limit: float | None) -> tuple[Candidate, ...]:
    line = fit.line
    anchors = [*fit.measured, *([interval] if interval else [])]
    low, high = min(anchors), max(anchors)
    if limit is not None and limit >= 1:
        # One readable step past the RTO's limit shows where it stops holding, within reason.
        above = next((k for k in readable_between(limit, 10 * limit) if k > limit), None)
        if above is not None and above <= 10 * high:
            high = max(high, above)
    ks = sorted({*readable_between(low, high), *fit.measured, *([interval] if interval else [])})
    rows = []
    for k in ks:
        worst = model.worst_staleness(line, k, inputs.rate)
        peak = None if inputs.peak_rate is None else model.worst_staleness(line, k, inputs.peak_rate)
        meets = all(
            (w := model.worst_staleness(line, k, rate)) is not None and w <= inputs.rto_s for _, rate in inputs.rates()
        )
        rows.append(
            Candidate(
                interval=k,
                measured=k in fit.measured,
                recommended=k == interval,
                expected_s=model.expected_staleness(line, k, inputs.rate),
                worst_s=worst,
                worst_peak_s=peak,
                measured_worst_s=fit.measured_worst(k),
                snapshot_share=model.snapshot_share(inputs.rate, fit.snapshot_s, k),
                snapshots_per_day=model.snapshots_per_day(inputs.rate, k),
                meets_rto=meets,
            )
        )
    return tuple(rows)


def _fit_line(fit: Fit) -> str:
    line = fit.catchup_line
    tails = sorted(set(line.tails))
    kind = "cold restarts (a fresh process, page cache evicted)" if line.kind == "cold" else "warm catch-ups"
    return (
        f"fit over {line.n} {kind} of {fit.projection} ({fit.dataset}): catch-up = {format_seconds(line.fixed_s)} "
        f"+ tail / {format_rate(line.tail_rate)}; R² {line.r2:.3f}, "
        f"residuals RMS {format_seconds(line.rms_residual_s)}, "
        f"tails {tails[0]:,.0f} to {tails[-1]:,.0f} events; "
        + (
            f"the advice uses this cold line, as a restart is cold (warm catch-ups: "
            f"{format_seconds(fit.warm.fixed_s)} + tail / {format_rate(fit.warm.tail_rate)})"
            if line.kind == "cold"
            else "the advice uses this warm line (catchup run --cold measures cold restarts)"
        )
    )


def _live_lines(fit: Fit) -> list[str]:
    """What the live runs given measured, and that the advice replays at their μ_w."""
    if fit.live is None:
        return []
    line = fit.catchup_line
    each = "; ".join(
        f"{drain.run_id} at {format_rate(drain.append_rate)}: "
        + (format_rate(drain.tail_rate) if drain.tail_rate is not None else f"none ({drain.note})")
        for drain in fit.live.drains
    )
    ratio = fit.live.tail_rate / line.tail_rate
    return [
        f"while writes continued, live runs replayed the tail at μ_w {format_rate(fit.live.tail_rate)} (the median; "
        f"{each}; each on the machine to itself, its snapshots left out), {ratio:.2f}x the catch-up line's "
        f"{format_rate(line.tail_rate)}: the advice keeps L {format_seconds(line.fixed_s)} and replays at μ_w, as a "
        "restart in production catches up while the application writes"
    ]


def _measures_line(fit: Fit) -> str:
    return (
        f"μ full replay {format_rate(fit.replay_rate)} (the median of {fit.replay_rate_from}); "
        f"δ {format_seconds(fit.snapshot_s)} and b {format_bytes(fit.snapshot_bytes)} per snapshot "
        f"({fit.snapshot_from}; the state is assumed as measured)"
    )


def _full_replay_line(inputs: AdviceInputs, fit: Fit, full: float) -> str:
    log = format_interval(inputs.log_size or 0)
    left = 1 - inputs.rate / fit.replay_rate
    live = (
        f"{format_duration(full / left)} while writes continue at {format_rate(inputs.rate)}"
        if left > 0
        else (f"never caught up while writes continue at {format_rate(inputs.rate)}")
    )
    return (
        f"without snapshots, a new projection over {log} events replays for {format_duration(full)} at μ; stale {live}"
    )


def _recommendation_line(
    inputs: AdviceInputs, fit: Fit, k: int, binding: str, young: float | None, daly: float | None
) -> str:
    line = fit.line
    worst = model.worst_staleness(line, k, inputs.rate)
    parts = [
        f"recommended k = {format_interval(k)}: {BINDING[binding]}",
        f"worst staleness {_seconds(worst)} at {format_rate(inputs.rate)} "
        f"against the RTO {format_seconds(inputs.rto_s)}",
    ]
    if inputs.peak_rate is not None:
        parts.append(
            f"{_seconds(model.worst_staleness(line, k, inputs.peak_rate))} at the peak {format_rate(inputs.peak_rate)}"
        )
    parts.append(f"snapshots take {share_text(model.snapshot_share(inputs.rate, fit.snapshot_s, k))} of a core")
    text = "; ".join(parts)
    if young is not None and inputs.mtbf_s is not None:
        text += (
            f"; k* = sqrt(2 λ δ μ_tail M) = {approx_interval(young)} (Young 1974) with a restart every "
            f"{format_duration(inputs.mtbf_s)}"
        )
        if daly is not None and readable_floor(daly) != readable_floor(young):
            text += f"; Daly's higher-order estimate (2006) rounds to {format_interval(readable_floor(daly) or 1)}"
    return text


def _extrapolation_lines(fit: Fit, k: int) -> list[str]:
    """Where the recommendation lies outside what was measured, said plainly."""
    lines = []
    largest = max(fit.measured)
    if k > largest:
        lines.append(
            f"k = {format_interval(k)} is beyond the largest measured k ({format_interval(largest)}): "
            "an extrapolation of the line; measure it (--verify) before relying on it"
        )
    if k > fit.head:
        lines.append(
            f"k = {format_interval(k)} is beyond the runs' head ({fit.head:,} events): the state is assumed "
            "to stay as measured over a longer log"
        )
    return lines


def share_text(share: float) -> str:
    """A share of one core, three significant figures: 1.84%, 0.0123%."""
    return f"{share * 100:.3g}%"


def _seconds(value: float | None) -> str:
    return "never" if value is None else format_seconds(value)
