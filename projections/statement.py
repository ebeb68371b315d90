"""Account statements: the last ENTRIES entries of every account.

The state grows with the number of accounts times ENTRIES (200,000 rows for 10,000
accounts), so unlike balances its snapshots cost real time and bytes: the projection
that shows what a snapshot interval costs when state is large.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from projections.base import Projection

ENTRIES = 20
STATE_SCHEMA = pa.schema(
    [
        pa.field("stream_id", pa.int64(), nullable=False),
        pa.field("stream_version", pa.int32(), nullable=False),
        pa.field("position", pa.int64(), nullable=False),
        pa.field("occurred_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("event_type", pa.string(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("amount", pa.int64(), nullable=False),
        pa.field("counterparty", pa.int64(), nullable=True),
    ]
)
_COLUMNS = STATE_SCHEMA.names
_LATEST = pl.int_range(pl.len()).reverse().over("stream_id") < ENTRIES  # last ENTRIES rows of each stream


class Statement(Projection):
    name = "statement"
    key = ("stream_id", "stream_version")

    def __init__(self) -> None:
        self.entries = _frame(STATE_SCHEMA.empty_table())

    def apply(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        fresh = _frame(pa.Table.from_batches([batch]).select(_COLUMNS)).filter(_LATEST)
        # Rows stay in position order (old state first, then the batch), so "the last
        # ENTRIES rows of each stream" are its latest entries.
        self.entries = pl.concat([self.entries, fresh], how="vertical").filter(_LATEST)

    def snapshot(self) -> pa.Table:
        return self.entries.to_arrow().cast(STATE_SCHEMA)

    @classmethod
    def restore(cls, table: pa.Table) -> Statement:
        projection = cls()
        projection.entries = _frame(table.select(_COLUMNS)).sort("position")
        return projection


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.with_columns(pl.col("event_type", "currency").cast(pl.String))
