"""The rule for concurrent commits, as a follower of a foreign log must apply it.

catchup's own writers take a transaction id before they draw positions (stores.live),
so "every transaction in flight at the mark has ended" proves every position drawn
before the mark final. Another system's writers draw a position from a sequence inside
their INSERT, and PostgreSQL assigns the transaction id a moment later, when the row is
written: for that moment a writer holding a position is invisible to the mark. The
window is microseconds, so a mark is trusted only once it is also GRACE_S old: the same
trade Marten's daemon makes with its stale-sequence threshold, at a tenth of a second.
"""

from __future__ import annotations

import time

from stores.live import GapWatch
from stores.pg_live import PgGapWatch

GRACE_S = 0.1


class GracedGapWatch(GapWatch):
    def __init__(self, watch: PgGapWatch, grace_s: float = GRACE_S) -> None:
        self.watch = watch
        self.grace_s = grace_s
        self._taken: dict[int, float] = {}

    def mark(self) -> int:
        mark = self.watch.mark()
        self._taken.setdefault(mark, time.monotonic())
        return mark

    def settled(self, mark: int) -> bool:
        taken = self._taken.get(mark)
        if taken is None or time.monotonic() - taken < self.grace_s:
            return False
        if not self.watch.settled(mark):
            return False
        del self._taken[mark]
        return True

    def close(self) -> None:
        self.watch.close()
