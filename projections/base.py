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

Events come in one of two schemas, declared by ``events`` (class attribute): ``"ledger"``
(the default: EVENT_SCHEMA, what catchup's own stores hold and what a foreign source
hands out when its file maps [columns]) or ``"envelope"`` (ENVELOPE_SCHEMA: a foreign
source's events as its system keeps them: ``position``, ``stream``, ``stream_version``,
``event_type``, ``occurred_at``, ``data`` and ``metadata`` as JSON text, plus the file's
[extra] columns). An ``EventProjection`` of envelope events declares the fields it reads
from those. Run over the other schema, a projection is refused with one line naming the
columns it misses (``missing_columns``).

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
from stores.schema import COLUMNS, ENVELOPE, ENVELOPE_FIELDS, EVENT_KINDS, LEDGER


class Projection(ABC):
    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    key: ClassVar[tuple[str, ...]] = ()
    events: ClassVar[str] = LEDGER

    @classmethod
    def reads(cls) -> tuple[str, ...]:
        """The columns this projection needs in every batch."""
        return COLUMNS if cls.events == LEDGER else ENVELOPE_FIELDS

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
        if cls.events not in EVENT_KINDS:
            raise TypeError(f"{cls.__name__}.events = {cls.events!r}: use one of {', '.join(EVENT_KINDS)}")
        if cls.events == ENVELOPE and cls.fields is COLUMNS:  # the default follows the schema
            cls.fields = ENVELOPE_FIELDS
        # staticmethod: the loop is a plain function, not to be bound to the instance.
        cls._event_loop = staticmethod(_make_event_loop(tuple(cls.fields), cls.__name__, cls.events))

    @classmethod
    def reads(cls) -> tuple[str, ...]:
        return tuple(cls.fields)

    def apply(self, batch: pa.RecordBatch) -> None:
        type(self)._event_loop(self.handle, python_columns(batch, self.fields))


def missing_columns(projection: type[Projection], schema: pa.Schema) -> list[str]:
    """The columns ``projection`` reads that batches of ``schema`` do not have (none: it fits)."""
    return [name for name in projection.reads() if name not in schema.names]


def _make_event_loop(
    fields: tuple[str, ...], owner: str, events: str
) -> Callable[[Callable[[Any], None], list[list[Any]]], None]:
    """A batch loop written for ``fields``, made once per class.

    It assigns the fields straight onto one reused slotted object in the ``for`` target
    (``for event.a, event.b in zip(...)``), with no object built per event: that was the
    cheapest per-event dispatch measured (a namedtuple per event cost about 25% more time on
    the balances handler).
    """
    # Envelope events may carry a source's [extra] columns: any identifier, checked against
    # the source's schema when the projection is run over it.
    allowed = COLUMNS if events == LEDGER else None
    unknown = [f for f in fields if not f.isidentifier() or (allowed is not None and f not in allowed)]
    if unknown or not fields or len(set(fields)) != len(fields):
        named = ", ".join(COLUMNS if events == LEDGER else (*ENVELOPE_FIELDS, "an [extra] column"))
        raise TypeError(f"{owner}.fields {fields!r}: name one or more of {named}")
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
