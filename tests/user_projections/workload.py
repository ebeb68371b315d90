"""Two versions of one per-event projection, for compare's tests: the second does more work.

Both are named ``workload`` with version "1", as a user's projection keeps its name and
version across a commit that only makes it slower; their states are equal (the extra work
is thrown away), so every run of either verifies.
"""

from __future__ import annotations

from typing import Any

from projections import BalancesPerEvent

EXTRA_ROUNDS = 40  # several times the handler's own cost per event: far beyond any noise


class Workload(BalancesPerEvent):
    name = "workload"


class HeavierWorkload(Workload):
    def handle(self, event: Any) -> None:
        waste = 0
        for round_ in range(EXTRA_ROUNDS):
            waste ^= (event.amount + round_) * 31
        super().handle(event)
