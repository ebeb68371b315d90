"""Projections (read models): the interface users implement, and the built-in ones.

    from projections import Projection, EventProjection

The contract is documented on ``projections.base``. Built in (``BUILTINS``, by name):
``balances`` (vectorised), ``balances_per_event`` (the same state, one ``handle`` call per
event), ``daily_volume`` and ``statement`` (large state).
"""

from __future__ import annotations

from projections.balances import Balances, BalancesPerEvent
from projections.base import EventProjection, Projection
from projections.daily_volume import DailyVolume
from projections.statement import Statement

BUILTINS: dict[str, type[Projection]] = {cls.name: cls for cls in (Balances, BalancesPerEvent, DailyVolume, Statement)}

__all__ = [
    "BUILTINS",
    "Balances",
    "BalancesPerEvent",
    "DailyVolume",
    "EventProjection",
    "Projection",
    "Statement",
]
