"""What a catch-up run will write before it starts: snapshots and their bytes, and when to ask first.

``--intervals 1`` on 50k events wrote 50,000 snapshots (627 MB, 218 s) with no word
first; a run whose snapshots pass a threshold says how many and about how large, and
goes on only when told (``--yes``, or a yes at the terminal).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.event_index import event_index
from bench.experiment_config import ExperimentConfig
from bench.replay import projection_code, replay
from bench.units import format_bytes
from projections import Projection
from stores.base import EventStore
from stores.snapshots import encode_state

# Ask first above either: the count is what costs time (a save each), the bytes what costs disk.
ASK_ABOVE_SNAPSHOTS = 1_000
ASK_ABOVE_BYTES = 1_000_000_000
# The size of one snapshot is measured on the state after this many events (or the head):
# a replay short enough to cost well under a second before the real work.
PROBE_EVENTS = 100_000


@dataclass(frozen=True)
class SnapshotPlan:
    snapshots: int  # saved over the whole run: every snapshot pass of every repeat and warm-up
    per_pass_peak: int  # the most kept at once: one pass of the smallest interval (each pass replaces the last)
    probe_position: int  # the state whose snapshot was measured
    probe_bytes: int  # one snapshot's encoded bytes at probe_position
    head: int

    @property
    def bytes(self) -> int:
        return self.snapshots * self.probe_bytes

    @property
    def large(self) -> bool:
        return self.snapshots > ASK_ABOVE_SNAPSHOTS or self.bytes > ASK_ABOVE_BYTES

    def describe(self) -> str:
        later = "; later states may be larger" if self.probe_position < self.head else ""
        return (
            f"this run saves {self.snapshots:,} snapshots, about {format_bytes(self.bytes)} in all "
            f"({format_bytes(self.probe_bytes)} each, measured on the state at position {self.probe_position:,}"
            f"{later}), up to {self.per_pass_peak:,} kept at once; "
            f"that is above {ASK_ABOVE_SNAPSHOTS:,} snapshots or {format_bytes(ASK_ABOVE_BYTES)}"
        )


def snapshot_counts(head: int, config: ExperimentConfig) -> tuple[int, int]:
    """(snapshots saved over the run, most kept at once) for a store of ``head`` events."""
    per_pass = [head // k for k in config.intervals if k > 0]
    passes = config.warmup + config.repeats
    return sum(per_pass) * passes, max(per_pass, default=0)


def plan_snapshots(store: EventStore, projection: type[Projection], config: ExperimentConfig) -> SnapshotPlan:
    """The run's snapshot volume: counted from the head, and one snapshot measured (replaying at most
    PROBE_EVENTS events, untimed) for the bytes; nothing is written."""
    index = event_index(store)
    head = index.events  # snapshots are taken every k events, not every k positions
    total, peak = snapshot_counts(head, config)
    if total == 0:
        return SnapshotPlan(0, 0, 0, 0, head)
    # One snapshot is measured even when the count alone passes the threshold: the message gives the bytes.
    position, size = _probe(store, projection, index.position(min(head, PROBE_EVENTS)), config.batch_size)
    return SnapshotPlan(total, peak, position, size, head)


def _probe(store: EventStore, projection: type[Projection], upto: int, batch_size: int) -> tuple[int, int]:
    with projection_code(projection, "__init__()"):
        state = projection()
    replay(store, state, upto=upto, batch_size=batch_size)
    with projection_code(projection, "snapshot()"):
        table = state.snapshot()
    return upto, len(encode_state(table))
