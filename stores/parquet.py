"""Parquet event store: a folder of position-sorted Parquet files and a manifest.

    STORE/catchup.json          the manifest (stores.parquet_manifest): the commit point
    STORE/events/part-NNNNNN.parquet
    STORE/snapshots/...         projection snapshots (stores.parquet_snapshots)

Files hold row groups of ``row_group_rows`` events sorted by position, so the position
statistics of each row group let a tail read skip everything before it: the manifest
prunes files, the footers' statistics prune row groups, and only the first and last
batch of a range are sliced.

Appends, the bulk ``append`` and live ones alike, hold ``fcntl.flock`` on
STORE/.catchup.lock from reading the manifest to replacing it, so writers in several
processes queue up and each lists its own new file after the head it read. A live append
writes one file, so a live run leaves many small files; a tail read still opens only the
files the manifest says overlap it.

Every read checks the cheap facts of the files it opens against the manifest (size,
footer rows, positions and dataset: stores.parquet_integrity), and ``info`` checks them
for every file. Page checksums are written and verified on every read: measured by
bench/perf/page_checksums.py at 1M events (docs/verify.md), verification cost 1.5-3.6% of
a full read in the longest runs, under the 5% beyond which only ``catchup verify`` and a
run's first read would have checked them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from stores.base import (
    READ_BATCH_SIZE,
    BatchChecker,
    DatasetMeta,
    EventStore,
    StoreInfo,
    check_read_range,
    incomplete,
    not_found,
)
from stores.errors import InvalidParameter, SchemaMismatch, StoreCorrupt, StoreError, StoreNotEmpty, StoreNotFound
from stores.foreign.parquet_dataset import parquet_hint
from stores.live import AppendReceipt, EventsAt, GapWatch, LiveAppender, NoGaps
from stores.page_cache import Eviction, evict_files, files_under
from stores.parquet_files import EVENTS_DIR, FILE_ROWS, ROW_GROUP_ROWS, RollingWriter, file_size
from stores.parquet_integrity import Orphans, footer_problems, orphans, size_problem, store_problems
from stores.parquet_integrity import first_line as _first_line
from stores.parquet_manifest import (
    MANIFEST_NAME,
    EventFile,
    Manifest,
    read_manifest,
    write_manifest,
)
from stores.parquet_snapshots import SNAPSHOTS_DIR, ParquetSnapshotStore
from stores.run_lock import RunLock, file_run_lock
from stores.schema import EVENT_SCHEMA, conform, currency_dictionary, positions

LOCK_NAME = ".catchup.lock"
READ_GROUPS = 2


class ParquetStore(EventStore):
    backend = "parquet"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        row_group_rows: int = ROW_GROUP_ROWS,
        file_rows: int = FILE_ROWS,
        compression: str = "zstd",
        verify_pages: bool = True,
    ) -> None:
        self.folder = Path(path)
        self.row_group_rows = row_group_rows
        self.file_rows = max(row_group_rows, file_rows - file_rows % row_group_rows)
        self.compression = compression
        self.verify_pages = verify_pages  # False only for bench/perf/page_checksums.py's bare side

    # -- looking -----------------------------------------------------------------------

    def info(self) -> StoreInfo:
        try:
            manifest = read_manifest(self.folder)
        except StoreNotFound:
            return StoreInfo(
                uri=str(self.folder),
                backend=self.backend,
                layout="files",
                exists=False,
                complete=False,
                head=0,
                size_bytes=0,
            )
        missing = [f.name for f in manifest.files if not (self.folder / f.name).exists()]
        size = sum(file_size(self.folder / f.name) for f in manifest.files)
        details: dict[str, Any] = {
            "path": str(self.folder.resolve()),
            "files": len(manifest.files),
            "row_group_rows": self.row_group_rows,
            "compression": self.compression,
        }
        if missing:
            details["missing_files"] = missing
        problems = store_problems(self.folder, manifest)
        if problems:
            details["problems"] = problems
        left = orphans(self.folder, manifest)
        if left.paths:
            details["orphan_files"] = len(left.paths)
            details["orphan_bytes"] = left.size_bytes
        return StoreInfo(
            uri=str(self.folder),
            backend=self.backend,
            layout="files",
            exists=True,
            complete=manifest.complete,
            head=manifest.head,
            size_bytes=size,
            fingerprint=manifest.fingerprint,
            currencies=manifest.currencies,
            details=details,
        )

    def not_found_error(self) -> StoreNotFound:
        # The manifest reader's own words: a folder of other files (an export) is said to be one.
        try:
            read_manifest(self.folder)
        except StoreNotFound as error:
            return error
        return not_found(str(self.folder))

    def readable_info(self) -> StoreInfo:
        info = super().readable_info()
        problems = info.details.get("problems")
        if problems:
            raise self._corrupt(problems[0])
        return info

    def _corrupt(self, problem: str) -> StoreCorrupt:
        return StoreCorrupt(f"store {self.folder}: {problem}; regenerate the store")

    # -- writing -----------------------------------------------------------------------

    def load(self, batches: Iterable[pa.RecordBatch], meta: DatasetMeta, *, overwrite: bool = False) -> int:
        self._prepare_for_load(overwrite)
        manifest = Manifest(complete=False, fingerprint=meta.fingerprint, currencies=meta.currencies)
        write_manifest(self.folder, manifest)
        # Under the append lock, after the manifest says incomplete: remove_orphans either ran
        # before (and saw the old store) or sees an incomplete one and refuses.
        with self.locked():
            events = self.folder / EVENTS_DIR
            shutil.rmtree(events, ignore_errors=True)
            # Positions in old snapshots would refer to other events; a failure to remove them raises.
            if (self.folder / SNAPSHOTS_DIR).exists():
                shutil.rmtree(self.folder / SNAPSHOTS_DIR)
            events.mkdir()
            manifest = self._write_files(batches, manifest, BatchChecker(meta.currencies))
            write_manifest(self.folder, replace(manifest, complete=True))
        return manifest.head

    def append(self, batches: Iterable[pa.RecordBatch]) -> int:
        self._complete_manifest()  # StoreNotFound before a lock file is made in a folder that is no store
        with self.locked():
            manifest = self._complete_manifest()
            manifest = self._write_files(batches, manifest, BatchChecker(manifest.currencies, head=manifest.head))
            write_manifest(self.folder, manifest)
        return manifest.head

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The cross-process append lock (flock: released by the kernel if the holder dies)."""
        try:
            handle = open(self.folder / LOCK_NAME, "a+b")  # noqa: SIM115 - held across the yield
        except OSError as error:
            raise StoreError(f"cannot open the lock file of store {self.folder}: {_first_line(error)}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield
        finally:
            handle.close()  # closing the last descriptor releases the lock

    def remove_orphans(self) -> Orphans:
        """Delete the event files catchup named that the manifest does not list (left by a
        load or append that died); the listed files and any other file stay. Under the append
        lock, so the file of an append in progress is never taken."""
        self._complete_manifest()
        with self.locked():
            found = orphans(self.folder, self._complete_manifest())
            for path in found.paths:
                try:
                    path.unlink(missing_ok=True)
                except OSError as error:
                    raise StoreError(f"cannot remove {path}: {error.strerror or error}") from None
        return found

    def _complete_manifest(self) -> Manifest:
        manifest = read_manifest(self.folder)
        if not manifest.complete:
            raise incomplete(str(self.folder))
        return manifest

    # -- live mode -----------------------------------------------------------------------

    def begin_live(self) -> None:
        self._complete_manifest()
        (self.folder / LOCK_NAME).touch()

    def live_appender(self) -> ParquetLiveAppender:
        self._complete_manifest()
        return ParquetLiveAppender(self)

    def gap_watch(self) -> GapWatch:
        # Appends commit one at a time under the lock, in position order: holes never wait.
        return NoGaps()

    def visible_head(self) -> int:
        # Read from disk every time, so the appends of other processes show.
        return self._complete_manifest().head

    def end_live(self) -> int:
        return self._complete_manifest().head

    def _prepare_for_load(self, overwrite: bool) -> None:
        try:
            manifest = read_manifest(self.folder)
        except StoreNotFound:
            if self.folder.exists() and any(self.folder.iterdir()):
                hint = parquet_hint(self.folder)
                raise StoreNotEmpty(
                    f"{self.folder} exists and is not a catchup store; "
                    + (
                        f"{hint}, or choose a new or empty folder to generate into"
                        if hint
                        else "choose a new or empty folder"
                    )
                ) from None
            self.folder.mkdir(parents=True, exist_ok=True)
            return
        except (StoreCorrupt, SchemaMismatch):
            if not overwrite:
                raise
            return
        if (manifest.head > 0 or not manifest.complete) and not overwrite:
            state = f"holds {manifest.head:,} events" if manifest.complete else "holds an incomplete load"
            raise StoreNotEmpty(f"store {self.folder} {state}; pass --overwrite to replace them")

    def _write_files(self, batches: Iterable[pa.RecordBatch], manifest: Manifest, check: BatchChecker) -> Manifest:
        """Write checked batches into new files; the returned manifest lists them (uncommitted)."""
        writer = RollingWriter(
            self.folder, len(manifest.files), self.row_group_rows, self.file_rows, self.compression, manifest.dataset_id
        )
        try:
            for batch in batches:
                writer.add(check(batch))
            for event_file in writer.finish():
                manifest = manifest.with_file(event_file)
        finally:
            writer.abandon()
        return manifest

    # -- snapshots -----------------------------------------------------------------------

    def snapshots(self) -> ParquetSnapshotStore:
        return ParquetSnapshotStore(self.folder, self.dataset_id())

    def evict_page_cache(self) -> Eviction:
        return evict_files(files_under(self.folder))

    def run_lock(self, projection: str) -> RunLock:
        self.readable_info()  # no lock file in a folder that holds no readable store
        return file_run_lock(self.folder, projection)

    # -- reading -----------------------------------------------------------------------

    def read(
        self, after: int = 0, upto: int | None = None, batch_size: int = READ_BATCH_SIZE
    ) -> Iterator[pa.RecordBatch]:
        check_read_range(after, upto, batch_size)
        manifest = read_manifest(self.folder)
        if not manifest.complete:
            raise incomplete(str(self.folder))
        problems = manifest.problems()
        if problems:
            raise self._corrupt(problems[0])
        return self._scan(manifest, after, manifest.head if upto is None else upto, batch_size, self.verify_pages)

    def _scan(
        self, manifest: Manifest, after: int, upto: int, batch_size: int, verify_pages: bool
    ) -> Iterator[pa.RecordBatch]:
        dictionary = currency_dictionary(manifest.currencies)
        chosen = [f for f in manifest.files if f.last > after and f.first <= upto]
        for event_file in chosen:
            path = self.folder / event_file.name
            parquet = self._open(event_file, manifest.dataset_id, verify_pages)
            groups = _row_groups_between(parquet.metadata, after, upto)
            try:
                # Whole row groups, a couple at a time: read_row_groups decodes the columns in
                # parallel and cost 0.2 ms less per tail than iter_batches, while memory stays
                # bounded by READ_GROUPS row groups.
                for start in range(0, len(groups), READ_GROUPS):
                    table = parquet.read_row_groups(groups[start : start + READ_GROUPS], use_threads=True)
                    for batch in table.to_batches(max_chunksize=batch_size):
                        batch = _clip(batch, after, upto)
                        if batch.num_rows:
                            yield conform(batch, dictionary)
            except (pa.ArrowInvalid, OSError) as error:
                raise StoreCorrupt(f"cannot read {path}: {_first_line(error)}; regenerate the store") from None

    def _open(self, event_file: EventFile, dataset_id: str, verify_pages: bool) -> pq.ParquetFile:
        """The file, once its size and footer agree with the manifest's entry."""
        path = self.folder / event_file.name
        if not path.exists():
            raise StoreCorrupt(f"{path} is listed in {self.folder / MANIFEST_NAME} but missing; regenerate the store")
        try:
            parquet = pq.ParquetFile(path, page_checksum_verification=verify_pages)
        except (pa.ArrowInvalid, OSError) as error:
            raise StoreCorrupt(
                f"{path} is not a readable Parquet file ({_first_line(error)}); regenerate the store"
            ) from None
        if not parquet.schema_arrow.remove_metadata().equals(EVENT_SCHEMA):
            raise SchemaMismatch(f"{path} does not have the event schema (columns {parquet.schema_arrow.names})")
        problem = size_problem(self.folder, event_file)
        problems = [problem] if problem else footer_problems(event_file, parquet.metadata, dataset_id)
        if problems:
            raise self._corrupt(problems[0])
        return parquet


class ParquetLiveAppender(LiveAppender):
    """Each append: lock, positions after the manifest's head, one new file, manifest, unlock."""

    def __init__(self, store: ParquetStore) -> None:
        self.store: ParquetStore | None = store

    def append(self, count: int, events_at: EventsAt, *, hold_s: float = 0.0) -> AppendReceipt:
        store = self.store
        if store is None:
            raise StoreError("this live writer is closed")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidParameter(f"count={count!r} must be a positive integer")
        with store.locked():
            manifest = store._complete_manifest()
            wanted = np.arange(manifest.head + 1, manifest.head + count + 1, dtype=np.int64)
            batch = events_at(wanted)
            checker = BatchChecker(manifest.currencies, head=manifest.head)
            batch = checker(batch)
            if not np.array_equal(positions(batch), wanted):
                raise SchemaMismatch(
                    f"events_at returned {batch.num_rows} events; expected exactly positions "
                    f"{int(wanted[0])}..{int(wanted[-1])}"
                )
            # One file per append, still under the lock: RollingWriter cuts at most file_rows.
            manifest = store._write_files([batch], manifest, BatchChecker(manifest.currencies, head=manifest.head))
            if hold_s > 0:
                time.sleep(hold_s)
            write_manifest(store.folder, manifest)
            committed_at = time.monotonic()
        return AppendReceipt(int(wanted[0]), int(wanted[-1]), count, committed_at)

    def close(self) -> None:
        self.store = None


def _row_groups_between(metadata: pq.FileMetaData, after: int, upto: int) -> list[int]:
    """Row groups that may hold positions in (after, upto], judged by their statistics.

    pyarrow.dataset does this pruning too, but its scanner read the same rows 1.5x slower
    than ParquetFile.iter_batches here, so the store prunes and reads with the latter.
    """
    groups = []
    for index in range(metadata.num_row_groups):
        stats = metadata.row_group(index).column(0).statistics
        if stats is None or not stats.has_min_max or (stats.max > after and stats.min <= upto):
            groups.append(index)
    return groups


def _clip(batch: pa.RecordBatch, after: int, upto: int) -> pa.RecordBatch:
    """The rows of a position-sorted batch with after < position <= upto."""
    pos = positions(batch)
    if pos.size == 0 or (pos[0] > after and pos[-1] <= upto):
        return batch
    start = int(np.searchsorted(pos, after, side="right"))
    stop = int(np.searchsorted(pos, upto, side="right"))
    return batch.slice(start, max(0, stop - start))
