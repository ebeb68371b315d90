"""The seeded ledger past its dataset's last event, for live mode's writers.

A live run appends "newly generated" events: the same generator, seed and parameters,
carried on beyond ``params.events``. Every account has opened by then, so the continuation
is more deposits, withdrawals, transfers and fx among existing accounts, with stream
versions that go on from where the dataset left them: the ledger stays valid. The event
at a position is the same whoever asks for it, so concurrent writers that are handed
interleaved positions by the store still write one consistent log.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from generators.ledger import BLOCK_EVENTS, LedgerGenerator
from generators.params import LedgerParams
from stores.errors import InvalidParameter

_NO_LIMIT = 2**62


class Continuation:
    """Events at any increasing positions, generated block by block as they are asked for.

    Stream versions are carried from block to block, so blocks are generated in order
    from block 0 (about 2M events/s); only the blocks still ahead of the last position
    asked for are kept.
    """

    def __init__(self, params: LedgerParams) -> None:
        self._generator = LedgerGenerator(params, limit=_NO_LIMIT)
        self._window: pa.RecordBatch | None = None  # whole blocks, the first being self._first_block
        self._first_block = 0
        self._next_block = 0
        self._last_asked = 0

    def advance_to(self, position: int) -> None:
        """Generate (and drop) everything before ``position``'s block; a writer's start-up cost."""
        self._blocks_up_to((position - 1) // BLOCK_EVENTS, keep_from=(position - 1) // BLOCK_EVENTS)

    def events_at(self, positions: np.ndarray) -> pa.RecordBatch:
        """The events at ``positions`` (int64, strictly increasing, each past any asked for before)."""
        positions = np.asarray(positions, dtype=np.int64)
        if positions.size == 0:
            raise InvalidParameter("no positions given; ask for at least one")
        if positions[0] <= self._last_asked or np.any(np.diff(positions) <= 0):
            raise InvalidParameter(
                f"positions must increase and come after {self._last_asked:,}; got {positions[0]:,} onwards"
            )
        first_block = int(positions[0] - 1) // BLOCK_EVENTS
        last_block = int(positions[-1] - 1) // BLOCK_EVENTS
        self._blocks_up_to(last_block, keep_from=first_block)
        assert self._window is not None
        rows = positions - (self._first_block * BLOCK_EVENTS + 1)
        self._last_asked = int(positions[-1])
        return self._window.take(pa.array(rows))

    def _blocks_up_to(self, last_block: int, keep_from: int) -> None:
        """Make the window hold blocks keep_from..last_block; positions only increase, so keep_from never falls."""
        parts = []
        if self._window is not None:
            drop = (keep_from - self._first_block) * BLOCK_EVENTS
            if drop < self._window.num_rows:
                parts.append(self._window.slice(drop))
        while self._next_block <= last_block:
            chunk = self._generator.chunk(self._next_block, self._next_block + 1)
            if self._next_block >= keep_from:
                parts.append(chunk)
            self._next_block += 1
        self._window = pa.Table.from_batches(parts).combine_chunks().to_batches()[0] if parts else None
        self._first_block = keep_from
