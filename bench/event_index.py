"""Counting events where positions have holes: the n-th event's position.

catchup's own stores number their events 1..N, so a count is a position. A foreign log
has holes (rolled-back writes, other categories, other tenants), and "a snapshot every k
events", "a tail of k/2 events" and "N events" must count events, not positions: the
experiment plans in counts and reads by the positions this index gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stores.base import EventStore


@dataclass(frozen=True)
class EventIndex:
    events: int  # how many events a full read gives
    positions: np.ndarray | None  # the positions in order; None: dense, the n-th event is at n

    def position(self, count: int) -> int:
        """The position of the ``count``-th event (0 for none: before the first)."""
        if count <= 0:
            return 0
        if self.positions is None:
            return count
        return int(self.positions[min(count, self.events) - 1])

    def every(self, interval: int) -> range | list[int]:
        """The positions of the interval-th, 2·interval-th, ... event: where snapshots every k events fall."""
        if self.positions is None:
            return range(interval, self.events + 1, interval)
        return self.positions[interval - 1 :: interval].tolist()

    @property
    def head(self) -> int:
        return self.position(self.events)


def event_index(store: EventStore) -> EventIndex:
    positions = store.event_positions()
    if positions is None:
        return EventIndex(store.head(), None)
    return EventIndex(len(positions), positions)
