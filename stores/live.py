"""What ``catchup live`` needs from an event store: concurrent appends, and a safe tail.

In production a projection tails the log while the application appends to it. Two things
make that harder than a replay:

* **Concurrent writers.** Several application processes append at once; the store
  assigns positions (Postgres: a sequence, inside each writer's transaction; Parquet:
  the next positions after the head, under a folder lock, one file per append).
* **Positions that become visible out of order.** On Postgres a transaction that took
  position 10 may commit after one that took 11; a reader that sees 11 and moves on has
  lost 10 for good. The safe reader (stores.tail.TailReader) applies only a gap-free
  prefix and treats a hole as pending until the store proves it dead: every transaction
  that was in flight when the hole was seen has ended, and the hole is still empty
  (its writer rolled back or died). This is the same rule mature event stores use.

Each backend implements the ``EventStore`` methods ``begin_live``, ``live_appender``,
``gap_watch``, ``visible_head`` and ``end_live`` with the types below.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

# Builds the events at the given positions (int64, strictly increasing) as one record
# batch in EVENT_SCHEMA; catchup's writers pass the seeded generator's continuation.
EventsAt = Callable[[np.ndarray], pa.RecordBatch]


@dataclass(frozen=True)
class AppendReceipt:
    """One committed append: what it wrote and when the commit returned."""

    first: int  # lowest position written
    last: int  # highest position written
    count: int
    committed_at: float  # time.monotonic() right after the commit returned (system-wide on Linux)


class LiveAppender(ABC):
    """One writer's connection: appends events at positions the store assigns.

    Made in the writer's own process (``EventStore.live_appender``); not shared between
    processes or threads.
    """

    @abstractmethod
    def append(self, count: int, events_at: EventsAt, *, hold_s: float = 0.0) -> AppendReceipt:
        """Reserve ``count`` positions, write ``events_at(positions)`` and commit, as one unit.

        ``hold_s`` waits that long after writing and before committing, with the positions
        reserved: the tests use it to make commits land out of order. Readers see the
        append whole or not at all.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the connection; an append in progress is rolled back."""

    def __enter__(self) -> LiveAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class GapWatch(ABC):
    """Tells when a hole in the positions can no longer be filled."""

    @abstractmethod
    def mark(self) -> int:
        """A mark of the appends in flight now (Postgres: the snapshot's xmax)."""

    @abstractmethod
    def settled(self, mark: int) -> bool:
        """True once every append that was in flight at ``mark`` has committed or rolled back."""


class NoGaps(GapWatch):
    """For stores whose appends become visible in position order: a hole never waits."""

    def mark(self) -> int:
        return 0

    def settled(self, mark: int) -> bool:
        return True
