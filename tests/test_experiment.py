"""The replay engine and the experiment, on real stores: stops, timings, cases, Postgres runs."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from bench.catchup_cases import catchup_cases
from bench.cli.options import flag
from bench.experiment import Experiment
from bench.experiment_config import ExperimentConfig
from bench.replay import replay
from bench.results import load_run
from bench.runner import execute_run
from generators import dataset_meta, generate
from projections import Projection
from stores import EventStore, open_store
from stores.errors import InvalidParameter
from tests.conftest import with_options
from tests.data import SMALL


class LastPosition(Projection):
    """Remembers the last position applied and every batch size: what a stop must see."""

    name = "last_position"

    def __init__(self) -> None:
        self.last = 0
        self.sizes: list[int] = []

    def apply(self, batch: pa.RecordBatch) -> None:
        self.last = batch.column("position")[-1].as_py()
        self.sizes.append(batch.num_rows)

    def snapshot(self) -> pa.Table:
        return pa.table({"last": pa.array([self.last], pa.int64())})

    @classmethod
    def restore(cls, table: pa.Table) -> LastPosition:
        projection = cls()
        projection.last = table.column("last")[0].as_py()
        return projection


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    store = open_store(str(tmp_path_factory.mktemp("experiment") / "store"))
    store.load(generate(SMALL, batch_size=8_192), dataset_meta(SMALL))
    return store


def test_replay_stops_see_the_state_at_exactly_their_position(small_store: EventStore) -> None:
    state = LastPosition()
    seen: list[tuple[int, int]] = []
    clock = replay(
        small_store,
        state,
        batch_size=4_096,
        stops=[1, 4_096, 4_097, 10_000, 29_999, 30_000],
        at_stop=lambda p: seen.append((p, state.last)),
    )
    assert seen == [(1, 1), (4_096, 4_096), (4_097, 4_097), (10_000, 10_000), (29_999, 29_999), (30_000, 30_000)]
    assert clock.events == SMALL.events == sum(state.sizes)
    assert clock.fetch_s > 0 and clock.apply_s > 0 and clock.replay_s == clock.fetch_s + clock.apply_s


def test_replay_range_and_stops_outside_it(small_store: EventStore) -> None:
    state = LastPosition()
    seen: list[int] = []
    clock = replay(small_store, state, after=1_000, upto=2_000, stops=[500, 1_500, 2_500], at_stop=seen.append)
    assert (clock.events, state.last, seen) == (1_000, 2_000, [1_500])


@pytest.mark.parametrize(
    ("interval", "head", "expected"),
    [
        (10_000, 30_000, [("expected", 20_000, 25_000), ("worst", 20_000, 29_999)]),
        (1_000, 30_000, [("expected", 29_000, 29_500), ("worst", 29_000, 29_999)]),
        (7, 30, [("expected", 21, 24), ("worst", 21, 27)]),
        (1, 30, [("expected", 30, 30), ("worst", 30, 30)]),
        (100_000, 30_000, [("expected", 0, 30_000), ("worst", 0, 30_000)]),
        (0, 30_000, []),
    ],
)
def test_catchup_cases_leave_the_tail_they_promise(
    interval: int, head: int, expected: list[tuple[str, int, int]]
) -> None:
    cases = catchup_cases(interval, head)
    assert [(c.name, c.snapshot_position, c.head) for c in cases] == expected
    for case in cases:
        assert case.head <= head and case.snapshot_position % interval == 0
    if interval and interval <= head:
        assert [c.tail for c in cases] == [interval // 2, interval - 1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"intervals": ()}, "intervals is empty"),
        ({"intervals": (0, -1)}, "intervals: -1 is negative"),
        ({"intervals": (5, 5)}, "intervals 5,5 repeats a value"),
        ({"intervals": (0,), "repeats": 0}, "repeats 0: use at least 1"),
        ({"intervals": (0,), "warmup": -2}, "warmup -2: use 0 or more"),
        ({"intervals": (0,), "batch_size": 0}, "batch_size 0: use at least 1"),
    ],
)
def test_experiment_config_refuses_bad_values(kwargs: dict[str, object], message: str) -> None:
    # The library names the parameter as Python spells it; the CLI spells it as its flag.
    with pytest.raises(InvalidParameter, match=f"^{message}") as caught:
        ExperimentConfig(**kwargs)  # type: ignore[arg-type]
    name = message.split()[0].rstrip(":")
    assert caught.value.spelled(flag).startswith(flag(name) + message[len(name) :])


def test_an_empty_store_has_nothing_to_replay(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "empty"))
    store.load(iter(()), dataset_meta(SMALL))
    with pytest.raises(InvalidParameter, match="holds no events; nothing to replay"):
        Experiment(store, LastPosition, ExperimentConfig(intervals=(0,)))


def test_samples_hold_every_repeat_and_no_warmup(small_store: EventStore) -> None:
    result = Experiment(small_store, LastPosition, ExperimentConfig(intervals=(0, 5_000), repeats=3, warmup=2)).run()
    repeats = {(s.interval, s.phase): set() for s in result.samples}
    for sample in result.samples:
        repeats[(sample.interval, sample.phase)].add(sample.repeat)
    assert repeats == {
        (0, "snapshot_pass"): {0, 1, 2},
        (5_000, "snapshot_pass"): {0, 1, 2},
        (5_000, "catchup_expected"): {0, 1, 2},
        (5_000, "catchup_worst"): {0, 1, 2},
    }
    snapshots = {s.value for s in result.samples if s.metric == "snapshots" and s.interval == 5_000}
    tails = {s.value for s in result.samples if s.metric == "tail_events" and s.phase == "catchup_worst"}
    assert (snapshots, tails) == ({6.0}, {4_999.0})
    assert not result.diverged and small_store.snapshots().list("last_position") == []


def test_a_postgres_run_verifies_and_never_records_the_password(pg_url: str, pg_schema: str, tmp_path: Path) -> None:
    secret = "s3cret-Pa55"
    uri = with_options(pg_url.replace("postgres@", f"postgres:{secret}@", 1), layout="jsonb", schema=pg_schema)
    with open_store(uri) as store:
        store.load(generate(SMALL, batch_size=8_192), dataset_meta(SMALL))
    lines: list[str] = []
    config = ExperimentConfig(intervals=(0, 10_000), repeats=2, warmup=0)
    outcome = execute_run(uri, "balances_per_event", config, results_dir=tmp_path, emit=lines.append)
    run = load_run(outcome.run.path)  # type: ignore[arg-type]
    assert all(row.verified for row in run.summary) and run.store["backend"] == "postgres"
    assert run.store["layout"] == "jsonb" and run.config["store"].count("***") == 1
    written = "".join(p.read_bytes().decode("latin-1") for p in Path(outcome.run.path).iterdir())  # type: ignore[arg-type]
    assert secret not in written and secret not in "\n".join(lines)
    assert secret not in json.dumps(run.to_json())
