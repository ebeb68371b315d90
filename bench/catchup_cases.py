"""The catch-up cases of an interval, and the order a repeat measures them in (bench.experiment)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from bench.results import CASES


@dataclass(frozen=True)
class CatchupCase:
    """One catch-up case; ``catchup_cases`` gives it in counts of events, the experiment at positions."""

    name: str
    interval: int
    snapshot_position: int  # 0: no snapshot lies at or before the head, replay from 0
    head: int

    @property
    def tail(self) -> int:
        return self.head - self.snapshot_position


def catchup_cases(interval: int, head: int) -> list[CatchupCase]:
    if interval == 0:
        return []
    cases = []
    for name, tail in zip(CASES, (interval // 2, interval - 1), strict=True):
        tail = min(tail, head)
        snapshot = (head - tail) // interval * interval
        cases.append(CatchupCase(name, interval, snapshot, snapshot + tail))
    return cases


def case_order(cases: list[CatchupCase], seed: int, interval: int, repeat: int) -> list[CatchupCase]:
    """The order the cases of one repeat are measured in: shuffled, the same for the same arguments.

    In a fixed order the first case always ran right after the snapshot pass and the second
    right after the first, and the demo measured its worst case faster than its expected one.
    Counterbalanced: repeats 2i and 2i+1 take one seeded shuffle and its reverse, so each of
    the two cases is measured first in half the repeats (one more for an odd count) and what
    is left of an order effect cancels in the medians. A free shuffle of the default five
    repeats puts one case first in four or five of them for about a third of seeds (the
    default seed did so at k=1M), and then in every run of that seed. Seeded per interval,
    so an order does not depend on which other intervals run.
    """
    order = list(cases)
    random.Random(f"{seed}/{interval}/{repeat // 2}").shuffle(order)
    return order[::-1] if repeat % 2 else order
