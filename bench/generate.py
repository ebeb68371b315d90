"""Generate a ledger into a store: generation and writing overlap on two threads."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa

from bench.prefetch import prefetch
from bench.units import format_bytes
from generators import LedgerParams, dataset_meta, generate
from stores.base import EventStore
from stores.errors import StorageFailed, os_failure
from stores.parquet import ParquetStore

# Events per batch the generator produces and the store writes; it does not change the events.
GENERATE_BATCH_SIZE = 262_144


# Bytes an event takes in a Parquet store (zstd), rounded up from what generate wrote here:
# 8.7 for 1M events with the default parameters, 6.5 to 8.5 for 200k events with 10 to 100k
# accounts. An estimate for a guard, not a promise: the guard refuses only a clear shortfall.
PARQUET_BYTES_PER_EVENT = 9

_REMEDY = "generate again, with --overwrite, once the cause is fixed"


@dataclass(frozen=True)
class GenerateResult:
    events: int
    head: int
    seconds: float
    size_bytes: int
    fingerprint_id: str

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


def generate_into(
    store: EventStore,
    params: LedgerParams,
    *,
    overwrite: bool = False,
    batch_size: int = GENERATE_BATCH_SIZE,
    on_progress: Callable[[int], None] | None = None,
) -> GenerateResult:
    """Replace the store's log with the events of ``params``; the store stays incomplete on failure."""
    meta = dataset_meta(params)
    started = time.perf_counter()

    def counted(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield batch
            if on_progress is not None:
                on_progress(batch.num_rows)

    where: str | None = None
    try:
        where = store.info().uri
        check_free_space(store, params, overwrite=overwrite)
        head = store.load(counted(prefetch(generate(params, batch_size=batch_size))), meta, overwrite=overwrite)
    except OSError as error:  # pyarrow's name no file: the store's place stands in for it
        failed = os_failure(error, "writing", where)
        raise StorageFailed(f"{failed}; nothing there reads as a complete store ({_REMEDY})") from None
    seconds = time.perf_counter() - started
    return GenerateResult(params.events, head, seconds, store.info().size_bytes, meta.fingerprint["id"])


def check_free_space(store: EventStore, params: LedgerParams, *, overwrite: bool) -> None:
    """Refuse a Parquet load that clearly cannot fit on its disk, before writing anything.

    Postgres is not checked: its data directory is the server's, often on another machine.
    """
    if not isinstance(store, ParquetStore):
        return
    place = store.folder.absolute()
    while not place.exists() and place != place.parent:
        place = place.parent
    if not place.is_dir():
        return  # a file in the path: the load itself says so, naming it
    free = shutil.disk_usage(place).free
    if overwrite:
        free += store.info().size_bytes  # the old events are removed before the new ones are written
    needed = params.events * PARQUET_BYTES_PER_EVENT
    if needed > free:
        raise StorageFailed(
            f"{params.events:,} events need about {format_bytes(needed)} in {store.folder} "
            f"({PARQUET_BYTES_PER_EVENT} bytes an event), but only {format_bytes(free)} is free there; "
            "make room, choose another place or generate fewer events"
        )
