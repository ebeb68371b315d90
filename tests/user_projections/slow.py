"""A projection too slow to keep up, for the live-mode test of never catching up."""

from __future__ import annotations

import time

import pyarrow as pa

from projections import Balances

PAUSE_S = 0.02  # per apply call: with 500-event reads, at most 25k events/s


class Sluggish(Balances):
    name = "sluggish"

    def apply(self, batch: pa.RecordBatch) -> None:
        time.sleep(PAUSE_S)
        super().apply(batch)
