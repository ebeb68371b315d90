"""Catching up and tailing while the writers append: the loop, the lag sampler, the staleness clock.

A fresh projection loads the starting snapshot (or starts from zero), then catches up:
while more than one poll behind, in one streaming read of the settled range, as the
runner reads (bench.live.bulk), and near the head by polling through
``stores.tail.TailReader``; neither skips a position that may still commit. It takes
snapshots every K events. A sampler thread records time, head, position
and lag every 100 ms. The loop ends ``observe_s`` seconds after catching up, at
``max_duration_s`` without catching up, or when every writer has failed.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import count

import pyarrow as pa

from bench.live.bulk import SettledHead, bulk_read
from bench.live.config import DRAIN_TIMEOUT_S, SAMPLE_PERIOD_S, LiveConfig, LiveFailed
from bench.live.follow import Arrivals, Follow, FollowReader
from bench.live.writer import Commit, Reports, WriterFailed
from bench.replay import ReplayClock, Stops, apply_batches, projection_code, restore
from bench.results import TIMESERIES_SCHEMA
from projections import Projection
from stores.base import READ_BATCH_SIZE, EventStore
from stores.tail import TailReader


@dataclass(frozen=True)
class LagSample:
    """One row of the time series (bench.results.TIMESERIES_SCHEMA says what each is)."""

    t_s: float
    head: int
    position: int
    lag_events: int
    lag_s: float
    appended: int


@dataclass
class Tailed:
    """What the catch-up and tail loop leaves: the sampler's record, the projection and where it stands."""

    sampler: Sampler
    projection: Projection
    reader: TailReader | FollowReader
    snapshots_taken: int
    catchup_reads: int = 0  # streaming reads that applied events before caught up, bulk or poll
    catchup_bulk_events: int = 0  # events applied by bulk reads before caught up


class StalenessClock:
    """Commits not yet fully applied, for the age of the oldest unapplied event."""

    def __init__(self, start_head: int, started_at: float) -> None:
        self.start_head = start_head
        self.started_at = started_at
        self.head = start_head
        self.appended = 0
        self._pending: list[Commit] = []

    def record(self, commit: Commit) -> None:
        self.head = max(self.head, commit.last)
        self.appended += commit.count
        self._pending.append(commit)

    def lag_s(self, position: int, now: float) -> float:
        if position < self.start_head:
            return now - self.started_at
        self._pending = [c for c in self._pending if c.last > position]
        return now - min(c.committed_at for c in self._pending) if self._pending else 0.0


class Sampler(threading.Thread):
    """Every period: drain the writers' reports, then record one row of the time series."""

    def __init__(
        self,
        reports: Reports | Arrivals,
        clock: StalenessClock,
        reader: TailReader | FollowReader,
        period_s: float,
        behind: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(name="catchup-live-sampler", daemon=True)
        self.reports, self.clock, self.reader, self.period_s = reports, clock, reader, period_s
        # Events behind: by default positions are counts (catchup's own stores); a follower counts.
        self.behind = behind or (lambda: max(self.clock.head, self.reader.position) - self.reader.position)
        self.rows: list[LagSample] = []
        self.failures: list[tuple[int, str]] = []  # (writer, one line)
        self.halt = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        next_at = self.clock.started_at
        while not self.halt.is_set():
            self.sample()
            next_at += self.period_s
            self.halt.wait(max(0.0, next_at - time.monotonic()))

    def drain(self) -> None:
        while True:
            try:
                self.take(self.reports.get_nowait())
            except queue.Empty:
                return

    def take(self, report: object) -> None:
        if isinstance(report, Commit):
            self.clock.record(report)
        elif isinstance(report, WriterFailed):
            self.failures.append((report.writer, report.message))

    def sample(self) -> None:
        with self.lock:
            self.drain()
            now = time.monotonic()
            position = self.reader.position
            head = max(self.clock.head, position)
            lag_s = self.clock.lag_s(position, now)
            self.rows.append(
                LagSample(
                    t_s=now - self.clock.started_at,
                    head=head,
                    position=position,
                    lag_events=self.behind(),
                    lag_s=lag_s,
                    appended=self.clock.appended,
                )
            )

    def lag_events(self) -> int:
        with self.lock:
            return self.behind()


def load_snapshot(store: EventStore, projection_cls: type[Projection], position: int) -> Projection:
    snapshots = store.snapshots()
    info = snapshots.latest(projection_cls.name, at_or_before=position)
    if info is None or info.position != position:
        raise LiveFailed(f"the starting snapshot at {position:,} is missing; the store changed during setup")
    table = snapshots.load(info)
    return restore(projection_cls, table)


def catch_up_and_tail(
    store: EventStore,
    projection_cls: type[Projection],
    config: LiveConfig,
    start_head: int,
    start_position: int,
    t0: float,
    reports: Reports | Arrivals,
    say: Callable[[str], None],
    on_caught_up: Callable[[], None] = lambda: None,
    follow: Follow | None = None,
) -> Tailed:
    """From the starting snapshot (or zero), catch up and keep tailing until the run is over.

    ``on_caught_up`` is called once, the moment the projection is caught up (the CPU meter's window ends there).
    ``follow``: a foreign source followed as its application writes (bench.live.follow); ``reports``
    are then its arrivals.
    """
    if start_position > 0:
        projection = load_snapshot(store, projection_cls, start_position)
    else:
        with projection_code(projection_cls, "__init__"):
            projection = projection_cls()
    clock = StalenessClock(start_head, t0)
    if follow is None:
        reader: TailReader | FollowReader = TailReader(store, after=start_position, batch_size=config.batch_size)
        sampler = Sampler(reports, clock, reader, SAMPLE_PERIOD_S)
    else:
        reader = follow.reader
        sampler = Sampler(reports, clock, reader, SAMPLE_PERIOD_S, behind=follow.behind)
    tailed = Tailed(sampler, projection, reader, snapshots_taken=0)
    snapshots = store.snapshots()

    def save(position: int) -> None:
        with projection_code(projection_cls, "snapshot"):
            state = projection.snapshot()
        snapshots.save(projection_cls.name, position, state)
        tailed.snapshots_taken += 1

    if follow is None:
        stops = Stops(count((start_position // config.interval + 1) * config.interval, config.interval))

        def apply(batches: Iterator[pa.RecordBatch]) -> ReplayClock:
            return apply_batches(batches, projection, stops, save)
    else:
        # Every K events applied, at the end of the batch that reaches K (bench.live.follow says why).
        since = [0]

        def counted(rows: int) -> None:
            since[0] += rows
            if since[0] >= config.interval:
                since[0] = 0
                save(reader.position)

        def apply(batches: Iterator[pa.RecordBatch]) -> ReplayClock:
            return apply_batches(batches, projection, Stops(()), on_batch=counted)

    sampler.start()
    try:
        _tail_until_done(tailed, config, start_head, t0, apply, say, on_caught_up)
    finally:
        sampler.halt.set()
        sampler.join()
    sampler.sample()  # the state at the stop
    return tailed


def _tail_until_done(
    tailed: Tailed,
    config: LiveConfig,
    start_head: int,
    t0: float,
    apply: Callable[[Iterator[pa.RecordBatch]], ReplayClock],
    say: Callable[[str], None],
    on_caught_up: Callable[[], None],
) -> None:
    """Read and apply until ``observe_s`` after catching up, ``max_duration_s``, or every writer failed.

    More than one poll behind, a bulk read up to the settled head; otherwise a poll.
    """
    reader, sampler = tailed.reader, tailed.sampler
    settled = SettledHead(reader.store) if isinstance(reader, TailReader) else None
    caught_at: float | None = None
    last_note = t0

    def go_on() -> bool:  # between the batches of a bulk read: the checks below that end the run
        over = time.monotonic() - t0 >= config.max_duration_s
        return not over and not (sampler.failures and len(sampler.failures) >= config.writers)

    while True:
        before = reader.position
        if isinstance(reader, FollowReader):  # every poll of a follower reads a settled range whole
            applied, bulk = apply(reader.poll(go_on)), True
        else:
            assert settled is not None  # made for a TailReader above
            bound = settled.bound() if sampler.lag_events() > config.batch_size else 0
            bulk = bound - reader.position > config.batch_size
            applied = apply(
                bulk_read(reader, bound, config.catchup_batch_size, go_on) if bulk else _for_a_while(reader.poll())
            )
        if caught_at is None and bulk:
            tailed.catchup_bulk_events += applied.events
        if caught_at is None and applied.events:
            tailed.catchup_reads += 1
        now = time.monotonic()
        if caught_at is None and reader.position >= start_head and sampler.lag_events() <= config.batch_size:
            caught_at = now
            # A sample at the moment itself: the periodic ones would date it up to a period late.
            sampler.sample()
            on_caught_up()
            say(f"caught up after {now - t0:.2f} s at position {reader.position:,}")
        if caught_at is not None and now - caught_at >= config.observe_s:
            return
        if now - t0 >= config.max_duration_s:
            if caught_at is None:
                say(f"not caught up after {config.max_duration_s:g} s (--max-duration); stopping")
            return
        if sampler.failures and len(sampler.failures) >= config.writers:
            say("every writer failed; stopping")
            return
        if now - last_note >= 5.0:
            last_note = now
            say(f"t={now - t0:.0f} s position {reader.position:,} lag {sampler.lag_events():,} events")
        if reader.position == before:
            time.sleep(0.002)  # nothing new: do not spin on the store


def _for_a_while(batches: Iterator[pa.RecordBatch], budget_s: float = 0.2) -> Iterator[pa.RecordBatch]:
    """The batches of one poll, cut short after ``budget_s`` so the loop looks at the clock and the lag."""
    until = time.monotonic() + budget_s
    for batch in batches:
        yield batch
        if time.monotonic() >= until:
            return


def drain(store: EventStore, projection: Projection, reader: TailReader | FollowReader) -> None:
    """After the writers stopped: apply everything they committed (holes settle once their transactions end)."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    target = store.visible_head()
    reader.batch_size = max(reader.batch_size, READ_BATCH_SIZE)  # no longer measured: read in big batches
    while reader.position < target:
        before = reader.position
        apply_batches(reader.poll(), projection, Stops(()))
        if time.monotonic() > deadline:
            raise LiveFailed(f"could not read to the final head {target:,} within {DRAIN_TIMEOUT_S:g} s")
        if reader.position == before:
            time.sleep(0.01)  # waiting for a hole to settle


def timeseries_table(rows: list[LagSample]) -> pa.Table:
    """The sampler's rows as the table a live run's folder keeps, column by column by name."""
    return pa.table(
        {name: [getattr(row, name) for row in rows] for name in TIMESERIES_SCHEMA.names}, schema=TIMESERIES_SCHEMA
    )
