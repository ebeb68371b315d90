"""Daily volume: per UTC day, currency and event type, the number of events and their amount."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from projections.balances import CurrencyCodes
from projections.base import Projection
from stores.schema import EVENT_TYPES

STATE_SCHEMA = pa.schema(
    [
        pa.field("day", pa.date32(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("event_type", pa.string(), nullable=False),
        pa.field("count", pa.int64(), nullable=False),
        pa.field("amount", pa.int64(), nullable=False),
    ]
)
_US_PER_DAY = 86_400 * 1_000_000
_TYPES = len(EVENT_TYPES)


class DailyVolume(Projection):
    name = "daily_volume"
    key = ("day", "currency", "event_type")

    def __init__(self) -> None:
        self.currencies = CurrencyCodes()
        # (day, currency code, event type code) -> [count, amount]; a few dozen keys a day.
        self.totals: dict[tuple[int, int, int], list[int]] = {}

    def apply(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        day = batch.column("occurred_at").cast(pa.int64()).to_numpy() // _US_PER_DAY
        currency = self.currencies.codes(batch.column("currency"))
        kind = batch.column("event_type").indices.to_numpy().astype(np.int64)
        first = int(day.min())
        # One int64 key per (day, currency, type): np.unique groups a batch in one sort.
        width = max(len(self.currencies.names), 1) * _TYPES
        packed = (day - first) * width + currency * _TYPES + kind
        keys, inverse = np.unique(packed, return_inverse=True)
        counts = np.bincount(inverse, minlength=len(keys))
        amounts = np.zeros(len(keys), dtype=np.int64)
        np.add.at(amounts, inverse, batch.column("amount").to_numpy())
        for packed_key, count, amount in zip(keys.tolist(), counts.tolist(), amounts.tolist(), strict=True):
            offset, rest = divmod(packed_key, width)
            key = (first + offset, rest // _TYPES, rest % _TYPES)
            total = self.totals.setdefault(key, [0, 0])
            total[0] += count
            total[1] += amount

    def snapshot(self) -> pa.Table:
        keys = list(self.totals)
        names = self.currencies.names
        return pa.table(
            [
                pa.array([k[0] for k in keys], pa.int32()).cast(pa.date32()),
                pa.array([names[k[1]] for k in keys], pa.string()),
                pa.array([EVENT_TYPES[k[2]] for k in keys], pa.string()),
                pa.array([t[0] for t in self.totals.values()], pa.int64()),
                pa.array([t[1] for t in self.totals.values()], pa.int64()),
            ],
            schema=STATE_SCHEMA,
        )

    @classmethod
    def restore(cls, table: pa.Table) -> DailyVolume:
        projection = cls()
        state = table.select(STATE_SCHEMA.names).cast(STATE_SCHEMA)
        days = state.column("day").cast(pa.int32()).to_pylist()
        type_code = {name: code for code, name in enumerate(EVENT_TYPES)}
        codes = projection.currencies
        for day, currency, kind, count, amount in zip(
            days,
            state.column("currency").to_pylist(),
            state.column("event_type").to_pylist(),
            state.column("count").to_pylist(),
            state.column("amount").to_pylist(),
            strict=True,
        ):
            projection.totals[(day, codes.code(currency), type_code[kind])] = [count, amount]
        return projection
