"""The live-mode contract (stores.live, stores.tail), run against every backend by subclassing.

A backend's test class subclasses LiveContract and overrides the ``store`` fixture to yield
an open store on a fresh, empty location. The live appends write the events of SMALL at
their positions (``events_at``: position p is row p - 1), so whatever order the writers
get their positions in, a gap-free store always reads back as a prefix of SMALL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
import pytest

from generators import dataset_meta
from stores import EventStore
from stores.errors import SchemaMismatch, StoreIncomplete
from stores.live import AppendReceipt
from stores.schema import EVENT_SCHEMA
from stores.tail import TailReader
from tests.data import SMALL, events_of, read_all

HEAD0 = 10_000  # events loaded before live mode
PLAN = ((37, 120, 5, 250, 64, 1, 99, 300), (200, 3, 77, 150, 40, 260, 8, 12), (90, 90, 90, 90, 1, 2, 3, 400))


def events_at(at: np.ndarray) -> pa.RecordBatch:
    """The events of SMALL at positions ``at``: what catchup's writers pass, for the tests."""
    table = events_of(SMALL).take(pa.array(np.asarray(at, dtype=np.int64) - 1))
    return table.combine_chunks().to_batches()[0]


def append_plan(store: EventStore, counts: tuple[int, ...], pause_s: float = 0.0) -> list[AppendReceipt]:
    """One writer: its own appender, one append per count."""
    receipts = []
    with store.live_appender() as writer:
        for count in counts:
            receipts.append(writer.append(count, events_at))
            if pause_s:
                time.sleep(pause_s)
    return receipts


class Writers:
    """Each piece of work in a thread of its own; ``join`` re-raises the first failure."""

    def __init__(self, work: list[Callable[[], list[AppendReceipt]]]) -> None:
        self.receipts: list[AppendReceipt] = []
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._run, args=(job,)) for job in work]
        for thread in self.threads:
            thread.start()

    def _run(self, job: Callable[[], list[AppendReceipt]]) -> None:
        try:
            self.receipts.extend(job())
        except BaseException as error:  # noqa: BLE001 - re-raised by join()
            self.errors.append(error)

    def join(self) -> list[AppendReceipt]:
        for thread in self.threads:
            thread.join(timeout=60)
        if self.errors:
            raise self.errors[0]
        return self.receipts


def tail_until(reader: TailReader, target: int, timeout_s: float = 30.0) -> list[pa.RecordBatch]:
    """Poll until the reader has reached ``target``, checking every batch continues the last
    (or steps over positions the reader declared dead)."""
    batches = []
    last = reader.position
    deadline = time.monotonic() + timeout_s
    while reader.position < target:
        assert time.monotonic() < deadline, f"reader stuck at {reader.position}, waiting for {target}"
        for batch in reader.poll():
            pos = batch.column(0).to_numpy()
            assert int(pos[0]) > last and set(range(last + 1, int(pos[0]))) <= set(reader.dead)
            assert np.array_equal(pos, np.arange(pos[0], pos[0] + batch.num_rows))
            assert reader.position == int(pos[-1])
            last = int(pos[-1])
            batches.append(batch)
        time.sleep(0.005)
    return batches


class LiveContract:
    @pytest.fixture
    def store(self) -> Iterator[EventStore]:
        raise NotImplementedError("a backend's test class yields an open store on a fresh location here")

    @pytest.fixture
    def live(self, store: EventStore) -> EventStore:
        store.load(events_of(SMALL).slice(0, HEAD0).to_batches(max_chunksize=4_000), dataset_meta(SMALL))
        store.begin_live()
        return store

    def test_begin_live_refuses_an_incomplete_store(self, store: EventStore) -> None:
        def dies() -> Iterator[pa.RecordBatch]:
            yield events_of(SMALL).slice(0, 1_000).to_batches()[0]
            raise RuntimeError("writer died")

        with pytest.raises(RuntimeError):
            store.load(dies(), dataset_meta(SMALL))
        with pytest.raises(StoreIncomplete):
            store.begin_live()
        with pytest.raises(StoreIncomplete):
            store.live_appender()

    def test_concurrent_writers_write_every_position_once(self, live: EventStore) -> None:
        receipts = Writers([lambda counts=counts: append_plan(live, counts) for counts in PLAN]).join()
        total = sum(sum(counts) for counts in PLAN)
        assert sorted(r.count for r in receipts) == sorted(c for counts in PLAN for c in counts)
        assert all(r.last - r.first + 1 >= r.count for r in receipts)
        assert live.visible_head() == HEAD0 + total
        assert live.end_live() == HEAD0 + total
        assert live.head() == HEAD0 + total and live.info().head == HEAD0 + total
        # Positions 1..N, each once, each holding the event events_at made for it.
        assert read_all(live).equals(events_of(SMALL).slice(0, HEAD0 + total))

    def test_tail_reader_follows_concurrent_writers_in_order(self, live: EventStore) -> None:
        reader = TailReader(live, HEAD0, batch_size=100)
        total = sum(sum(counts) for counts in PLAN)
        writers = Writers([lambda counts=counts: append_plan(live, counts, pause_s=0.01) for counts in PLAN])
        batches = tail_until(reader, HEAD0 + total)
        writers.join()
        assert all(0 < b.num_rows <= 100 for b in batches)
        got = pa.Table.from_batches(batches, schema=EVENT_SCHEMA)
        assert got.equals(events_of(SMALL).slice(HEAD0, total))
        assert reader.dead == [] and reader.waiting_since is None
        assert list(reader.poll()) == []

    def test_read_accepts_an_upto_beyond_the_recorded_head(self, live: EventStore) -> None:
        append_plan(live, (500,))
        assert live.visible_head() == HEAD0 + 500
        assert read_all(live, after=HEAD0 - 10, upto=HEAD0 + 500).equals(events_of(SMALL).slice(HEAD0 - 10, 510))

    def test_a_second_live_run_continues_after_the_first(self, live: EventStore) -> None:
        append_plan(live, (100, 200))
        assert live.end_live() == HEAD0 + 300
        live.begin_live()
        append_plan(live, (50,))
        assert live.end_live() == HEAD0 + 350
        assert read_all(live).equals(events_of(SMALL).slice(0, HEAD0 + 350))

    def test_events_at_other_positions_are_refused_and_not_written(self, live: EventStore) -> None:
        with live.live_appender() as writer, pytest.raises(SchemaMismatch, match="positions"):
            writer.append(10, lambda at: events_at(at + 1))
        assert live.visible_head() == HEAD0
