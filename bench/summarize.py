"""From raw samples to the per-interval summary of run.json, and its warnings.

Each summary row is one snapshot interval. Timings are stats.Summary objects (median,
IQR, min, max, 95% CI of the median, CV) over the measured repeats; counts that do not
vary between repeats (snapshots taken, bytes, tail events) are their median.
"""

from __future__ import annotations

from collections import defaultdict

from bench.experiment import Check
from bench.results import (
    CASES,
    SNAPSHOT_PASS,
    CaseSummary,
    ColdSummary,
    IntervalSummary,
    Sample,
    catchup_phase,
    cold_phase,
)
from bench.results.stats import Summary, summarize
from bench.results.summary import CASE_PARTS, COLD_PARTS, PASS_TIMINGS

Values = dict[tuple[int, str, str], list[float]]


def build_summary(samples: list[Sample], checks: list[Check], head: int) -> tuple[list[IntervalSummary], list[str]]:
    values: Values = defaultdict(list)
    intervals: list[int] = []
    for sample in samples:
        values[(sample.interval, sample.phase, sample.metric)].append(sample.value)
        if sample.interval not in intervals:
            intervals.append(sample.interval)
    verified = {(c.interval, c.case): c.ok for c in checks}
    full_replay = values.get((0, SNAPSHOT_PASS, "replay_s"))
    full_replay_s = summarize(full_replay).median if full_replay else None
    rows: list[IntervalSummary] = []
    warnings: list[str] = []
    for interval in intervals:
        stats = {m: summarize(values[(interval, SNAPSHOT_PASS, m)]) for m in PASS_TIMINGS}
        # The reference for "against full replay": the k=0 pass when it ran, else this
        # interval's own replay time, which is a full replay with the snapshot time left out.
        reference = full_replay_s if full_replay_s is not None else stats["replay_s"].median
        cases = {}
        for case in CASES:
            ok = verified.get((interval, case), verified.get((interval, SNAPSHOT_PASS), True))
            cold = _cold(values, interval, case, verified.get((interval, cold_phase(case)), True))
            cases[case] = _case(values, interval, case, head, stats["replay_s"], reference, ok, cold)
        row = IntervalSummary(
            interval=interval,
            head=head,
            snapshots=_median(values[(interval, SNAPSHOT_PASS, "snapshots")]),
            snapshot_bytes=_median(values[(interval, SNAPSHOT_PASS, "snapshot_bytes")]),
            **stats,
            full_replay_s=reference,
            expected=cases["expected"],
            worst=cases["worst"],
            verified=all(ok for (k, _), ok in verified.items() if k == interval),
        )
        rows.append(row)
        if interval > head:
            warnings.append(
                f"k={interval:,} exceeds the head {head:,}: no snapshot is taken, so catching up is a full replay"
            )
        warnings += [line for noise in row.noise_checks() if (line := noise.warning)]
    for check in checks:
        if not check.ok:
            warnings.append(check.divergence_line)
    if samples and max(s.repeat for s in samples) == 0:
        warnings.append("one repeat only: no spread or confidence interval; use --repeats 5 or more")
    return rows, warnings


def _case(
    values: Values,
    interval: int,
    case: str,
    head: int,
    replay: Summary,
    reference: float,
    verified: bool,
    cold: ColdSummary | None,
) -> CaseSummary:
    if interval == 0:  # no snapshots: catching up is the full replay from 0
        return CaseSummary(tail_events=head, snapshot_position=0, catchup_s=replay, speedup=1.0, verified=verified)
    phase = catchup_phase(case)
    catchup = summarize(values[(interval, phase, "catchup_s")])
    return CaseSummary(
        tail_events=_median(values[(interval, phase, "tail_events")]),
        snapshot_position=_median(values[(interval, phase, "snapshot_position")]),
        catchup_s=catchup,
        speedup=reference / max(catchup.median, 1e-12),
        verified=verified,
        **{part: summarize(values[(interval, phase, part)]) for part in CASE_PARTS},
        cold=cold,
    )


def _cold(values: Values, interval: int, case: str, verified: bool) -> ColdSummary | None:
    phase = cold_phase(case)
    if not values.get((interval, phase, "catchup_s")):
        return None  # not measured: a run without --cold, or k = 0 (no snapshot to restart from)
    return ColdSummary(
        catchup_s=summarize(values[(interval, phase, "catchup_s")]),
        **{part: summarize(values[(interval, phase, part)]) for part in COLD_PARTS},
        evicted_bytes=_median(values[(interval, phase, "evicted_bytes")]),
        verified=verified,
    )


def _median(values: list[float]) -> float:
    return summarize(values).median if values else 0.0
