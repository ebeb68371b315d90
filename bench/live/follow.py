"""Live mode on a foreign source: follow the log while the system's own application writes it.

No writer of catchup's appends: the application does (in the tests, Message DB's own
``write_message``). What differs from live mode on catchup's own stores, and why:

* **Reading.** Positions of a foreign log have holes that are not holes of the events
  read: other categories, tenants or filtered-out rows sit between them. So a follower
  never waits at a missing position (stores.tail.TailReader would, at every one); it
  reads (position, settled head] as one streaming read, where the settled head is a
  visible head whose transactions in flight have all ended (bench.live.bulk.SettledHead,
  with the store's rule: none where the system commits in order or keeps a high-water
  mark, else concurrent commits' with a grace, stores.foreign.follow). A position it
  does not return at or below that bound will never be written. Dead positions are not
  listed: they cannot be told apart from events the source's filters leave out.
* **Counting.** The lag in events counts events, not positions: the events seen (the log
  at the start, then the arrivals counted every sample) less the events applied. An event
  committed late below the highest position already counted is read and applied, but not
  counted as arrived: the lag may read low by such events, never the state.
* **Arrival times.** Staleness in seconds needs when each event was committed; a foreign
  source does not say, so an arrival counts as committed when a sample first sees it (up
  to one sample period, 100 ms, late: the lag in seconds reads low by at most that).
* **Snapshots** every K events applied, at the end of the batch that reaches K (the
  positions of events yet to arrive are not known in advance); batches are 16k events.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator

import pyarrow as pa

from bench.live.bulk import SettledHead
from bench.live.writer import Commit
from stores.foreign.source_base import ForeignSource
from stores.schema import positions

# How often the arrivals are counted: once per sample of the lag (bench.live.tailing.Sampler).
ARRIVALS_EVERY_S = 0.05


class FollowReader:
    """Reads a foreign log up to its settled head, in one streaming read per poll."""

    # The tail loop's bulk reads would list every position the source's filters leave out as dead.
    reads_settled_ranges = True

    def __init__(self, store: ForeignSource, after: int, batch_size: int) -> None:
        self.store = store
        self.position = after  # the highest position read, or the settled bound a read reached
        self.batch_size = batch_size
        self.events = 0  # events handed out since the start
        self.dead: list[int] = []  # none listed: see the module docstring
        self._settled = SettledHead(store)

    def poll(self, go_on: Callable[[], bool] = lambda: True) -> Iterator[pa.RecordBatch]:
        bound = self._settled.bound()
        if bound <= self.position:
            return
        reads = self.store.read(self.position, bound, self.batch_size)
        try:
            for batch in reads:
                if not batch.num_rows:
                    continue
                self.position = int(positions(batch)[-1])
                self.events += batch.num_rows
                yield batch
                if not go_on():
                    return
            self.position = max(self.position, bound)
        finally:
            close = getattr(reads, "close", None)
            if close is not None:
                close()


class Arrivals:
    """The events arriving in the source, as the reports writers would send: one Commit per sample.

    Duck-types bench.live.writer.Reports for the sampler: ``get_nowait`` counts what arrived
    since the last count (at most every ARRIVALS_EVERY_S) and hands it out as one commit.
    """

    def __init__(self, store: ForeignSource, start_head: int, start_events: int) -> None:
        self.store = store
        self.highest = start_head
        self.seen = start_events
        self._last = 0.0

    def get_nowait(self) -> object:
        now = time.monotonic()
        if now - self._last < ARRIVALS_EVERY_S:
            raise queue.Empty
        self._last = now
        arrived = self.store.arrivals(self.highest)
        if arrived.events == 0:
            raise queue.Empty
        commit = Commit(writer=0, first=self.highest + 1, last=arrived.highest, count=arrived.events, committed_at=now)
        self.highest = arrived.highest
        self.seen += arrived.events
        return commit

    def get(self, timeout: float) -> object:
        return self.get_nowait()


class CountedLag:
    """Events behind, counted: those seen less those applied (bench.live.tailing.Sampler asks).

    ``applied_before``: the events the starting snapshot holds (0 from zero).
    """

    def __init__(self, arrivals: Arrivals, reader: FollowReader, applied_before: int) -> None:
        self.arrivals, self.reader, self.applied_before = arrivals, reader, applied_before

    def __call__(self) -> int:
        return max(0, self.arrivals.seen - self.applied_before - self.reader.events)


class Follow:
    """What the tail loop takes instead of writers' reports and a TailReader, on a foreign source."""

    def __init__(self, store: ForeignSource, start_head: int, start_events: int, after: int, applied_before: int,
                 batch_size: int) -> None:  # fmt: skip
        self.reader = FollowReader(store, after, batch_size)
        self.arrivals = Arrivals(store, start_head, start_events)
        self.behind = CountedLag(self.arrivals, self.reader, applied_before)
