"""Live mode on a foreign source, as a library call: follow its log while its application writes.

The run, in order (bench.live.coordinator's, without writers of catchup's):

1. **Setup (untimed)**: replay the log as it stood when the source was opened (its event
   index), measuring μ, δ and L, and leave the starting snapshot (K/2 to 3K/2 events back).
2. **Catch-up and tail**: a follower (bench.live.follow) loads the snapshot and reads to
   the settled head again and again, while a sampler counts the events arriving (the
   achieved rate λ is theirs) and the lag, until ``observe_s`` after catching up or
   ``max_duration_s``.
3. **Verify**: read to the visible head, then a full replay to the same position must
   give the same digest: a position declared final too early (a late commit) would show
   as a divergence.

The application keeps writing throughout: catchup neither starts nor stops it, and writes
nothing into the source (its snapshots go to its own folder).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pyarrow as pa

from bench.event_index import event_index
from bench.live.config import LiveConfig
from bench.live.cpu import CpuMeter, cores, local_server, window
from bench.live.follow import Follow
from bench.live.model import measure
from bench.live.setup import Load, divergence, live_summary, setup
from bench.live.tailing import catch_up_and_tail, drain, timeseries_table
from bench.replay import projection_code
from bench.results import LiveSummary
from bench.results.live import CpuWindow, LiveCpu
from projections import Projection
from stores.errors import InvalidParameter
from stores.foreign.source_base import ForeignSource


def follow_source(
    store: ForeignSource, projection_cls: type[Projection], config: LiveConfig, say: Callable[[str], None]
) -> tuple[LiveSummary, pa.Table]:
    if not store.followable:
        raise InvalidParameter(
            f"{store.uri} is a {store.facts().system} source, read at rest: live mode follows the Postgres presets "
            "as their application writes; measure this one with catchup run"
        )
    snapshots = store.snapshots()
    with projection_code(projection_cls, "snapshots delete"):
        snapshots.delete(projection_cls.name)
    try:
        return _follow(store, projection_cls, config, say)
    finally:
        snapshots.delete(projection_cls.name)


def _follow(
    store: ForeignSource, projection_cls: type[Projection], config: LiveConfig, say: Callable[[str], None]
) -> tuple[LiveSummary, pa.Table]:
    index = event_index(store)
    server = local_server(store.spec.uri)
    prepared = setup(store, projection_cls, config, index, say, server)
    follow = Follow(
        store, index.head, index.events, prepared.start_position, prepared.start_events, config.catchup_batch_size
    )
    say(f"following {store.uri} as its own application writes it; catching up from {prepared.start_position:,}")
    meter = CpuMeter([], server=server)
    catchup_cpu: list[CpuWindow] = []
    started = meter.read()

    def caught_up() -> None:
        catchup_cpu.append(window(started, meter.read()))

    t0 = time.monotonic()
    tailed = catch_up_and_tail(
        store, projection_cls, config, index.head, prepared.start_position, t0, follow.arrivals, say, caught_up,
        follow=follow,
    )  # fmt: skip
    if not catchup_cpu:  # never caught up: the window is the whole run
        caught_up()
    say("reading to the visible head")
    drain(store, tailed.projection, tailed.reader)
    final = tailed.reader.position
    differing = divergence(store, projection_cls, tailed.projection, final, config.batch_size)
    timeseries = timeseries_table(tailed.sampler.rows)
    cpu = LiveCpu(cores=cores(), setup=prepared.cpu, catchup=catchup_cpu[0])
    measured = measure(timeseries, model=prepared.model, within_events=config.batch_size, cpu=cpu)
    live = live_summary(
        config, measured, tailed, Load(writers=0, rate_requested=0.0, dead_positions=(), writer_failures=()),
        start_head=index.head, start_position=prepared.start_position,
        start_events=index.events, tail_events=index.events - prepared.start_events, differing=differing,
        final_head=final,
    )  # fmt: skip
    return live, timeseries
