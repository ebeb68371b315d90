"""The event-store interface. The contract is documented here, once; backends stay quiet.

An event store holds one ordered log of events in EVENT_SCHEMA plus a little metadata:
the dataset fingerprint (who made the events, with which parameters), the currency list
(the dictionary of the ``currency`` column) and whether the last load finished.

Contract, for every backend:

* ``load(batches, meta, overwrite=...)`` replaces the whole log in bulk. Before the first
  event is written the store is marked incomplete; only after the last event (and, where
  the backend has them, its indexes) is it marked complete. A load that dies half way
  leaves a store that every read refuses with StoreIncomplete until it is loaded again.
  Loading into a store that holds events, or an incomplete load, without ``overwrite``
  raises StoreNotEmpty and changes nothing.
* ``append(batches)`` adds events after the head to a complete store. Readers see an
  appended batch whole or not at all.
* ``read(after, upto, batch_size)`` yields record batches in EVENT_SCHEMA, in position
  order, with the events whose position p satisfies ``after < p <= upto`` (``upto=None``:
  up to the head when the read starts), each batch at most ``batch_size`` rows and none
  empty. It reads only what lies after ``after``: a tail read costs time in proportion to
  the tail, not to the log. ``event_type`` uses EVENT_TYPES as its dictionary and
  ``currency`` the store's currency list, so equal events give equal batches on every
  backend.
* ``event_positions()`` is None for a log whose n-th event is at position n; a log with
  holes (a foreign source) gives every event's position, so that counts of events can be
  turned into positions.
* ``head()`` is the highest position the log holds (0 for an empty store): what the events
  themselves say, never a recorded number that a writer which died could have left stale.
  Positions are not counts: a log may have holes (positions drawn by a live writer that
  died before committing), so a full read can hold fewer events than the head.
* ``run_lock(projection)`` is a context manager held for a whole run that writes, reads
  and deletes ``projection``'s snapshots (``catchup run``, ``catchup live``). While one
  process (or store object) holds it, another's ``run_lock`` of the same projection on
  the same store raises StoreBusy at once, naming the holder (it does not wait:
  stores.run_lock says why). The lock is released when the block ends or the holder
  dies. StoreNotFound / StoreIncomplete if the store cannot be read; no lock is made then.
* ``snapshots()`` is the snapshot store beside the log (stores.snapshots), tied to its dataset.
* ``evict_page_cache()`` evicts what it can of its files (events and snapshots) from the
  operating system's page cache, for a cold restart, and says what it could not
  (``Eviction.not_evicted``: one line, None when everything was evicted). It never
  raises for what the OS or the server will not let a client drop.
* ``info()`` never raises for an incomplete store: it is how one looks at a broken store.
  Its ``uri`` has any password replaced by '***'; ``describe()`` is its JSON form, for
  results metadata.
* Positions are 1-based and strictly increasing; ``load`` and ``append`` refuse batches
  that break this or do not fit the schema (SchemaMismatch), before writing them.

Errors are the neutral ones of ``stores.errors``; no driver exception escapes.
"""

from __future__ import annotations

import dataclasses
import operator
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pyarrow as pa

from stores.errors import InvalidParameter, SchemaMismatch, StoreCorrupt, StoreIncomplete, StoreNotFound
from stores.page_cache import Eviction
from stores.schema import EVENT_SCHEMA, LEDGER, SCHEMA_VERSION, conform, currency_dictionary, positions

if TYPE_CHECKING:
    from stores.live import GapWatch, LiveAppender
    from stores.snapshots import SnapshotStore

# Events per batch a replay reads from a store.
READ_BATCH_SIZE = 131_072


@dataclass(frozen=True)
class DatasetMeta:
    """What a store keeps about its events besides the events."""

    fingerprint: dict[str, Any]
    currencies: tuple[str, ...]


@dataclass(frozen=True)
class StoreInfo:
    uri: str
    backend: str
    layout: str
    exists: bool
    complete: bool
    head: int
    size_bytes: int
    fingerprint: dict[str, Any] | None = None
    currencies: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


class EventStore(ABC):
    backend: str = ""

    @abstractmethod
    def info(self) -> StoreInfo: ...

    @abstractmethod
    def load(self, batches: Iterable[pa.RecordBatch], meta: DatasetMeta, *, overwrite: bool = False) -> int:
        """Replace the log with ``batches``; return the new head."""

    @abstractmethod
    def append(self, batches: Iterable[pa.RecordBatch]) -> int:
        """Add events after the head; return the new head."""

    @abstractmethod
    def read(
        self, after: int = 0, upto: int | None = None, batch_size: int = READ_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]: ...

    @abstractmethod
    def snapshots(self) -> SnapshotStore:
        """The snapshot store for the events held now; StoreNotFound / StoreIncomplete if unreadable."""

    @abstractmethod
    def run_lock(self, projection: str) -> AbstractContextManager[None]:
        """Exclude other runs of ``projection`` on this store while the block runs; StoreBusy if held."""

    # -- live mode (stores.live explains the why) -------------------------------------------

    @abstractmethod
    def begin_live(self) -> None:
        """Get ready for concurrent ``live_appender`` writers after the current head."""

    @abstractmethod
    def live_appender(self) -> LiveAppender:
        """A new writer connection; one per writer process."""

    @abstractmethod
    def gap_watch(self) -> GapWatch:
        """The store's rule for proving a hole in the positions dead."""

    @abstractmethod
    def visible_head(self) -> int:
        """The highest position a reader can see now, written by live appends included."""

    @abstractmethod
    def end_live(self) -> int:
        """After every writer has stopped: record the new head as the store's head; return it."""

    def head(self) -> int:
        return self.readable_info().head

    def events_kind(self) -> str:
        """Which schema ``read`` hands out: LEDGER (EVENT_SCHEMA) or ENVELOPE (a foreign source unmapped)."""
        return LEDGER

    def event_schema(self) -> pa.Schema:
        return EVENT_SCHEMA

    def event_positions(self) -> np.ndarray | None:
        """Every event's position, in order, when positions are not counts; None when the n-th
        event is at position n (catchup's own stores: bench.event_index says why it matters)."""
        return None

    def currencies(self) -> tuple[str, ...]:
        return self.readable_info().currencies

    def describe(self) -> dict[str, Any]:
        return dataclasses.asdict(self.info())

    def evict_page_cache(self) -> Eviction:
        return Eviction(0, 0, f"a {self.backend or type(self).__name__} store names no files to evict")

    def close(self) -> None:
        """Release connections; the store object is not used afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def not_found_error(self) -> StoreNotFound:
        """The error for this store not existing (a backend may say what stands there instead)."""
        return not_found(self.info().uri)

    def readable_info(self) -> StoreInfo:
        """info(), or StoreIncomplete / StoreNotFound when the log cannot be read."""
        info = self.info()
        if not info.exists:
            raise self.not_found_error()
        if not info.complete:
            raise incomplete(info.uri)
        return info

    def dataset_id(self) -> str:
        """The fingerprint id of the events held now: snapshots are tied to it."""
        info = self.readable_info()
        return fingerprint_id(info.fingerprint, info.uri)


def not_found(uri: str) -> StoreNotFound:
    return StoreNotFound(f"no event store at {uri}; create one with: catchup generate {uri}")


def fingerprint_id(fingerprint: dict[str, Any] | None, uri: str) -> str:
    found = (fingerprint or {}).get("id")
    if not isinstance(found, str) or not found:
        raise StoreCorrupt(f"store {uri} records no dataset fingerprint id; regenerate the store")
    return found


def check_schema_version(found: object, where: str) -> None:
    """Refuse events written under another version of EVENT_SCHEMA: they would decode wrongly."""
    if found != SCHEMA_VERSION:
        raise SchemaMismatch(
            f"{where} holds events of schema version {found!r}; this catchup reads version {SCHEMA_VERSION}: "
            "regenerate the store"
        )


def incomplete(uri: str) -> StoreIncomplete:
    """The one wording of 'this store cannot be read until it is loaded again'."""
    return StoreIncomplete(
        f"store {uri} holds an incomplete load (interrupted or still running); "
        "regenerate it with: catchup generate STORE --overwrite"
    )


def integer(name: str, value: object) -> int:
    """``value`` as an int, or InvalidParameter: positions and sizes are formatted into SQL and
    file offsets, so only true integers pass (bool is an int, but not a position)."""
    if isinstance(value, bool):
        raise InvalidParameter(f"{name}={value!r} must be an integer")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidParameter(f"{name}={value!r} must be an integer") from None


def check_read_range(after: int, upto: int | None, batch_size: int) -> None:
    if after < 0:
        raise InvalidParameter(f"after={after} is negative; positions start at 1, use after >= 0")
    if upto is not None and upto < after:
        raise InvalidParameter(f"upto={upto} is below after={after}; use upto >= after")
    if batch_size < 1:
        raise InvalidParameter(f"batch_size={batch_size} must be at least 1")


class BatchChecker:
    """Conforms incoming batches to the schema and checks positions keep increasing.

    Shared by every backend's ``load`` and ``append`` so that all refuse the same input
    with the same message before anything is written.
    """

    def __init__(self, currencies: tuple[str, ...], head: int = 0) -> None:
        self.dictionary = currency_dictionary(currencies)
        self.last = head
        self.count = 0

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        try:
            batch = conform(batch, self.dictionary)
        except ValueError as error:
            raise SchemaMismatch(f"batch does not fit the event schema: {error}") from None
        if batch.num_rows == 0:
            return batch
        pos = positions(batch)
        if pos[0] <= self.last or (pos.size > 1 and not bool(np.all(pos[1:] > pos[:-1]))):
            raise SchemaMismatch(
                f"positions must be strictly increasing and follow the head {self.last}; "
                f"got a batch starting at {int(pos[0])}"
            )
        self.last = int(pos[-1])
        self.count += batch.num_rows
        return batch
