"""The projection interface. The contract is documented here, once; projections stay quiet.

A projection (read model) is a pure transformation of events: its state depends on the
events it has applied and on nothing else — no clock, no randomness, no lookups outside
its own state. That is what makes snapshot + tail equal to a full replay, and what the
runner verifies after every catch-up.

Write one of two kinds:

``Projection`` (vectorised): implement ``apply(batch)``, which receives Arrow record
batches in EVENT_SCHEMA (stores/schema.py), in position order, each event exactly once.

``EventProjection`` (per event): implement ``handle(event)``, called once per event in
position order; the base class does the batch loop. Fields are attributes named like the
columns: ``position``, ``stream_id``, ``stream_version``, ``amount``, ``counterparty`` and
``correlation_id`` are ints (the last two may be None), ``event_type`` and ``currency``
strings, ``occurred_at`` a timezone-aware datetime. Declare ``fields`` with the columns
``handle`` reads: the others are then never converted (a datetime costs about 2.4 µs to make).
The event object is reused for the next event: copy the fields you keep, not the object.

Both kinds implement:

* ``name`` (class attribute): how results, snapshots and the CLI call it; 1-64 letters,
  digits, '_', '-' or '.'. ``version`` (class attribute, default "1"): change it when the
  code changes what the state means (its columns or what they hold); ``catchup compare``
  refuses to set runs of different versions against each other, as they measured
  different work. Keep it when a change only makes the same state faster or slower to
  build: that is what compare measures, and each run records a hash of the source.
* ``key`` (class attribute): the state columns that identify a row, used to name the
  first differing rows when two states diverge. Empty: rows are compared whole.
* ``snapshot() -> pyarrow.Table``: the whole state, with a fixed schema. The runner may
  call it at any point between batches; it must not change the state.
* ``restore(table)`` (classmethod): a projection whose state is ``table``, such that
  restore(p.snapshot()) then applying events e gives the same state as p applying e.
* ``digest() -> str``: a canonical hash of the state, independent of the order of rows;
  equal states give equal digests. The default hashes ``snapshot()``
  (projections.digest.table_digest), which is right for nearly every projection.

A fresh instance (``cls()``) is the state before any event.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import pyarrow as pa

from projections.columns import python_columns
from projections.digest import table_digest
from stores.schema import COLUMNS


class Projection(ABC):
    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    key: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def apply(self, batch: pa.RecordBatch) -> None:
        """Fold the events of ``batch`` (position order) into the state."""

    @abstractmethod
    def snapshot(self) -> pa.Table:
        """The whole state as a table; the state is left unchanged."""

    @classmethod
    @abstractmethod
    def restore(cls, table: pa.Table) -> Projection:
        """A projection holding the state ``table`` (as made by ``snapshot``)."""

    def digest(self) -> str:
        return table_digest(self.snapshot())


class EventProjection(Projection):
    fields: ClassVar[Sequence[str]] = COLUMNS

    @abstractmethod
    def handle(self, event: Any) -> None:
        """Fold one event into the state."""

    _event_loop: ClassVar[Callable[[Callable[[Any], None], list[list[Any]]], None]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # staticmethod: the loop is a plain function, not to be bound to the instance.
        cls._event_loop = staticmethod(_make_event_loop(tuple(cls.fields), cls.__name__))

    def apply(self, batch: pa.RecordBatch) -> None:
        type(self)._event_loop(self.handle, python_columns(batch, self.fields))


def _make_event_loop(fields: tuple[str, ...], owner: str) -> Callable[[Callable[[Any], None], list[list[Any]]], None]:
    """A batch loop written for ``fields``, made once per class.

    It assigns the fields straight onto one reused slotted object in the ``for`` target
    (``for event.a, event.b in zip(...)``), with no object built per event: that was the
    cheapest per-event dispatch measured (a namedtuple per event cost about 25% more time on
    the balances handler).
    """
    unknown = [f for f in fields if f not in COLUMNS]
    if unknown or not fields or len(set(fields)) != len(fields):
        raise TypeError(f"{owner}.fields {fields!r}: name one or more of {', '.join(COLUMNS)}")
    event_type = type("Event", (), {"__slots__": fields, "__repr__": _event_repr})
    targets = ", ".join(f"event.{f}" for f in fields) + ("," if len(fields) == 1 else "")
    source = (
        f"def loop(handle, columns):\n    event = Event()\n    for {targets} in zip(*columns):\n        handle(event)\n"
    )
    namespace: dict[str, Any] = {"Event": event_type}
    exec(source, namespace)  # noqa: S102 - the text is built from validated column names only
    return namespace["loop"]


def _event_repr(self: Any) -> str:
    return "Event(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in self.__slots__) + ")"
