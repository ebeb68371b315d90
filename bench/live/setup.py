"""A live run's untimed setup (the model's μ, δ and L, and the starting snapshot) and its verification.

Shared by live mode on catchup's own stores (bench.live.coordinator) and on a foreign
source (bench.live.source_run). Counts are of events, read through the store's event
index: on a foreign log with holes, "a tail of K/2 events" must count events.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.event_index import EventIndex
from bench.live.config import LiveConfig
from bench.live.cpu import CpuMeter, window
from bench.live.model import Measured, ModelInputs
from bench.live.tailing import Tailed, load_snapshot
from bench.replay import projection_code, replay
from bench.results import LiveSummary
from bench.results.live import CpuWindow
from projections import Projection
from projections.digest import differing_rows
from stores.base import READ_BATCH_SIZE, EventStore
from stores.snapshots import SnapshotStore

# Saves timed in the setup for δ, one snapshot's cost: their median. Three were too few: a save's
# fsync now and then takes 1.4x the others, and at K = 100k (200 snapshots in a catch-up) a δ
# off by that much put the prediction 25% off (issue 13's grid, Parquet balances 20M).
DELTA_SAVES = 7


@dataclass(frozen=True)
class Setup:
    model: ModelInputs
    start_position: int  # the starting snapshot's position (0: from zero)
    start_events: int  # the events that snapshot holds
    cpu: CpuWindow


def setup(
    store: EventStore,
    projection_cls: type[Projection],
    config: LiveConfig,
    index: EventIndex,
    say: Callable[[str], None],
    server: bool,
) -> Setup:
    """Measure μ, δ and the CPU the replay takes on the log as it stands (``index``); leave the
    snapshot a K-interval projection would have."""
    start_events = starting_snapshot(index.events, config.interval) if config.start_from == "snapshot" else 0
    start_position = index.position(start_events)
    head = index.head
    snapshots = store.snapshots()
    with projection_code(projection_cls, "__init__"):
        projection = projection_cls()

    def save(position: int, name: str = projection_cls.name) -> None:
        with projection_code(projection_cls, "snapshot"):
            state = projection.snapshot()
        snapshots.save(name, position, state)

    say(f"setup: replaying {index.events:,} events to measure the replay rate")
    meter = CpuMeter(server=server)
    before = meter.read()
    # The full-replay rate, the model's μ, read as the catch-up reads (bench.live.bulk): in its
    # batches (catchup_batch_size, the runner's), not the tail's polls, which a per-batch cost makes up
    # to three times slower (statement). The save is not in its clock.
    clock = replay(
        store,
        projection,
        after=0,
        upto=head,
        batch_size=config.catchup_batch_size,
        stops=[start_position] if start_position > 0 else [],
        at_stop=save,
    )
    setup_cpu = window(before, meter.read())
    snapshot_s = _snapshot_cost(snapshots, projection_cls, head, save)
    replay_rate = clock.events / clock.replay_s if clock.replay_s > 0 else float("inf")
    load_s = 0.0
    if start_position > 0:
        started = time.perf_counter()
        load_snapshot(store, projection_cls, start_position)
        load_s = time.perf_counter() - started
    say(
        f"setup: replay rate {replay_rate / 1e6:.2f}M events/s on {setup_cpu.projection:.2f} cores; a snapshot "
        f"saves in {snapshot_s:.3f} s; snapshot at {start_position:,} loads in {load_s:.3f} s"
    )
    model = ModelInputs(replay_rate, load_s, index.events - start_events, snapshot_s, config.interval)
    return Setup(model, start_position, start_events, setup_cpu)


def _snapshot_cost(
    snapshots: SnapshotStore, projection_cls: type[Projection], head: int, save: Callable[[int, str], None]
) -> float:
    """δ: the median of a few saves of the state at the head, under a scratch name deleted after.

    The catch-up saves a snapshot every K events: that cost per event, δ/K, is the model's
    too. A median, as the first save into a store pays for what later ones find made.
    """
    scratch = f"{projection_cls.name[:50]}.setup-delta"
    times = []
    try:
        for position in sorted({max(0, head - back) for back in range(DELTA_SAVES)}):
            started = time.perf_counter()
            save(position, scratch)
            times.append(time.perf_counter() - started)
    finally:
        snapshots.delete(scratch)
    return statistics.median(times)


def starting_snapshot(events: int, interval: int) -> int:
    """Where a restarted projection's last snapshot lies, in events: the catch-up experiment's expected case.

    A projection snapshotting every K events that stopped at a random moment has, on
    average, K/2 events after its last snapshot; the highest multiple of K at or below
    events - K/2 leaves a tail of K/2 to 3K/2 events (0 when the log is shorter than K/2).
    """
    return max(0, (events - interval // 2) // interval * interval)


def divergence(
    store: EventStore, projection_cls: type[Projection], tailed: Projection, head: int, batch_size: int
) -> tuple[str, ...]:
    """The tailed state against a full replay of what the store holds (nothing lost, nothing twice):
    () when their digests agree, else up to five rows where they differ."""
    with projection_code(projection_cls, "__init__"):
        fresh = projection_cls()
    replay(store, fresh, after=0, upto=head, batch_size=max(batch_size, READ_BATCH_SIZE))
    with projection_code(projection_cls, "digest"):
        if tailed.digest() == fresh.digest():
            return ()
    with projection_code(projection_cls, "snapshot"):
        rows = differing_rows(fresh.snapshot(), tailed.snapshot(), projection_cls.key)
    return tuple(rows) or ("the digests differ, yet no row does: the projection's digest is not of its snapshot",)


@dataclass(frozen=True)
class Load:
    """Who appended during a live run, and what came of it: catchup's writers, or a followed source's application."""

    writers: int  # 0: the source's own application
    rate_requested: float  # 0 when followed
    dead_positions: tuple[int, ...]
    writer_failures: tuple[str, ...]


def live_summary(
    config: LiveConfig, measured: Measured, tailed: Tailed, load: Load, *, start_head: int, start_position: int,
    start_events: int, tail_events: int, differing: tuple[str, ...], final_head: int,
) -> LiveSummary:  # fmt: skip
    """The run's summary from what it measured, the same for either kind of load."""
    return LiveSummary(
        interval=config.interval,
        writers=load.writers,
        start_from=config.start_from,
        max_duration_s=config.max_duration_s,
        rate_requested=load.rate_requested,
        rate_achieved=measured.rate_achieved,
        caught_up=measured.caught_up_s is not None,
        caught_up_s=measured.caught_up_s,
        peak_lag_events=measured.peak_lag_events,
        peak_lag_s=measured.peak_lag_s,
        lag_after_catchup_s=measured.lag_after_catchup_s,
        lag_growth_events_per_s=measured.lag_growth_events_per_s,
        duration_s=measured.duration_s,
        model=measured.model,
        start_head=start_head,
        start_position=start_position,
        tail_events=tail_events,
        snapshots=tailed.snapshots_taken,
        dead_positions=load.dead_positions,
        writer_failures=load.writer_failures,
        verified=not differing,
        final_head=final_head,
        catchup_reads=tailed.catchup_reads,
        catchup_bulk_events=tailed.catchup_bulk_events,
        start_events=start_events,
        differing=differing,
    )
