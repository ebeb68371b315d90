"""The model's formulas: staleness while writes continue, the RTO's interval, the cost optimum.

Symbols (docs/advise.md): μ_tail and L the fitted catch-up line c(T) = L + T/μ_tail; δ
one snapshot's cost in projection seconds; λ the ingest rate; M the mean time between
restarts; RTO the longest a restarted projection may be stale; k the snapshot interval.

While it catches up, writes keep arriving at λ, so the backlog drains at μ_tail − λ:
a restart with a tail of T events is stale for (L + T/μ_tail) / (1 − λ/μ_tail), and
never catches up when λ ≥ μ_tail. The worst tail is k (a restart just before a
snapshot), the expected k/2.

The cost optimum is Young's (1974, "A first order approximation to the optimum
checkpoint interval", CACM 17(9)) mapped onto replay. Per second of wall time a snapshot
every k events costs λδ/k projection seconds; a restart, at rate 1/M, costs the catch-up
L + k/(2μ_tail). Their sum is least at k* = sqrt(2λδμ_tail M). In Young's terms this is
exact with the checkpoint interval measured in replay seconds, τ = k/μ_tail, and the
checkpoint cost C = λδ/μ_tail: the waste λδ/k + k/(2μ_tail M) is C/τ + τ/(2M) term by
term, and τ* = sqrt(2CM). Daly (2006, "A higher order estimate of the optimum checkpoint
interval for restart dumps", FGCS 22(3)) refines τ* for failures during the checkpoint
and the rework: τ = sqrt(2CM)(1 + sqrt(C/(2M))/3 + C/(18M)) − C for C < 2M, else τ = M.
Applied through the same mapping, k = μ_tail τ. The first-order waste is the same
function of τ in both, so Young's optimum maps exactly; Daly's higher-order terms count
restarts that strike within a segment's τ + C seconds (the checkpoint and the rework
included), and here the time between snapshots is k/λ seconds of wall time, not τ, so
they carry over as an estimate only. C/M is tiny in practice (δ in milliseconds, M in
hours), so the correction rarely changes a rounded interval, and the advice shows it
only where it does.
"""

from __future__ import annotations

import math

from bench.advise.fit import Line

DAY_S = 86_400.0


def drain_factor(line: Line, rate: float) -> float | None:
    """1 − λ/μ_tail: the share of the replay rate left to drain the backlog; None when λ ≥ μ_tail."""
    left = 1.0 - rate / line.tail_rate
    return left if left > 0 else None


def staleness(line: Line, tail_events: float, rate: float) -> float | None:
    """Seconds stale after a restart with ``tail_events`` to replay while writes continue at ``rate``."""
    left = drain_factor(line, rate)
    return None if left is None else line.seconds(tail_events) / left


def worst_staleness(line: Line, k: float, rate: float) -> float | None:
    """w(k) = (L + k/μ_tail) / (1 − λ/μ_tail); None when it never catches up (λ ≥ μ_tail)."""
    return staleness(line, k, rate)


def expected_staleness(line: Line, k: float, rate: float) -> float | None:
    """(L + k/(2μ_tail)) / (1 − λ/μ_tail); None when λ ≥ μ_tail."""
    return staleness(line, k / 2, rate)


def rto_interval(line: Line, rto_s: float, rate: float) -> float | None:
    """k_rto = μ_tail (RTO (1 − λ/μ_tail) − L): the largest k whose worst case meets the RTO.

    None when λ ≥ μ_tail; zero or below when the fixed cost L alone uses up the RTO.
    """
    left = drain_factor(line, rate)
    return None if left is None else line.tail_rate * (rto_s * left - line.fixed_s)


def young_interval(rate: float, snapshot_s: float, tail_rate: float, mtbf_s: float) -> float:
    """k* = sqrt(2 λ δ μ_tail M): snapshot cost λδ/k per second against catch-up per restart."""
    return math.sqrt(2.0 * rate * snapshot_s * tail_rate * mtbf_s)


def daly_interval(rate: float, snapshot_s: float, tail_rate: float, mtbf_s: float) -> float:
    """Daly's higher-order optimum through τ = k/μ_tail, C = λδ/μ_tail (see the module's docstring)."""
    cost = rate * snapshot_s / tail_rate
    if cost >= 2.0 * mtbf_s:
        return tail_rate * mtbf_s
    ratio = cost / (2.0 * mtbf_s)
    tau = math.sqrt(2.0 * cost * mtbf_s) * (1.0 + math.sqrt(ratio) / 3.0 + ratio / 9.0) - cost
    return tail_rate * tau


def snapshot_share(rate: float, snapshot_s: float, k: float) -> float:
    """λδ/k: the projection's seconds per second spent on snapshots (a share of one core)."""
    return rate * snapshot_s / k


def snapshots_per_day(rate: float, k: float) -> float:
    return rate * DAY_S / k


def full_replay_s(log_size: float, replay_rate: float) -> float:
    """A new projection over the whole log, without snapshots: log_size / μ, before any write arrives."""
    return log_size / replay_rate
