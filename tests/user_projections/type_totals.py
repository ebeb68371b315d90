"""A projection of envelope events: per event type, how many and the sum of the payload's amounts.

What a user writes for a foreign source that no [columns] maps: it reads the envelope's
``event_type`` and ``data`` (JSON text) and nothing of the ledger.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pyarrow as pa

from projections import EventProjection

STATE_SCHEMA = pa.schema([("event_type", pa.string()), ("events", pa.int64()), ("amount", pa.int64())])


class TypeTotals(EventProjection):
    name = "type_totals"
    events = "envelope"
    fields: ClassVar[tuple[str, ...]] = ("event_type", "data")
    key = ("event_type",)

    def __init__(self) -> None:
        self.totals: dict[str, list[int]] = {}

    def handle(self, event: Any) -> None:
        total = self.totals.setdefault(event.event_type, [0, 0])
        total[0] += 1
        total[1] += int(json.loads(event.data).get("amount", 0)) if event.data else 0

    def snapshot(self) -> pa.Table:
        names = sorted(self.totals)
        return pa.table(
            [names, [self.totals[n][0] for n in names], [self.totals[n][1] for n in names]], schema=STATE_SCHEMA
        )

    @classmethod
    def restore(cls, table: pa.Table) -> TypeTotals:
        state = cls()
        for row in table.to_pylist():
            state.totals[row["event_type"]] = [row["events"], row["amount"]]
        return state
