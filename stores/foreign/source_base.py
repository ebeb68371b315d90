"""The read-only base of every foreign source: what catchup may and may not do to it.

A foreign source reads the user's log and writes nothing there. Its snapshots and run
locks live in a catchup-owned folder (``SourceSpec.snapshots_uri``), made on first use,
the snapshots in a subfolder named after the dataset identity.
A backend (Postgres presets, Parquet datasets) implements ``_measure`` (what the log holds
now: ``SourceFacts``) and ``read``; this base turns the facts into ``info()``, the dataset
identity that ties snapshots to these events, and the refusals of every write.

Positions are not counts: a foreign log has holes (rolled-back writes, other categories,
other tenants), so ``info().head`` is the highest position and ``details['events']`` the
count of events a full read gives.
"""

from __future__ import annotations

import hashlib
import json
import os
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import pyarrow as pa

from stores.base import READ_BATCH_SIZE, DatasetMeta, EventStore, StoreInfo
from stores.errors import ForeignReadOnly, os_failure
from stores.foreign.spec import SourceSpec
from stores.parquet_snapshots import ParquetSnapshotStore
from stores.run_lock import RunLock, file_run_lock
from stores.schema import ENVELOPE, EVENT_SCHEMA, LEDGER, envelope_schema

if TYPE_CHECKING:
    from stores.live import GapWatch, LiveAppender

# Counts remembered per source (stores.foreign.source_base.ForeignSource._remembered).
COUNTS_FILE = "counts.json"
REMEMBERED = 8
# The identity's version: bump it when what goes into the identity changes.
IDENTITY_VERSION = 1
# Events whose rows the identity hashes at each end of the log: a change of the data there
# (or of the mapping) gives another identity, so a snapshot of other events is never loaded.
SAMPLE_ROWS = 1_000


@dataclass(frozen=True)
class SourceFacts:
    """What the log holds when the source was opened."""

    system: str  # 'messagedb', 'marten', 'eventsourcing', 'table', 'parquet'
    relation: str  # what is read, as shown: 'message_store.messages category account'
    events: int  # how many events a full read gives
    first: int  # lowest position (0 when empty)
    last: int  # highest position: the head (0 when empty)
    sample: str  # a checksum of the first and last SAMPLE_ROWS events as read
    size_bytes: int  # the relation's size on disk, as the server or the file system says
    currencies: tuple[str, ...] = ()  # ledger mode: the currency dictionary, sorted


@dataclass(frozen=True)
class Arrivals:
    """Events visible after a position: what a follower counts to measure its lag in events."""

    events: int
    highest: int  # the highest position among them (the position given when none)


class ForeignSource(EventStore):
    """A read-only event store over a log catchup did not create."""

    # Whether live mode can follow it as its application writes it (its read of a bound
    # and arrivals: stores.foreign.pg_source; a Parquet export is read at rest).
    followable = False

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.uri = spec.name
        self._facts: SourceFacts | None = None
        self._positions: np.ndarray | None = None

    # -- what a backend provides ---------------------------------------------------------

    @abstractmethod
    def _measure(self) -> SourceFacts:
        """Count the log and hash its ends (one query or one pass over file metadata)."""

    @abstractmethod
    def _read_positions(self, upto: int) -> np.ndarray:
        """Every event's position up to ``upto``, in order (int64)."""

    @abstractmethod
    def read(
        self, after: int = 0, upto: int | None = None, batch_size: int = READ_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]: ...

    # -- shared --------------------------------------------------------------------------

    def events_kind(self) -> str:
        return LEDGER if self.spec.mapped else ENVELOPE

    def event_schema(self) -> pa.Schema:
        return EVENT_SCHEMA if self.spec.mapped else envelope_schema(tuple(self.spec.extra))

    def event_positions(self) -> np.ndarray:
        if self._positions is None:
            positions = self._read_positions(self.facts().last)
            self._positions = positions
        return self._positions

    def facts(self) -> SourceFacts:
        if self._facts is None:
            self._facts = self._measure()
        return self._facts

    def identity(self) -> dict[str, Any]:
        """What the dataset identity is made of: the source, its mapping and the events now held."""
        facts = self.facts()
        return {
            "identity_version": IDENTITY_VERSION,
            "system": facts.system,
            "relation": facts.relation,
            "events_kind": self.events_kind(),
            "mapping": {name: [column.expr, list(column.values)] for name, column in sorted(self.spec.columns.items())},
            "envelope": dict(sorted(self.spec.envelope.items())),
            "extra": dict(sorted(self.spec.extra.items())),
            "where": self.spec.option("where"),
            "events": facts.events,
            "first": facts.first,
            "last": facts.last,
            "sample": facts.sample,
        }

    def info(self) -> StoreInfo:
        facts = self.facts()
        identity = self.identity()
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
        return StoreInfo(
            uri=self.uri,
            backend=f"foreign:{facts.system}",
            layout=self.events_kind(),
            exists=True,
            complete=True,
            head=facts.last,
            size_bytes=facts.size_bytes,
            fingerprint={"id": f"{facts.system}-{digest}", "source": identity},
            currencies=facts.currencies,
            details={
                "system": facts.system,
                "source": self.spec.shown_uri,
                "relation": facts.relation,
                "events": facts.events,
                "first_position": facts.first,
                "highest_position": facts.last,
                "snapshots": self.spec.snapshots_uri,
            },
        )

    def snapshots(self) -> ParquetSnapshotStore:
        # A folder per identity: snapshots of other events (the log grew, the mapping
        # changed) are not found, rather than refused as another dataset's.
        dataset = self.dataset_id()
        return ParquetSnapshotStore(self._own_folder() / dataset, dataset)

    def run_lock(self, projection: str) -> RunLock:
        self.readable_info()
        return file_run_lock(self._own_folder(), projection)

    def _remembered(
        self, key: dict[str, Any], compute: Callable[[], tuple[int, tuple[str, ...]]]
    ) -> tuple[int, tuple[str, ...]]:
        """(events, currencies) for ``key`` (the log's ends and sample as read), computed once.

        Counting a foreign log scans it (0.43 s for 200k Message DB events), and every
        process that opens the source needs the count: a cold restart would time the scan
        as its 'open'. An event log is append-only, so the same ends and the same first and
        last events as read mean the same events between them.
        """
        path = self._own_folder() / COUNTS_FILE
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
        try:
            known = json.loads(path.read_text())
        except (OSError, ValueError):
            known = {}
        if not isinstance(known, dict):
            known = {}
        found = known.get(digest)
        if isinstance(found, list) and len(found) == 2:
            return int(found[0]), tuple(str(c) for c in found[1])
        events, currencies = compute()
        known = dict(list(known.items())[-(REMEMBERED - 1) :]) | {digest: [events, list(currencies)]}
        temporary = path.with_suffix(".tmp")
        try:
            temporary.write_text(json.dumps(known))
            os.replace(temporary, path)
        except OSError:
            pass  # a cache: a folder that cannot take it only costs the next open a count
        return events, currencies

    def _own_folder(self) -> Path:
        """catchup's folder for this source (snapshots, run locks), made on first use."""
        folder = Path(self.spec.snapshots_uri)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise os_failure(error, "making the snapshot folder", folder) from None
        return folder

    # -- never written -------------------------------------------------------------------

    def _read_only(self, doing: str) -> NoReturn:
        raise ForeignReadOnly(
            f"cannot {doing}: {self.uri} is a foreign source ({self.facts().system} at {self.spec.shown_uri}), "
            "which catchup reads and never writes; generate a store of catchup's own with catchup generate"
        )

    def load(self, batches: Iterable[pa.RecordBatch], meta: DatasetMeta, *, overwrite: bool = False) -> int:
        self._read_only("load events")

    def append(self, batches: Iterable[pa.RecordBatch]) -> int:
        self._read_only("append events")

    def begin_live(self) -> None:
        self._read_only("write live events")

    def live_appender(self) -> LiveAppender:
        self._read_only("write live events")

    def gap_watch(self) -> GapWatch:
        raise ForeignReadOnly(f"{self.uri} ({self.facts().system}) cannot be followed as it is written")

    def visible_head(self) -> int:
        return self.head()

    def arrivals(self, after: int) -> Arrivals:
        """The events after position ``after`` visible now: how many, and the highest position."""
        raise ForeignReadOnly(f"{self.uri} ({self.facts().system}) cannot be followed as it is written")

    def end_live(self) -> int:
        self._read_only("write live events")
