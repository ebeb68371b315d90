"""Live catch-up in bulk (bench.live.bulk): a settled head never lies below a hole that can still fill,
a bulk read declares dead only what no one can commit any more, and a live run catches up in bulk reads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pytest

from bench.live.bulk import SettledHead, bulk_read
from bench.live.config import LiveConfig
from bench.live.coordinator import execute_live
from bench.results import LiveSummary, ResultsError, load_run
from bench.results.parse import Malformed
from generators import dataset_meta, generate
from projections import Projection
from stores import EventStore, open_store
from stores.schema import EVENT_SCHEMA
from stores.tail import TailReader
from tests.data import SMALL, events_of, read_all
from tests.live_contract import HEAD0, append_plan, events_at, tail_until
from tests.runs import make_ledger
from tests.test_live_run import LEDGER, _check_log
from tests.test_live_stores import _DIES_HOLDING  # the same dying writer as the tail reader's test

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def pg_live(pg_store_uri) -> Iterator[EventStore]:  # type: ignore[no-untyped-def]
    with open_store(pg_store_uri("typed")) as store:
        store.load(events_of(SMALL).slice(0, HEAD0).to_batches(max_chunksize=4_000), dataset_meta(SMALL))
        store.begin_live()
        yield store


def _read_all_of(reader: TailReader, upto: int) -> list[pa.RecordBatch]:
    return list(bulk_read(reader, upto, 64, lambda: True))


def test_a_held_commit_keeps_the_settled_head_below_its_hole(pg_live: EventStore) -> None:
    settled = SettledHead(pg_live)
    assert settled.bound() == HEAD0  # nothing in flight: the head settles at once
    drawn = threading.Event()

    def events_noting_the_draw(at: np.ndarray) -> pa.RecordBatch:
        drawn.set()
        return events_at(at)

    def writer_a() -> None:
        with pg_live.live_appender() as writer:
            writer.append(100, events_noting_the_draw, hold_s=2.0)

    a = threading.Thread(target=writer_a)
    a.start()
    assert drawn.wait(10)
    (b,) = append_plan(pg_live, (150,))  # committed above A's held positions
    assert pg_live.visible_head() == b.last
    reader = TailReader(pg_live, HEAD0)
    until = time.monotonic() + 1.0  # well inside A's 2 s hold
    while time.monotonic() < until:
        bound = settled.bound()
        assert bound == HEAD0  # B's head is visible, but A may still fill the hole below it
        assert _read_all_of(reader, bound) == [] and reader.position == HEAD0 and reader.dead == []
        time.sleep(0.02)
    a.join(10)
    # The head read while A held settles now; a new one (B's) too.
    deadline = time.monotonic() + 10
    while settled.bound() < b.last and time.monotonic() < deadline:
        time.sleep(0.01)
    assert settled.bound() == b.last
    batches = _read_all_of(reader, b.last)
    assert reader.position == b.last and reader.dead == []
    assert max(batch.num_rows for batch in batches) == 64  # in the batch size asked for
    assert pa.Table.from_batches(batches, schema=EVENT_SCHEMA).equals(events_of(SMALL).slice(HEAD0, 250))


def test_a_bulk_read_declares_a_killed_writers_hole_dead_as_the_tail_reader_does(pg_live, pg_store_uri) -> None:  # type: ignore[no-untyped-def]
    settled = SettledHead(pg_live)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    (before,) = append_plan(pg_live, (10,))
    assert settled.bound() == before.last
    victim = subprocess.Popen(
        [sys.executable, "-c", _DIES_HOLDING, pg_store_uri("typed")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert victim.stdout is not None
        first, last = map(int, victim.stdout.readline().split())
        (after,) = append_plan(pg_live, (60,))
        for _ in range(5):  # the victim holds: the settled head stays below its hole
            assert settled.bound(wait_s=0.02) == before.last
            time.sleep(0.05)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    deadline = time.monotonic() + 20
    while settled.bound() < after.last and time.monotonic() < deadline:
        time.sleep(0.01)
    assert settled.bound() == after.last
    bulk = TailReader(pg_live, HEAD0)
    batches = _read_all_of(bulk, after.last)
    assert bulk.dead == list(range(first, last + 1)) and bulk.position == after.last
    polled = TailReader(pg_live, HEAD0)
    polled_batches = tail_until(polled, after.last, timeout_s=20)
    assert polled.dead == bulk.dead
    both = [pa.Table.from_batches(b, schema=EVENT_SCHEMA) for b in (batches, polled_batches)]
    assert both[0].equals(both[1]) and both[0].equals(read_all(pg_live, after=HEAD0))


def test_a_settled_range_ending_in_dead_positions_is_stepped_over(tmp_path: Path) -> None:
    # Parquet appends commit in order (NoGaps): the visible head is settled as soon as it is read.
    with open_store(str(tmp_path / "store")) as store:
        store.load(events_of(SMALL).slice(0, HEAD0).to_batches(max_chunksize=4_000), dataset_meta(SMALL))
        store.begin_live()
        (receipt,) = append_plan(store, (300,))
        assert SettledHead(store).bound() == receipt.last
        reader = TailReader(store, 100)
        stopped = list(bulk_read(reader, receipt.last, 1_000, lambda: False))  # go_on false: one batch, then stop
        assert len(stopped) == 1 and reader.position == 100 + stopped[0].num_rows < receipt.last
        rest = _read_all_of(reader, receipt.last)
        assert reader.position == receipt.last and reader.dead == []
        applied = pa.Table.from_batches(stopped + rest, schema=EVENT_SCHEMA)
        assert applied.equals(read_all(store, after=100))


def _ledger_on(backend: str, tmp_path: Path, pg_store_uri) -> str:  # type: ignore[no-untyped-def]
    """LEDGER's events in a store of ``backend``: a Parquet folder, or a Postgres schema of its own."""
    if backend == "parquet":
        return make_ledger(tmp_path / "ledger", LEDGER)
    uri: str = pg_store_uri("typed")
    with open_store(uri) as store:
        store.load(generate(LEDGER, batch_size=8_192), dataset_meta(LEDGER))
    return uri


@pytest.mark.parametrize("backend", ["parquet", "postgres"])
def test_a_live_run_catches_up_in_bulk_reads_and_verifies(backend: str, tmp_path: Path, pg_store_uri) -> None:  # type: ignore[no-untyped-def]
    uri = _ledger_on(backend, tmp_path, pg_store_uri)
    # A poll batch far below the tail: polling alone would take the tail in dozens of reads.
    config = LiveConfig(
        interval=20_000, rate=20_000, writers=1, start_from="zero", max_duration_s=20, observe_s=0.5, batch_size=1_000
    )
    outcome = execute_live(uri, "balances", config, results_dir=tmp_path / "results")
    live = outcome.run.live
    assert outcome.verified and live is not None and live.caught_up
    assert live.tail_events == 60_000 and live.catchup_bulk_events is not None and live.catchup_reads is not None
    assert live.catchup_bulk_events >= live.tail_events  # the whole start's tail came in bulk reads
    assert 1 <= live.catchup_reads < live.tail_events // config.batch_size
    assert live.snapshots >= 3  # every K through the bulk reads too: 20k, 40k, 60k
    assert _check_log(uri, list(live.dead_positions)) == live.final_head
    assert load_run(outcome.run.path).live == live


def test_a_live_run_from_before_the_bulk_counts_loads_without_them(tmp_path: Path) -> None:
    uri = make_ledger(tmp_path / "ledger", LEDGER)
    config = LiveConfig(interval=20_000, rate=5_000, writers=1, max_duration_s=10, observe_s=0.2)
    run = execute_live(uri, "balances", config, results_dir=tmp_path / "results").run
    assert run.live is not None and run.live.catchup_reads is not None and run.live.catchup_bulk_events is not None
    run_json = run.path / "run.json"
    data = json.loads(run_json.read_text())
    assert (data["live"]["catchup_reads"], data["live"]["catchup_bulk_events"]) == (
        run.live.catchup_reads,
        run.live.catchup_bulk_events,
    )
    for key in ("catchup_reads", "catchup_bulk_events"):
        del data["live"][key]
    run_json.write_text(json.dumps(data))
    with pytest.raises(ResultsError, match=r"live\.catchup_reads is missing"):  # version 3 records them
        load_run(run.path)
    run_json.write_text(json.dumps({**data, "schema_version": 2}))  # as a version 2 run.json was
    old = load_run(run.path).live
    assert old is not None and (old.catchup_reads, old.catchup_bulk_events) == (None, None)
    assert old.verified and old.tail_events == run.live.tail_events
    with pytest.raises(Malformed, match="catchup_reads"):
        LiveSummary.from_json({**run.live.to_json(), "catchup_reads": -1})


class BatchSizes(Projection):
    """Counts events; each instance keeps the size of every batch it was given, so a test sees how each read."""

    name = "batch_sizes"
    instances: ClassVar[list[BatchSizes]] = []  # in the order made: the setup's, the tailing one, the verifier

    def __init__(self) -> None:
        self.events = 0
        self.sizes: list[int] = []
        BatchSizes.instances.append(self)

    def apply(self, batch: pa.RecordBatch) -> None:
        self.events += batch.num_rows
        self.sizes.append(batch.num_rows)

    def snapshot(self) -> pa.Table:
        return pa.table({"events": pa.array([self.events], pa.int64())})

    @classmethod
    def restore(cls, table: pa.Table) -> BatchSizes:
        state = cls()
        state.events = table.column("events")[0].as_py()
        return state

    def digest(self) -> str:
        return str(self.events)


@pytest.mark.parametrize("backend", ["parquet", "postgres"])
def test_the_bulk_catch_up_reads_in_the_catch_up_batch_size_and_the_polls_in_the_poll_size(
    backend: str,
    tmp_path: Path,
    pg_store_uri,  # type: ignore[no-untyped-def]
) -> None:
    uri = _ledger_on(backend, tmp_path, pg_store_uri)
    BatchSizes.instances.clear()
    config = LiveConfig(
        interval=20_000, rate=20_000, writers=1, start_from="zero", max_duration_s=20, observe_s=0.5,
        batch_size=1_000, catchup_batch_size=6_000,
    )  # fmt: skip
    outcome = execute_live(uri, f"{__name__}:BatchSizes", config, results_dir=tmp_path / "results")
    assert outcome.verified and outcome.run.live is not None and outcome.run.live.caught_up
    assert outcome.run.config["catchup_batch_size"] == 6_000
    setup, tailing = BatchSizes.instances[:2]
    # The setup's replay (μ) reads the whole log 6,000 at a time; so does the catch-up far from the
    # head, and near it the polls take at most 1,000.
    for reader in (setup, tailing):
        assert 1_000 < max(reader.sizes) <= 6_000  # Postgres: ADBC cuts batches by a byte hint, near the size
        assert sum(size for size in reader.sizes if size > 1_000) >= LEDGER.events - 1_000
    assert any(size <= 1_000 for size in tailing.sizes)
