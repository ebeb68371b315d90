"""Small real runs for the tests of figures, reports and notebooks."""

from __future__ import annotations

from dataclasses import replace
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
