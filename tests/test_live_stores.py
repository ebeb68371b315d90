"""Live mode on every backend (tests.live_contract), plus what only one backend has to prove:

* Postgres: commits land out of order; the tail reader must neither skip a position still
  held by an open transaction nor wait forever for one whose writer died.
* Parquet: the folder lock serialises writers in separate processes.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pytest

from stores import EventStore, open_store
from stores.errors import StoreError
from stores.live import AppendReceipt
from stores.parquet import ParquetStore
from stores.schema import EVENT_SCHEMA
from stores.tail import TailReader
from tests.data import SMALL, events_of, read_all
from tests.live_contract import HEAD0, LiveContract, append_plan, events_at, tail_until

REPO = Path(__file__).resolve().parents[1]


class TestParquetLive(LiveContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[EventStore]:
        with open_store(str(tmp_path / "store")) as store:
            yield store


class TestPostgresTypedLive(LiveContract):
    @pytest.fixture
    def store(self, pg_store_uri) -> Iterator[EventStore]:  # type: ignore[no-untyped-def]
        with open_store(pg_store_uri("typed")) as store:
            yield store


class TestPostgresJsonbLive(LiveContract):
    @pytest.fixture
    def store(self, pg_store_uri) -> Iterator[EventStore]:  # type: ignore[no-untyped-def]
        with open_store(pg_store_uri("jsonb")) as store:
            yield store


# -- Postgres: out-of-order commits and dead holes ------------------------------------------


@pytest.fixture(params=["typed", "jsonb"])
def pg_live(request: pytest.FixtureRequest, pg_store_uri) -> Iterator[EventStore]:  # type: ignore[no-untyped-def]
    with open_store(pg_store_uri(request.param)) as store:
        store.load(events_of(SMALL).slice(0, HEAD0).to_batches(max_chunksize=4_000), _meta())
        store.begin_live()
        yield store


def _meta():  # type: ignore[no-untyped-def]
    from generators import dataset_meta

    return dataset_meta(SMALL)


def test_the_reader_waits_for_a_lower_position_committed_late(pg_live: EventStore) -> None:
    reader = TailReader(pg_live, HEAD0)
    drawn = threading.Event()
    held: list[AppendReceipt] = []

    def events_noting_the_draw(at: np.ndarray) -> pa.RecordBatch:
        drawn.set()
        return events_at(at)

    def writer_a() -> None:
        with pg_live.live_appender() as writer:
            held.append(writer.append(100, events_noting_the_draw, hold_s=2.0))

    a = threading.Thread(target=writer_a)
    a.start()
    assert drawn.wait(10)
    (b,) = append_plan(pg_live, (150,))
    assert b.first == HEAD0 + 101  # A drew first, B after: B's positions are the higher ones
    assert pg_live.visible_head() == b.last
    seen_b_while_a_held = []
    until = time.monotonic() + 1.0  # well inside A's 2 s hold
    while time.monotonic() < until:
        seen_b_while_a_held += [batch for batch in reader.poll()]
        assert reader.position < HEAD0 + 1 and reader.waiting_since is not None
        time.sleep(0.02)
    assert seen_b_while_a_held == [] and reader.dead == []
    a.join(10)
    assert held and held[0].first == HEAD0 + 1
    batches = tail_until(reader, b.last)
    assert reader.dead == [] and reader.waiting_since is None
    assert pg_live.end_live() == b.last
    applied = pa.Table.from_batches(batches, schema=EVENT_SCHEMA)
    assert applied.equals(read_all(pg_live, after=HEAD0))
    assert applied.equals(events_of(SMALL).slice(HEAD0, 250))


_DIES_HOLDING = """
import sys
from stores import open_store
from tests.live_contract import events_at

def noting(at):
    print(int(at[0]), int(at[-1]), flush=True)
    return events_at(at)

with open_store(sys.argv[1]).live_appender() as writer:
    writer.append(40, noting, hold_s=600)
"""


def test_a_hole_left_by_a_killed_writer_is_declared_dead_and_skipped(pg_live: EventStore, pg_store_uri) -> None:  # type: ignore[no-untyped-def]
    uri = pg_store_uri(pg_live.layout)  # type: ignore[attr-defined]
    reader = TailReader(pg_live, HEAD0)
    (before,) = append_plan(pg_live, (10,))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    victim = subprocess.Popen(
        [sys.executable, "-c", _DIES_HOLDING, uri], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert victim.stdout is not None
        first, last = map(int, victim.stdout.readline().split())
        assert (first, last) == (HEAD0 + 11, HEAD0 + 50)
        (after,) = append_plan(pg_live, (60,))
        # The hole is inside the batch read: the run before it is applied, nothing after it.
        assert sum(batch.num_rows for batch in reader.poll()) == 10
        for _ in range(5):  # the victim holds: nothing more is read, nothing is dead
            assert list(reader.poll()) == []
            assert reader.position == before.last and reader.dead == [] and reader.waiting_since is not None
            time.sleep(0.05)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    batches = tail_until(reader, after.last, timeout_s=20)
    assert reader.dead == list(range(first, last + 1))
    applied = pa.Table.from_batches(batches, schema=EVENT_SCHEMA)
    assert applied.equals(events_of(SMALL).slice(after.first - 1, 60))
    # A reader that comes later meets the dead hole inside its first batch and steps over it.
    late = TailReader(pg_live, HEAD0)
    late_batches = tail_until(late, after.last, timeout_s=20)
    assert late.dead == reader.dead
    assert pg_live.end_live() == after.last
    assert pa.Table.from_batches(late_batches, schema=EVENT_SCHEMA).equals(read_all(pg_live, after=HEAD0))
    # The store goes on after the hole: later appends are read, the dead stay dead.
    (c,) = append_plan(pg_live, (10,))
    assert [batch.num_rows for batch in reader.poll()] == [10] and reader.position == c.last
    assert reader.dead == list(range(first, last + 1))


def test_an_appender_before_begin_live_says_so(pg_store_uri) -> None:  # type: ignore[no-untyped-def]
    with open_store(pg_store_uri("typed")) as store:
        store.load(events_of(SMALL).slice(0, 100).to_batches(), _meta())
        with pytest.raises(StoreError, match="begin_live"):
            store.live_appender()


def test_a_repeated_position_is_a_neutral_error(pg_live: EventStore, pg_url: str, pg_schema: str) -> None:
    # Rewind the sequence by hand: the next append collides with stored events.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"SELECT setval('\"{pg_schema}\".event_positions', {HEAD0 - 5})")
    with pg_live.live_appender() as writer:
        with pytest.raises(StoreError, match="repeat a key"):
            writer.append(3, events_at)
        assert pg_live.visible_head() == HEAD0
        pg_live.begin_live()  # the sequence follows the head again; the same writer goes on
        assert writer.append(2, events_at).first == HEAD0 + 1


# -- Parquet: writers in separate processes --------------------------------------------------


def parquet_writer(folder: str, counts: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """Run in a spawned process: one appender, one append per count."""
    store = ParquetStore(folder)
    with store.live_appender() as writer:
        return [(r.first, r.last, r.count) for r in (writer.append(count, events_at) for count in counts)]


def test_parquet_writers_in_two_processes_never_overlap_and_readers_see_whole_appends(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    store = ParquetStore(folder)
    store.load(events_of(SMALL).slice(0, HEAD0).to_batches(max_chunksize=4_000), _meta())
    store.begin_live()
    plans = [tuple(range(10, 40)), tuple(range(40, 10, -1))]
    total = sum(map(sum, plans))
    heads = set()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(parquet_writer, str(folder), plan) for plan in plans]
        deadline = time.monotonic() + 60
        while not all(f.done() for f in futures):
            assert time.monotonic() < deadline
            head = store.visible_head()
            heads.add(head)
            seen = read_all(store, after=HEAD0 - 1, upto=head)  # a whole prefix, nothing torn
            assert seen.num_rows == head - HEAD0 + 1
            assert np.array_equal(seen.column(0).to_numpy(), np.arange(HEAD0, head + 1))
            time.sleep(0.002)
        receipts = sorted(r for f in futures for r in f.result())
    ranges = [np.arange(first, last + 1) for first, last, _ in receipts]
    assert all(r.size == count for r, (_, _, count) in zip(ranges, receipts, strict=True))
    assert np.array_equal(np.concatenate(ranges), np.arange(HEAD0 + 1, HEAD0 + total + 1))
    assert heads <= {HEAD0} | {last for _, last, _ in receipts}  # only ever whole appends
    assert store.end_live() == HEAD0 + total
    assert read_all(store).equals(events_of(SMALL).slice(0, HEAD0 + total))


def test_a_tail_across_hundreds_of_small_files(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "store")
    store.load(events_of(SMALL).slice(0, HEAD0).to_batches(max_chunksize=4_000), _meta())
    store.begin_live()
    append_plan(store, (7,) * 300)  # one file per append
    store.append(events_of(SMALL).slice(HEAD0 + 2_100, 900).to_batches())  # the bulk append queues too
    assert store.info().details["files"] == 1 + 300 + 1
    reader = TailReader(store, HEAD0 + 1_000, batch_size=64)
    started = time.perf_counter()
    batches = list(reader.poll())
    took = time.perf_counter() - started
    assert pa.Table.from_batches(batches, schema=EVENT_SCHEMA).equals(events_of(SMALL).slice(HEAD0 + 1_000, 2_000))
    assert reader.position == HEAD0 + 3_000
    assert took < 5.0  # ~160 files opened once each; measured well under a second
    started = time.perf_counter()
    assert read_all(store, after=HEAD0 + 2_990).num_rows == 10  # a short tail opens one or two files
    assert time.perf_counter() - started < 0.5
