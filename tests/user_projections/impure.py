"""Projections that break the contract on purpose, loaded by file path in the CLI tests."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from projections import BalancesPerEvent, Projection
from projections.balances import SIGN

BONUS_AFTER = 20_000


class Forgetful(BalancesPerEvent):
    """Impure: a counter its snapshot leaves out changes later balances.

    A full replay counts every event and credits a bonus of 1 on each event past
    BONUS_AFTER; a projection restored from a snapshot starts counting at 0 again, so it
    credits fewer bonuses and its state diverges from the full replay's.
    """

    name = "forgetful"

    def __init__(self) -> None:
        super().__init__()
        self.events_seen = 0

    def handle(self, event: Any) -> None:
        self.events_seen += 1
        key = (event.stream_id, event.currency)
        bonus = 1 if self.events_seen > BONUS_AFTER else 0
        self.balances[key] = self.balances.get(key, 0) + SIGN[event.event_type] * event.amount + bonus


class NotAProjection:
    name = "plain"


class Unfinished(Projection):
    name = "unfinished"

    def apply(self, batch: pa.RecordBatch) -> None:
        pass


class Exploding(BalancesPerEvent):
    name = "exploding"

    def handle(self, event: Any) -> None:
        if event.stream_id == 7:
            raise KeyError("account 7")
        super().handle(event)


class BadRestore(BalancesPerEvent):
    name = "bad_restore"

    @classmethod
    def restore(cls, table: pa.Table) -> BadRestore:
        raise KeyError("balance")
