"""The order of the catch-up cases: seeded, shuffled per repeat, recorded, each case after its own prelude."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pytest

from bench.catchup_cases import case_order, catchup_cases
from bench.experiment import Experiment
from bench.experiment_config import DEFAULT_CASE_ORDER_SEED, ExperimentConfig
from bench.results import load_run
from bench.runner import execute_run
from generators import dataset_meta, generate
from projections import Projection
from stores import EventStore, open_store
from tests.data import SMALL

REPEATS = 8


class CountingCatchups(Projection):
    """Counts events; every restore logs the snapshot position it came from, so a test sees the catch-ups' order."""

    name = "counting_catchups"
    restores: ClassVar[list[int]] = []

    def __init__(self) -> None:
        self.events = 0

    def apply(self, batch: pa.RecordBatch) -> None:
        self.events += batch.num_rows

    def snapshot(self) -> pa.Table:
        return pa.table({"events": pa.array([self.events], pa.int64())})

    @classmethod
    def restore(cls, table: pa.Table) -> CountingCatchups:
        projection = cls()
        projection.events = table.column("events")[0].as_py()
        cls.restores.append(projection.events)
        return projection


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    store = open_store(str(tmp_path_factory.mktemp("case-order") / "store"))
    store.load(generate(SMALL, batch_size=8_192), dataset_meta(SMALL))
    return store


def orders(seed: int, interval: int = 10_000) -> list[list[str]]:
    cases = catchup_cases(interval, SMALL.events)
    return [[case.name for case in case_order(cases, seed, interval, repeat)] for repeat in range(REPEATS)]


def test_the_order_is_the_same_for_the_same_seed_and_varies_across_repeats_and_seeds() -> None:
    first = orders(DEFAULT_CASE_ORDER_SEED)
    assert first == orders(DEFAULT_CASE_ORDER_SEED)
    assert all(sorted(order) == ["expected", "worst"] for order in first)
    # Counterbalanced: each pair of repeats measures the cases in opposite orders.
    assert all(first[repeat] == first[repeat + 1][::-1] for repeat in range(0, REPEATS, 2))
    assert sum(order[0] == "expected" for order in first) == REPEATS // 2
    assert len({tuple(first[repeat]) for repeat in range(0, REPEATS, 2)}) == 2  # and the pairs are shuffled
    assert first != orders(DEFAULT_CASE_ORDER_SEED + 1)
    assert first != orders(DEFAULT_CASE_ORDER_SEED, interval=5_000)  # seeded per interval too


def test_a_run_records_the_order_it_measured_and_every_case_verifies(small_store: EventStore) -> None:
    # Snapshots every 8,000 events: the expected case (tail 4,000) restores from 24,000 and the worst
    # (tail 7,999) from 16,000, so the restores tell the cases apart.
    config = ExperimentConfig(intervals=(8_000,), repeats=REPEATS, warmup=0, case_order_seed=5)
    CountingCatchups.restores.clear()
    result = Experiment(small_store, CountingCatchups, config).run()
    assert not result.diverged and {check.case for check in result.checks} == {"snapshot_pass", "expected", "worst"}
    rank = {(s.repeat, s.phase): s.value for s in result.samples if s.metric == "order" and s.unit == "rank"}
    recorded = [
        sorted(("expected", "worst"), key=lambda case: rank[(repeat, f"catchup_{case}")]) for repeat in range(REPEATS)
    ]
    assert recorded == orders(5, interval=8_000)
    assert {rank[(r, "catchup_expected")] + rank[(r, "catchup_worst")] for r in range(REPEATS)} == {3.0}
    # Each timed case comes right after an untimed catch-up of itself: the restores go in pairs.
    snapshot_of = {"expected": 24_000, "worst": 16_000}
    assert CountingCatchups.restores == [snapshot_of[case] for order in recorded for case in order for _ in (1, 2)]


def test_a_written_run_loads_with_its_order_and_seed(small_store: EventStore, tmp_path: Path) -> None:
    config = ExperimentConfig(intervals=(0, 10_000), repeats=3, warmup=1)
    outcome = execute_run(small_store.info().uri, "balances", config, results_dir=tmp_path)
    run = load_run(outcome.run.path)  # type: ignore[arg-type]
    assert run.config["case_order_seed"] == DEFAULT_CASE_ORDER_SEED and all(row.verified for row in run.summary)
    values = run.sample_values()
    expected, worst = values[(10_000, "catchup_expected", "order")], values[(10_000, "catchup_worst", "order")]
    ranks = list(zip(expected, worst, strict=True))
    assert len(ranks) == 3 and all(sorted(pair) == [1.0, 2.0] for pair in ranks)
    assert (0, "catchup_expected", "order") not in values  # no catch-up without snapshots
