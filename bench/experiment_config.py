"""What a catch-up experiment is asked to do: intervals, repeats, warm-up, batch size, case order seed, cold.

A module of its own, importing nothing heavy, so that ``catchup run --help`` can show
these defaults without importing the experiment (projections, polars).
"""

from __future__ import annotations

from dataclasses import dataclass

from stores.base import READ_BATCH_SIZE
from stores.errors import InvalidParameter

DEFAULT_INTERVALS = (0, 10_000, 100_000, 1_000_000)  # what catchup run measures unless told
DEFAULT_REPEATS = 5
DEFAULT_WARMUP = 1
# Seeds the order of the catch-up cases within each repeat (bench.experiment.case_order). Fixed, so
# the same config measures in the same order; run.json's config records it with the rest.
DEFAULT_CASE_ORDER_SEED = 13


@dataclass(frozen=True)
class ExperimentConfig:
    intervals: tuple[int, ...]
    repeats: int = DEFAULT_REPEATS
    warmup: int = DEFAULT_WARMUP
    batch_size: int = READ_BATCH_SIZE
    case_order_seed: int = DEFAULT_CASE_ORDER_SEED
    cold: bool = False  # also catch up in a fresh process with the store's files evicted (bench.cold)

    def __post_init__(self) -> None:
        if not self.intervals:
            raise InvalidParameter("intervals is empty; give snapshot intervals such as 0,10k,100k", "intervals")
        negative = [k for k in self.intervals if k < 0]
        if negative:
            raise InvalidParameter(
                f"intervals: {negative[0]} is negative; use 0 (no snapshots) or a positive count", "intervals"
            )
        if len(set(self.intervals)) != len(self.intervals):
            listed = ",".join(map(str, self.intervals))
            raise InvalidParameter(f"intervals {listed} repeats a value; list each once", "intervals")
        if self.repeats < 1:
            raise InvalidParameter(f"repeats {self.repeats}: use at least 1", "repeats")
        if self.warmup < 0:
            raise InvalidParameter(f"warmup {self.warmup}: use 0 or more", "warmup")
        if self.batch_size < 1:
            raise InvalidParameter(f"batch_size {self.batch_size}: use at least 1", "batch_size")
