"""Small real runs for the tests of figures, reports and notebooks."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.experiment_config import ExperimentConfig
from bench.results import CaseSummary, IntervalSummary, Run
from bench.results.stats import Summary, summarize
from bench.runner import execute_run
from generators import LedgerParams, dataset_meta, generate
from stores import open_store
from tests.data import SMALL


def make_ledger(path: Path, params: LedgerParams = SMALL) -> str:
    """A Parquet store at ``path`` holding ``params``' events; returns its URI."""
    with open_store(str(path)) as store:
        store.load(generate(params, batch_size=8_192), dataset_meta(params))
    return str(path)


def make_run(
    store: str,
    results_dir: Path,
    projection: str = "balances",
    *,
    label: str | None = None,
    intervals: tuple[int, ...] = (0, 1_000, 10_000),
    repeats: int = 3,
) -> Run:
    """One real ``catchup run`` over ``store``, written under ``results_dir``."""
    config = ExperimentConfig(intervals=intervals, repeats=repeats, warmup=0)
    return execute_run(store, projection, config, label=label, results_dir=results_dir).run


def interval_summary(interval: int = 1_000, head: int = 30_000, **overrides: Any) -> IntervalSummary:
    """A plausible summary row of snapshot interval ``interval`` over ``head`` events, three repeats each.

    Synthetic: timings are made-up repeats summarised by stats.summarize, shaped as
    bench.summarize builds a row (at k = 0 a case is the full replay and has no parts).
    ``overrides`` replace fields of the row.
    """

    def timing(median: float) -> Summary:
        return summarize([median * 0.98, median, median * 1.03])

    replay = timing(1.5)
    full_replay_s = replay.median

    def case(tail_events: int) -> CaseSummary:
        if interval == 0:
            return CaseSummary(tail_events=head, snapshot_position=0, catchup_s=replay, speedup=1.0, verified=True)
        catchup = timing(0.01 + tail_events * 1e-5)
        return CaseSummary(
            tail_events=tail_events,
            snapshot_position=head - tail_events,
            catchup_s=catchup,
            speedup=full_replay_s / catchup.median,
            verified=True,
            load_s=timing(0.004),
            restore_s=timing(0.002),
            fetch_s=timing(tail_events * 4e-6),
            apply_s=timing(tail_events * 6e-6),
        )

    snapshots = head // interval if interval else 0
    snapshot_s = timing(0.002 * snapshots) if snapshots else summarize([0.0, 0.0, 0.0])
    row = IntervalSummary(
        interval=interval,
        head=head,
        snapshots=snapshots,
        snapshot_bytes=snapshots * 4_096.0,
        replay_s=replay,
        fetch_s=timing(0.6),
        apply_s=timing(0.9),
        events_per_s=timing(head / 1.5),
        snapshot_s=snapshot_s,
        snapshot_state_s=summarize([value * 0.25 for value in (snapshot_s.min, snapshot_s.median, snapshot_s.max)]),
        snapshot_save_s=summarize([value * 0.75 for value in (snapshot_s.min, snapshot_s.median, snapshot_s.max)]),
        overhead_pct=summarize([100 * snapshot_s.median / replay.median] * 3),
        full_replay_s=full_replay_s,
        expected=case(interval // 2),
        worst=case(interval - 1),
        verified=True,
    )
    return replace(row, **overrides)


def line_run(
    results_dir: Path,
    *,
    fixed_s: float = 0.02,
    tail_rate: float = 2e6,
    intervals: tuple[int, ...] = (0, 10_000, 100_000, 1_000_000),
    head: int = 2_000_000,
    repeats: int = 3,
    replay_rate: float = 1.6e6,
    snapshot_s: float = 0.004,
    snapshot_bytes: float = 50_000.0,
    cold: tuple[float, float] | None = None,
    noise_s: float = 0.0,
    projection: str = "balances",
    version: int = 1,
    dataset_id: str = "d1",
    created_at: datetime | None = None,
    store: str = "data/ledger",
) -> Run:
    """A catch-up run whose samples lie on c(T) = fixed_s + T/tail_rate (± noise_s by repeat), written for real.

    Each k > 0 is measured at tails k//2 (expected) and k-1 (worst); each pass's
    snapshots cost ``snapshot_s`` and ``snapshot_bytes`` apiece and its replay runs at
    ``replay_rate``. ``cold`` = (fixed, tail rate) adds cold restarts on that line.
    Summarised by bench.summarize, as a real run is.
    """
    from datetime import UTC

    from bench.results import SNAPSHOT_PASS, Sample, catchup_phase, cold_phase, write_run
    from bench.results.summary import CASE_PARTS, COLD_PARTS
    from bench.results.tables import SAMPLE_METRICS
    from bench.summarize import build_summary

    samples: list[Sample] = []

    def add(k: int, repeat: int, phase: str, metric: str, value: float) -> None:
        samples.append(Sample(k, repeat, phase, metric, float(value), SAMPLE_METRICS[phase][metric]))

    for k in intervals:
        snapshots = head // k if k else 0
        for repeat in range(repeats):
            jitter = noise_s * (repeat - (repeats - 1) / 2)
            replay = head / replay_rate
            for metric, value in (
                ("replay_s", replay),
                ("fetch_s", replay * 0.4),
                ("apply_s", replay * 0.6),
                ("events_per_s", replay_rate),
                ("snapshot_s", snapshots * snapshot_s),
                ("snapshot_state_s", snapshots * snapshot_s / 4),
                ("snapshot_save_s", snapshots * snapshot_s * 3 / 4),
                ("overhead_pct", 100 * snapshots * snapshot_s / replay),
                ("snapshots", snapshots),
                ("snapshot_bytes", snapshots * snapshot_bytes),
            ):
                add(k, repeat, SNAPSHOT_PASS, metric, value)
            if not k:
                continue
            for case, tail in (("expected", k // 2), ("worst", k - 1)):
                lines = [(catchup_phase(case), fixed_s, tail_rate, CASE_PARTS)]
                if cold is not None:
                    lines.append((cold_phase(case), cold[0], cold[1], COLD_PARTS))
                for phase, fixed, rate, parts in lines:
                    add(k, repeat, phase, "catchup_s", fixed + tail / rate + jitter)
                    add(k, repeat, phase, "tail_events", tail)
                    add(k, repeat, phase, "snapshot_position", head - tail)
                    for part in parts:
                        add(k, repeat, phase, part, (fixed + tail / rate) / len(parts))
                    if phase.startswith("cold"):
                        add(k, repeat, phase, "evicted_bytes", 1e6)
    summary, warnings = build_summary(samples, [], head)
    return write_run(
        results_dir,
        label=projection,
        created_at=created_at or datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        config={
            "store": store,
            "projection": {"spec": projection, "name": projection, "version": version, "kind": "vectorised"},
            "intervals": list(intervals),
            "repeats": repeats,
            "warmup": 0,
            "batch_size": 65_536,
            "cold": cold is not None,
        },
        environment={},
        store={"uri": store, "backend": "parquet", "head": head},
        dataset={"id": dataset_id, "params": {"events": head}},
        summary=summary,
        verification=[],
        warnings=warnings,
        samples=samples,
    )
