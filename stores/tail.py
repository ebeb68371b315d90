"""The gap-aware tail reader: applies only a gap-free prefix of the log (stores.live says why).

A hole is a run of positions missing between the last applied one and the next visible
one. It is pending until the store's GapWatch proves it dead, by this rule:

1. the poll that first sees the hole takes ``mark()`` (after its read);
2. a later poll asks ``settled(mark)`` *before* it reads; if every append in flight at
   the mark has ended by then and the read that follows still finds the hole empty, no
   one can fill it any more: its positions go to ``dead`` and reading goes on.

The order in step 2 matters: a read taken before ``settled`` could miss a commit that
landed between the two. A hole that shrinks (part of it committed) keeps its mark, since
every position in it was drawn before the mark was taken.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from stores.base import READ_BATCH_SIZE, EventStore
from stores.schema import positions


@dataclass(frozen=True)
class _Hole:
    first: int  # lowest missing position
    last: int  # highest missing position (the next visible one minus 1)
    mark: int
    since: float


class TailReader:
    def __init__(self, store: EventStore, after: int, batch_size: int = READ_BATCH_SIZE) -> None:
        self.store = store
        self.batch_size = batch_size
        self.position = after  # last position applied or proven dead
        self.dead: list[int] = []  # positions proven dead (never to be written), in order
        self._watch = store.gap_watch()
        self._hole: _Hole | None = None

    @property
    def waiting_since(self) -> float | None:
        """time.monotonic() when the hole the reader waits at was first seen, or None."""
        return None if self._hole is None else self._hole.since

    def poll(self) -> Iterator[pa.RecordBatch]:
        """The gap-free events after ``position`` that are visible now, in batches of at most batch_size.

        ``position`` advances to each batch's last position as the batch is yielded (the
        caller applies it before asking for the next). Stops at the first hole that is not
        proven dead; the events read past it are read again by a later poll (simpler than
        keeping them, and holes are rare and short-lived).
        """
        # Before the read, never after: see the module docstring.
        settled = self._hole is not None and self._watch.settled(self._hole.mark)
        head = self.store.visible_head()
        if head <= self.position:
            return
        reads = self.store.read(self.position, head, self.batch_size)
        try:
            for batch in reads:
                while batch.num_rows:
                    pos = positions(batch)
                    if pos[0] != self.position + 1:
                        if not self._skip_if_dead(int(pos[0]) - 1, settled):
                            return
                    # The contiguous run at the start: up to the first step that is not +1.
                    steps = np.flatnonzero(np.diff(pos) != 1)
                    run = batch.num_rows if steps.size == 0 else int(steps[0]) + 1
                    self._hole = None
                    self.position = int(pos[run - 1])
                    yield batch if run == batch.num_rows else batch.slice(0, run)
                    batch = batch.slice(run)
        finally:
            close = getattr(reads, "close", None)
            if close is not None:
                close()

    def _skip_if_dead(self, last: int, settled: bool) -> bool:
        """At the hole position+1..last: declare it dead and step over it, or note it and stop."""
        first = self.position + 1
        known = self._hole
        if known is not None and known.first <= first and last <= known.last:
            if settled:
                self.dead.extend(range(first, last + 1))
                self.position = last
                self._hole = None
                return True
            if known.first != first:  # shrunk from below: same mark, same waiting time
                self._hole = _Hole(first, last, known.mark, known.since)
            return False
        self._hole = _Hole(first, last, self._watch.mark(), time.monotonic())
        return False
