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
_MAX_CHUNKS = 16
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
        # Only the streams this batch touched are re-trimmed, so a small batch costs little
        # even when the state is large. Rows stay in position order within a stream (old
        # entries first, then the batch), so "the last ENTRIES rows" are its latest ones.
        touched = pl.col("stream_id").is_in(fresh.get_column("stream_id").unique().implode())
        merged = pl.concat([self.entries.filter(touched), fresh], how="vertical").filter(_LATEST)
        entries = pl.concat([self.entries.filter(~touched), merged], how="vertical", rechunk=False)
        # Copying the whole state into one chunk on every batch cost more than the work;
        # never doing it let chunks pile up until filters crawled. Every few batches it is.
        self.entries = entries.rechunk() if entries.n_chunks() > _MAX_CHUNKS else entries

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
