"""The order of the catch-up cases: seeded, shuffled per repeat, recorded, each case after its own prelude."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pytest

from bench.catchup_cases import case_order, catchup_cases
from bench.cli.text import format_summary
from bench.experiment import Experiment
from bench.experiment_config import DEFAULT_CASE_ORDER_SEED, ExperimentConfig
from bench.report.document import Table
from bench.report.tables import catchup_tables
from bench.results import IntervalSummary, load_run
from bench.results.run_set import RunSet
from bench.results.stats import summarize
from bench.results.summary import case_order_note
from bench.runner import execute_run
from generators import dataset_meta, generate
from projections import Projection
from stores import EventStore, open_store
from tests.data import SMALL
from tests.runs import interval_summary, line_run

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


# --- a worst case faster than the expected one, as show and the report say it ----------------------


def _with_cases(expected: list[float], worst: list[float]) -> IntervalSummary:
    row = interval_summary(10_000, head=1_000_000)
    return replace(
        row,
        expected=replace(row.expected, catchup_s=summarize(expected)),
        worst=replace(row.worst, catchup_s=summarize(worst)),
    )


def test_a_worst_case_at_or_above_the_expected_one_needs_no_note() -> None:
    assert case_order_note(_with_cases([0.008, 0.0081, 0.0082], [0.0085, 0.0086, 0.0087])) is None
    assert case_order_note(interval_summary(0)) is None


def test_a_worst_case_below_the_expected_one_within_the_noise_says_the_cases_cost_the_same() -> None:
    row = _with_cases([0.0080, 0.0084, 0.0090], [0.0076, 0.0078, 0.0083])
    assert case_order_note(row) == (
        "k=10,000: worst 7.80 ms < expected 8.40 ms is within the noise (their 95% CIs overlap): the worst tail's "
        "extra events cost less than the noise, so the two cases cost the same here"
    )


def test_a_worst_case_below_the_expected_one_beyond_the_noise_is_called_a_bias() -> None:
    row = _with_cases([0.0100, 0.0101, 0.0102], [0.0080, 0.0081, 0.0082])
    assert case_order_note(row) == (
        "k=10,000: worst 8.10 ms < expected 10.10 ms beyond the noise (95% CIs 8.00-8.20 and 10.00-10.20 ms do not "
        "overlap): a bias of the measurement, not of the projection"
    )


def test_show_and_the_report_table_carry_the_note(tmp_path: Path) -> None:
    run = line_run(tmp_path)
    first = run.summary[1]
    noisy = _with_cases([0.0080, 0.0084, 0.0090], [0.0076, 0.0078, 0.0083])
    run = replace(run, summary=[run.summary[0], replace(noisy, interval=first.interval), *run.summary[2:]])
    note = case_order_note(run.summary[1])
    assert note is not None and note.startswith(f"k={first.interval:,}: worst 7.80 ms")
    assert f"\nnote: {note}\n" in format_summary(run) + "\n"
    (table,) = [block for block in catchup_tables(RunSet.of([run])) if isinstance(block, Table)][:1]
    assert table.note.endswith(f" Note, {note}.")
