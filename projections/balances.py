"""Account balances per (account, currency): a vectorised and a per-event form.

Both keep one row for every (stream_id, currency) pair that any event has touched,
account_opened included (with amount 0), holding the signed sum of the amounts: credits
(deposited, transfer_credited, fx_credited) add, debits (withdrawn, transfer_debited,
fx_debited) subtract. Equal events give equal states, so the two forms share a digest.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from projections.base import EventProjection, Projection
from stores.schema import EVENT_TYPES

STATE_SCHEMA = pa.schema(
    [
        pa.field("stream_id", pa.int64(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("balance", pa.int64(), nullable=False),
    ]
)
SIGN: dict[str, int] = {
    "account_opened": 0,
    "deposited": 1,
    "withdrawn": -1,
    "transfer_debited": -1,
    "transfer_credited": 1,
    "fx_debited": -1,
    "fx_credited": 1,
}
SIGN_BY_CODE = np.array([SIGN[name] for name in EVENT_TYPES], dtype=np.int64)
# The dense table below is indexed by stream_id; generated ids run 1..accounts. Ids past
# this bound would need a hash table instead: refused with a clear error, not slowed down.
MAX_STREAM_ID = 1 << 27


class CurrencyCodes:
    """Maps each batch's currency dictionary onto the projection's own, growing list."""

    def __init__(self, names: list[str] | None = None) -> None:
        self.names: list[str] = list(names or [])
        self._index = {name: i for i, name in enumerate(self.names)}
        self._cache: tuple[list[str], np.ndarray] | None = None

    def codes(self, column: pa.DictionaryArray) -> np.ndarray:
        dictionary = column.dictionary.to_pylist()
        if self._cache is None or self._cache[0] != dictionary:
            self._cache = (dictionary, np.array([self.code(name) for name in dictionary], dtype=np.int64))
        return self._cache[1][column.indices.to_numpy(zero_copy_only=False)]

    def code(self, name: str) -> int:
        if name not in self._index:
            self._index[name] = len(self.names)
            self.names.append(name)
        return self._index[name]


class Balances(Projection):
    """Vectorised: a dense int64 table [stream_id, currency] updated with np.add.at."""

    name = "balances"
    key = ("stream_id", "currency")

    def __init__(self) -> None:
        self.currencies = CurrencyCodes()
        self.sums = np.zeros((0, 0), dtype=np.int64)
        self.seen = np.zeros((0, 0), dtype=bool)

    def apply(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        stream = batch.column("stream_id").to_numpy()
        currency = self.currencies.codes(batch.column("currency"))
        signed = batch.column("amount").to_numpy() * SIGN_BY_CODE[batch.column("event_type").indices.to_numpy()]
        self._fit(int(stream.min()), int(stream.max()), len(self.currencies.names))
        flat = stream * self.sums.shape[1] + currency
        np.add.at(self.sums.reshape(-1), flat, signed)
        self.seen.reshape(-1)[flat] = True

    def _fit(self, low: int, high: int, currencies: int) -> None:
        if low < 0 or high >= MAX_STREAM_ID:
            raise ValueError(
                f"balances indexes accounts densely: stream_id must be 0..{MAX_STREAM_ID - 1}, got {low}..{high}"
            )
        rows, columns = self.sums.shape
        if high < rows and currencies <= columns:
            return
        # Grow by doubling so a log whose ids keep rising reallocates log2(n) times.
        shape = (max(high + 1, 2 * rows if high >= rows else rows), max(currencies, columns))
        sums, seen = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=bool)
        sums[:rows, :columns], seen[:rows, :columns] = self.sums, self.seen
        self.sums, self.seen = sums, seen

    def snapshot(self) -> pa.Table:
        stream, currency = np.nonzero(self.seen)
        names = pa.array(self.currencies.names, pa.string())
        return pa.table(
            [
                pa.array(stream.astype(np.int64)),
                names.take(pa.array(currency)) if len(names) else pa.array([], pa.string()),
                pa.array(self.sums[stream, currency]),
            ],
            schema=STATE_SCHEMA,
        )

    @classmethod
    def restore(cls, table: pa.Table) -> Balances:
        projection = cls()
        if table.num_rows:
            state = table.select(STATE_SCHEMA.names).cast(STATE_SCHEMA)
            currencies = state.column("currency").combine_chunks().dictionary_encode()
            projection.currencies = CurrencyCodes(currencies.dictionary.to_pylist())
            stream = state.column("stream_id").to_numpy()
            code = currencies.indices.to_numpy()
            projection._fit(int(stream.min()), int(stream.max()), len(projection.currencies.names))
            projection.sums[stream, code] = state.column("balance").to_numpy()
            projection.seen[stream, code] = True
        return projection


class BalancesPerEvent(EventProjection):
    """The same read model as hand-written projection code usually looks: a dict update per event."""

    name = "balances_per_event"
    key = ("stream_id", "currency")
    fields = ("stream_id", "event_type", "amount", "currency")
    _sign: ClassVar[dict[str, int]] = SIGN

    def __init__(self) -> None:
        self.balances: dict[tuple[int, str], int] = {}

    def handle(self, event: Any) -> None:
        key = (event.stream_id, event.currency)
        self.balances[key] = self.balances.get(key, 0) + self._sign[event.event_type] * event.amount

    def snapshot(self) -> pa.Table:
        keys = list(self.balances)
        return pa.table(
            [
                pa.array([k[0] for k in keys], pa.int64()),
                pa.array([k[1] for k in keys], pa.string()),
                pa.array(list(self.balances.values()), pa.int64()),
            ],
            schema=STATE_SCHEMA,
        )

    @classmethod
    def restore(cls, table: pa.Table) -> BalancesPerEvent:
        projection = cls()
        state = table.select(STATE_SCHEMA.names).to_pydict()
        projection.balances = dict(
            zip(zip(state["stream_id"], state["currency"], strict=True), state["balance"], strict=True)
        )
        return projection
