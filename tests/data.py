"""Small datasets shared by the tests, generated once per session."""

from __future__ import annotations

from functools import cache

import pyarrow as pa

from generators import LedgerParams, generate

SMALL = LedgerParams(events=30_000, accounts=400, currencies=("USD", "EUR", "GBP"), seed=7)


@cache
def events_of(params: LedgerParams = SMALL) -> pa.Table:
    return pa.Table.from_batches(list(generate(params, batch_size=8_192)))


def read_all(store, **kwargs) -> pa.Table:  # type: ignore[no-untyped-def]
    from stores.schema import EVENT_SCHEMA

    return pa.Table.from_batches(list(store.read(**kwargs)), schema=EVENT_SCHEMA)
