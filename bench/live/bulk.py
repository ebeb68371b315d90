"""Catching up at the replay rate: far behind the head, one streaming read of a settled range.

Polling (stores.tail.TailReader) reads small batches up to the visible head and must stop
at any hole that may still fill, which is right near the head, where appends in flight
leave holes; cut into polls of 0.2 s, a long tail is read as many short queries (a
Postgres stream cut short costs its connection). Far behind it, a live run reads as the
runner does instead: one ``store.read(position, bound)`` run to its end, in the runner's
batches (``LiveConfig.catchup_batch_size``, catchup run's ``--batch-size``: a projection
whose apply costs less per event in larger batches catches up as the experiment measured
it), where ``bound`` is a *settled head*: a visible head whose GapWatch mark, taken after
reading it, has since settled.

Why nothing is lost: every position at or below that head was drawn before the head was
committed (positions are drawn in order), so before the mark; every append that held one
has ended once the mark settled (stores.live: on Postgres the xid is taken before the
draw). A read started after that sees every committed position up to the bound, so a
position it does not return was rolled back or its writer died: it is dead, as the
TailReader would prove it. With a commit held open, the mark does not settle, the bound
stays below the hole, and the run polls there as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa

from stores.base import EventStore
from stores.schema import positions
from stores.tail import TailReader

SETTLE_WAIT_S = 0.05  # an append commits in milliseconds; a longer wait means a held one: poll instead
_SETTLE_STEP_S = 0.001


class SettledHead:
    """The highest visible head known to be settled: no hole at or below it can still be filled."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.watch = store.gap_watch()
        self.value = 0
        self._candidate: tuple[int, int] | None = None  # (head, the mark taken after reading it)

    def bound(self, wait_s: float = SETTLE_WAIT_S) -> int:
        """The settled head, advanced if it can be: a new candidate gets ``wait_s`` to settle, an old one a look."""
        if self._candidate is None:
            head = self.store.visible_head()
            self._candidate = (head, self.watch.mark())  # the mark after the head, never before
        else:
            wait_s = 0.0  # it has waited before: a commit is held, and polling goes on meanwhile
        head, mark = self._candidate
        until = time.monotonic() + wait_s
        while not self.watch.settled(mark):
            if time.monotonic() >= until:
                return self.value  # kept: a later call tries the same candidate again
            time.sleep(_SETTLE_STEP_S)
        self._candidate = None
        self.value = max(self.value, head)
        return self.value


def bulk_read(reader: TailReader, upto: int, batch_size: int, go_on: Callable[[], bool]) -> Iterator[pa.RecordBatch]:
    """The events in (reader.position, upto], ``upto`` settled, advancing ``reader`` as each batch is yielded.

    A position the read skips is dead (the module docstring says why) and goes to
    ``reader.dead``. Stops early, between batches, once ``go_on()`` is false; the rest is
    read again later.
    """
    reads = reader.store.read(reader.position, upto, batch_size)
    try:
        for batch in reads:
            if not batch.num_rows:
                continue
            pos = positions(batch)
            _note_dead(reader, pos)
            reader.position = int(pos[-1])
            yield batch
            if not go_on():
                return
        _note_dead(reader, np.array([upto + 1], dtype=np.int64))
        reader.position = max(reader.position, upto)
    finally:
        close = getattr(reads, "close", None)
        if close is not None:
            close()


def _note_dead(reader: TailReader, pos: np.ndarray) -> None:
    """The positions after reader.position missing before or inside ``pos`` (ascending) are dead."""
    expected = int(pos[-1]) - reader.position
    if expected != pos.size:  # the common case, no hole, costs one subtraction
        span = np.arange(reader.position + 1, int(pos[-1]) + 1, dtype=np.int64)
        reader.dead.extend(int(p) for p in np.setdiff1d(span, pos, assume_unique=True))
